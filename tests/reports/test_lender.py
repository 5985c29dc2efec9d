"""The lender report's pure part (creditshare.reports.lender): the settlement summary."""

from __future__ import annotations

from creditshare.reports.lender import summarize_settlements


def test_settlement_summary_counts_late_payments_and_bad_amounts():
    d = bytes(32)
    rows = [
        ("Paid", 100, 10, 12, d),
        ("Paid", 50, 10, 9, d),
        ("Overdue", 70, 10, 0, d),
        ("Defaulted", 30, 10, 0, bytes([1]) * 32),
        ("Invoiced", 5, 10, 0, d),
    ]
    s = summarize_settlements(rows)
    assert s["count"] == 5 and s["late_payments"] == 1 and s["paid_fen"] == 150
    assert s["outstanding_fen"] == 105 and s["overdue_or_defaulted_fen"] == 100
    assert s["by_status"] == {"Defaulted": 1, "Invoiced": 1, "Overdue": 1, "Paid": 2}
    assert len(s["evidence_cids"]) == 2
