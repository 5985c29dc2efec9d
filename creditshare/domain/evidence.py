"""The evidence store: documents (waybills, proofs of delivery, invoices, IoT trip logs) kept under their CID.

Files stay off chain; the chain holds the sha2-256 digest inside the file's
CIDv1 (raw codec; see creditshare.core.ids), so anyone holding the file can
prove that it matches.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from creditshare.core.errors import InvalidInput
from creditshare.core.ids import cid_from_digest, digest_from_cid


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
