"""One binding per contract, named after it, whose methods mirror the Solidity interface."""
