"""Building settlement records for contract tests."""

from __future__ import annotations

import brownie
from eth_utils import keccak

from tests.conftest import org

DAY = 86400
_REFERENCES: dict[bytes, bytes] = {}  # settlement id -> the reference hash it was derived from


def settlement_id(platform: bytes, reference_hash: bytes) -> bytes:
    """keccak256(abi.encode(platform, referenceHash)): the id SettlementLedger.submit derives."""
    sid = keccak(platform + reference_hash)
    _REFERENCES[sid] = reference_hash
    return sid


def refs(records) -> list[bytes]:  # noqa: ANN001 - tuples
    """The reference hashes `submit` takes beside `records` (built by `record` or `settlement_id`)."""
    return [_REFERENCES.get(bytes(r[0]), b"\x00" * 32) for r in records]


def record(
    n: int,
    *,
    shipper: str = "SHIPPER",
    platform: str = "PLATFORM",
    amount: int = 100_000,
    invoice: int = 1_767_225_600,
    due_days: int = 30,
    evidence: bytes | None = None,
) -> tuple:
    """A settlement tuple (id, shipper, platform, carrier, amount, invoiceDate, dueDate, evidence); its id is
    derived from the reference hash n (see `refs`)."""
    sid = settlement_id(org(platform), n.to_bytes(32, "big"))
    return (
        sid,
        org(shipper),
        org(platform),
        org(f"DRIVER{n % 7}"),
        amount,
        invoice,
        invoice + due_days * DAY,
        evidence if evidence is not None else (n + 10**6).to_bytes(32, "big"),
    )


def reverts(error: str):  # noqa: ANN201 - context manager
    """Expects a revert with the custom error `error` (brownie decodes it as `Name: args`)."""
    return brownie.reverts(revert_pattern=rf"{error}(: .*)?")
