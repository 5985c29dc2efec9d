"""Subject and settlement ids: bytes32 values that carry no raw personal data.

A subject (company, fleet, driver) is keccak256 of ``creditshare:subject:`` +
namespace + ``:`` + registration number, e.g. ``uscc:91310000MA1FL4XX1X`` for a
company's unified social credit code, or ``driver:<salted hash of a licence>``.
A settlement id is keccak256 of the platform's subject id and the platform's own
order reference, so that two platforms can never collide.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NewType

from eth_utils import keccak

from creditshare.errors import InvalidInput

SubjectId = NewType("SubjectId", bytes)
SettlementId = NewType("SettlementId", bytes)

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_REFERENCE = re.compile(r"^(?P<ns>[a-z][a-z0-9_-]{0,15}):(?P<reg>[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127})$")
_ORDER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/:]{0,127}$")


@lru_cache(maxsize=65536)
def subject_id(text: str) -> SubjectId:
    """The subject id for `namespace:registration`, or a 0x-prefixed 32-byte hex id as is."""
    text = text.strip()
    if _HEX32.match(text):
        return SubjectId(bytes.fromhex(text[2:]))
    match = _REFERENCE.match(text)
    if not match:
        raise InvalidInput(
            f"subject must be 'namespace:registration' (e.g. uscc:91310000MA1FL4XX1X) or a 0x-prefixed "
            f"32-byte hex id; got {text!r}."
        )
    canonical = f"creditshare:subject:{match['ns']}:{match['reg'].upper()}"
    return SubjectId(keccak(text=canonical))


def settlement_id(platform: SubjectId, order_ref: str) -> SettlementId:
    """The on-chain id of a platform's order reference."""
    if not _ORDER_REF.match(order_ref):
        raise InvalidInput(
            f"settlement reference must be 1-128 letters, digits or . _ - / : and start with a letter or digit; "
            f"got {order_ref!r}."
        )
    return SettlementId(keccak(b"creditshare:settlement:" + platform + order_ref.encode("ascii")))


def to_hex(value: bytes) -> str:
    return "0x" + value.hex()


def parse_bytes32(text: str, what: str = "id") -> bytes:
    """A 0x-prefixed 32-byte hex value."""
    if not _HEX32.match(text.strip()):
        raise InvalidInput(f"{what} must be a 0x-prefixed 32-byte hex value; got {text!r}.")
    return bytes.fromhex(text.strip()[2:])
