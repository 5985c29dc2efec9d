"""Evidence documents (waybills, proofs of delivery, invoices, IoT trip logs).

Files stay off chain; the chain holds the sha2-256 digest inside the file's
CIDv1 (raw codec), so anyone holding the file can prove that it matches.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from multiformats import CID

from creditshare.errors import InvalidInput

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
        raise InvalidInput(f"{cid!r} is not a valid CID.") from err
    if parsed.hashfun.name != "sha2-256":
        raise InvalidInput(f"evidence CIDs must use sha2-256; {cid} uses {parsed.hashfun.name}.")
    return bytes(parsed.raw_digest)


def file_cid(path: Path) -> str:
    return cid_from_digest(file_digest(path))


def store(evidence_dir: Path, data: bytes) -> str:
    """Puts `data` in the evidence store under its CIDv1 and returns the CID (idempotent)."""
    cid = cid_from_digest(hashlib.sha256(data).digest())
    path = evidence_dir / cid
    if not path.exists():
        evidence_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return cid


def load(evidence_dir: Path, cid: str) -> bytes:
    """The bytes stored under `cid`, checked against the CID's digest."""
    digest = digest_from_cid(cid)
    try:
        data = (evidence_dir / cid).read_bytes()
    except FileNotFoundError as err:
        raise InvalidInput(f"{cid} is not in the evidence store {evidence_dir}.") from err
    if hashlib.sha256(data).digest() != digest:
        raise InvalidInput(f"the evidence store's copy of {cid} does not match its CID (corrupted).")
    return data
