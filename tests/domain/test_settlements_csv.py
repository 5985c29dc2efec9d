"""Settlement CSV parsing (creditshare.domain.settlements)."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditshare.domain.settlements import InvalidSettlementFile, parse_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_csv_parses():
    rows = parse_csv(EXAMPLES / "settlements.csv")
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].settlement.amount == 845050
    assert rows[0].settlement.due_date - rows[0].settlement.invoice_date == 30 * 86400


def test_parse_csv_collects_every_error(tmp_path):
    (tmp_path / "s.csv").write_text(
        "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence\n"
        "A,uscc:S,uscc:P,driver:D,0,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
        "B,uscc:S,uscc:S,driver:D,5,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
    )
    with pytest.raises(InvalidSettlementFile) as info:
        parse_csv(tmp_path / "s.csv")
    assert [e.line for e in info.value.errors] == [2, 3]
    assert "shipper and platform are the same subject" in str(info.value.errors[1])
