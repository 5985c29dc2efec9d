"""Building settlement records for contract tests."""

from __future__ import annotations

import brownie

from tests.conftest import org

DAY = 86400


def record(n: int, *, shipper: str = "SHIPPER", platform: str = "PLATFORM", amount: int = 100_000,
           invoice: int = 1_767_225_600, due_days: int = 30, evidence: bytes | None = None) -> tuple:
    """A settlement tuple (id, shipper, platform, carrier, amount, invoiceDate, dueDate, evidence)."""
    sid = n.to_bytes(32, "big")
    return (sid, org(shipper), org(platform), org(f"DRIVER{n % 7}"), amount, invoice, invoice + due_days * DAY,
            evidence if evidence is not None else (n + 10**6).to_bytes(32, "big"))


def reverts(error: str):  # noqa: ANN201 - context manager
    """Expects a revert with the custom error `error` (brownie decodes it as `Name: args`)."""
    return brownie.reverts(revert_pattern=rf"{error}(: .*)?")
