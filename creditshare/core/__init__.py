"""Ground floor: errors, settings, ids, roles, keys and the one chain client. Imports nothing of ours."""
