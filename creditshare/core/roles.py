"""The consortium's member roles, as AccessControl role ids (see contracts/libraries/Roles.sol)."""

from __future__ import annotations

from eth_utils import keccak

from creditshare.core.errors import InvalidInput

NAMES = ("SHIPPER", "PLATFORM", "CARRIER", "LENDER", "ORACLE", "MAINTAINER", "COMMITTEE")
ROLE_IDS: dict[str, bytes] = {name: keccak(text=name) for name in NAMES}
_BY_ID = {v: k for k, v in ROLE_IDS.items()}


def role_id(name: str) -> bytes:
    key = name.strip().upper()
    if key not in ROLE_IDS:
        raise InvalidInput(f"unknown role {name!r}; roles are {', '.join(NAMES)}.")
    return ROLE_IDS[key]


def name_of(role: bytes) -> str:
    return _BY_ID.get(bytes(role), "0x" + bytes(role).hex())
