"""Payout files and lifecycle plans without a chain (creditshare.domain.payouts): the CSV's columns and
bounds, the optional settlement link, and the lifecycle table each step plans against (all or nothing,
reruns harmless)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditshare.bindings.payout_ledger import PREDECESSORS, PayoutState, Status
from creditshare.core.ids import to_hex
from creditshare.domain.payouts import InvalidPayoutFile, check_paid_dates, parse_csv, plan_lifecycle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "reference,platform,carrier,amount_fen,delivery_date,due_date,evidence"
LINE = "WB-1,uscc:PLAT1,driver:D1,80000,2026-01-05,2026-01-12,evidence/waybill-1.txt"


def write(folder: Path, lines: list[str], header: str = HEADER) -> Path:
    shutil.copytree(EXAMPLES / "evidence", folder / "evidence", dirs_exist_ok=True)
    path = folder / "p.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_a_payout_csv_parses_with_its_optional_settlement(tmp_path):
    linked = "0x" + "ab" * 32
    rows = parse_csv(write(tmp_path, [LINE + ",", LINE.replace("WB-1", "WB-2") + "," + linked], HEADER + ",settlement"))
    assert [r.line for r in rows] == [2, 3]
    assert rows[0].payout.settlement == b"\x00" * 32 and to_hex(rows[1].payout.settlement) == linked
    assert rows[0].payout.amount == 80_000 and rows[0].payout.due_date - rows[0].payout.delivery_date == 7 * 86_400
    assert len(rows[0].payout.reference_hash) == 32 and rows[0].evidence_path is not None


def test_a_delivery_after_today_is_refused_only_when_today_is_given(tmp_path):
    path = write(tmp_path, [LINE])
    assert parse_csv(path, today=None)
    with pytest.raises(InvalidPayoutFile) as err:
        parse_csv(path, today=1_700_000_000)
    assert "delivery_date 2026-01-05 is in the future" in str(err.value.errors[0])


def test_header_only_and_bad_settlement_links_are_refused(tmp_path):
    with pytest.raises(InvalidPayoutFile, match="1 bad row"):
        parse_csv(write(tmp_path, []))
    with pytest.raises(InvalidPayoutFile) as err:
        parse_csv(write(tmp_path, [LINE + ",0x12"], HEADER + ",settlement"))
    assert "settlement id" in str(err.value.errors[0])


@given(amount=st.integers(min_value=-10, max_value=10**12 + 10))
def test_amount_bounds_are_the_ledgers(tmp_path_factory, amount):
    folder = tmp_path_factory.mktemp("amount")
    path = write(folder, [LINE.replace(",80000,", f",{amount},")])
    if 1 <= amount <= 10**12:
        assert parse_csv(path)[0].payout.amount == amount
    else:
        with pytest.raises(InvalidPayoutFile):
            parse_csv(path)


def _state(status: Status, digest: bytes) -> PayoutState:
    return PayoutState(digest, status, 1_000, 0)


@pytest.mark.parametrize("step", ["confirm", "pay", "confirm-receipt", "finalize", "overdue", "dispute"])
@pytest.mark.parametrize("status", [s for s in Status if s != Status.NONE], ids=lambda s: s.label)
def test_each_step_plans_exactly_what_the_contracts_table_allows(tmp_path, step, status):
    payout = parse_csv(write(tmp_path, [LINE]))[0].payout
    plan = plan_lifecycle(step, [payout], [_state(status, payout.digest)])
    target = plan.target
    if status == target:
        assert plan.already == 1 and not plan.todo and not plan.errors
    elif status in PREDECESSORS[target]:
        assert plan.todo == [0] and not plan.errors
    else:
        assert not plan.todo and (plan.past == 1) != bool(plan.errors)


def test_unknown_and_changed_payouts_are_errors(tmp_path):
    payout = parse_csv(write(tmp_path, [LINE]))[0].payout
    plan = plan_lifecycle("pay", [payout, payout], [_state(Status.NONE, b""), _state(Status.RECORDED, b"x" * 20)])
    assert [e.line for e in plan.errors] == [1, 2]
    assert "not on the payout ledger" in plan.errors[0].reason and "different content" in plan.errors[1].reason


def test_paid_dates_before_the_recording_or_after_now_are_refused(tmp_path):
    payout = parse_csv(write(tmp_path, [LINE]))[0].payout
    state = PayoutState(payout.digest, Status.RECORDED, 2_000, 0)
    assert check_paid_dates([payout], [state], [0], 3_000) == []
    assert check_paid_dates([payout], [state], [2_500], 3_000) == []
    assert len(check_paid_dates([payout], [state], [1_999], 3_000)) == 1
    assert len(check_paid_dates([payout], [state], [3_001], 3_000)) == 1
