"""`make demo`: a year of a synthetic freight market played end to end on the local chain."""
