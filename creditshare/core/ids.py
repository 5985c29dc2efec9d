"""Subject and settlement ids: bytes32 values that carry no raw personal data.

A subject (company, fleet, driver) is keccak256 of ``creditshare:subject:`` +
namespace + ``:`` + registration number, e.g. ``uscc:91310000MA1FL4XX1X`` for a
company's unified social credit code, or ``driver:<salted hash of a licence>``.
A settlement id is keccak256 of the platform's subject id and the platform's own
order reference, so that two platforms can never collide. A document (waybill,
trip log) is named by its CIDv1 (raw codec, sha2-256), whose digest is what the
chain stores.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import NewType

from eth_utils import keccak
from multiformats import CID

from creditshare.core.errors import InvalidInput, quoted

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
            f"32-byte hex id; got {quoted(text)}."
        )
    canonical = f"creditshare:subject:{match['ns']}:{match['reg'].upper()}"
    return SubjectId(keccak(text=canonical))


def reference_hash(order_ref: str) -> bytes:
    """The hash of a platform's order reference that SettlementLedger.submit takes beside each record."""
    if not _ORDER_REF.match(order_ref):
        raise InvalidInput(
            f"settlement reference must be 1-128 letters, digits or . _ - / : and start with a letter or digit; "
            f"got {quoted(order_ref)}."
        )
    return keccak(b"creditshare:settlement:" + order_ref.encode("ascii"))


def settlement_id(platform: SubjectId, order_ref: str) -> SettlementId:
    """The on-chain id of a platform's order reference: keccak256(abi.encode(platform, reference_hash)), the
    rule SettlementLedger.submit checks (`idOf`)."""
    return SettlementId(keccak(platform + reference_hash(order_ref)))


def to_hex(value: bytes) -> str:
    return "0x" + value.hex()


def parse_bytes32(text: str, what: str = "id") -> bytes:
    """A 0x-prefixed 32-byte hex value."""
    if not _HEX32.match(text.strip()):
        raise InvalidInput(f"{what} must be a 0x-prefixed 32-byte hex value; got {quoted(text)}.")
    return bytes.fromhex(text.strip()[2:])


# -- documents: CIDv1 (raw codec, sha2-256) -------------------------------------------------------------

_CHUNK = 1 << 20
_CID_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])


def file_digest(path: Path) -> bytes:
    """The sha2-256 digest of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.digest()


def cid_from_digest(digest: bytes) -> str:
    """The CIDv1 (raw, sha2-256, base32) for a sha2-256 digest."""
    if len(digest) != 32:
        raise InvalidInput(f"a sha2-256 digest has 32 bytes; got {len(digest)}.")
    # CIDv1 + raw codec + sha2-256 multihash of 32 bytes, multibase "b" (base32 lower, no padding): the
    # same string multiformats' CID gives, written with the stdlib (a thousand times faster, for reports
    # that list tens of thousands of evidence CIDs)
    return "b" + base64.b32encode(_CID_PREFIX + digest).decode("ascii").lower().rstrip("=")


def digest_from_cid(cid: str) -> bytes:
    """The sha2-256 digest inside a CIDv1 string."""
    try:
        parsed = CID.decode(cid)
    except Exception as err:  # multiformats raises several error types
        raise InvalidInput(f"{quoted(cid)} is not a valid CID.") from err
    if parsed.hashfun.name != "sha2-256":
        raise InvalidInput(f"evidence CIDs must use sha2-256; {cid} uses {parsed.hashfun.name}.")
    return bytes(parsed.raw_digest)


def file_cid(path: Path) -> str:
    return cid_from_digest(file_digest(path))
