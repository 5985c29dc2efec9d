"""CreditShare: the shared Python layer (config, keys, chain client, CLI)."""

__version__ = "0.1.0"
