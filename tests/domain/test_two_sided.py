"""The rules both ledgers' files and plans share (creditshare.domain.two_sided), without a chain: rows told by
line and sorted, a reference twice, an empty file, the split of a file against what is on chain, and the
lifecycle plan of either ledger (done, skipped as further along, refused, to send)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditshare.bindings import payout_ledger as pl
from creditshare.bindings import settlement_ledger as sl
from creditshare.bindings.consortium import Member
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import to_hex
from creditshare.domain import payouts as po
from creditshare.domain import settlements as sm
from creditshare.domain import two_sided
from creditshare.domain.two_sided import InvalidRowsFile, RowError, parse_rows, split_on_chain

SETTLEMENT = sl.Settlement(
    id=b"\x01" * 32,
    shipper=b"\x02" * 32,
    platform=b"\x03" * 32,
    carrier=b"\x04" * 32,
    amount=100,
    invoice_date=sl.EARLIEST_DATE,
    due_date=sl.EARLIEST_DATE + 86_400,
    evidence=b"\x05" * 32,
)
PAYOUT = pl.Payout(
    id=b"\x11" * 32,
    platform=b"\x03" * 32,
    carrier=b"\x04" * 32,
    settlement=b"\x00" * 32,
    amount=100,
    delivery_date=sl.EARLIEST_DATE,
    due_date=sl.EARLIEST_DATE + 86_400,
    evidence=b"\x05" * 32,
)


def settlement_state(status: sl.Status, digest: bytes = SETTLEMENT.digest, since: int = 0) -> sl.StoredState:
    return sl.StoredState(digest, status, False, since, 0)


def payout_state(status: pl.Status, digest: bytes = PAYOUT.digest, since: int = 0) -> pl.PayoutState:
    return pl.PayoutState(digest, status, since, 0)


def test_a_refused_file_lists_its_rows_sorted_by_line():
    err = InvalidRowsFile(Path("f.csv"), [RowError(7, "b"), RowError(2, "a"), RowError(7, "c")])
    assert str(err) == "f.csv: 3 bad row(s); nothing was sent"
    assert [str(e) for e in err.errors] == ["line 2: a", "line 7: b", "line 7: c"]
    assert isinstance(err, InvalidInput)


def test_both_ledgers_refuse_files_alike_and_share_the_row_error():
    assert sm.RowError is po.RowError is RowError
    assert issubclass(sm.InvalidSettlementFile, InvalidRowsFile) and issubclass(po.InvalidPayoutFile, InvalidRowsFile)


def _build(line: int, raw: dict[str, str]) -> tuple[bytes, tuple[int, str]]:
    if raw["value"] == "bad":
        raise InvalidInput("value must not be bad")
    return raw["reference"].encode(), (line, raw["value"])


def test_parse_rows_lists_every_bad_row_and_a_reference_twice(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("reference,value\nA,1\nB,bad\nA,2\nC,3,extra\n")
    with pytest.raises(InvalidRowsFile) as err:
        parse_rows(path, required=("reference", "value"), optional=(), build=_build, invalid=InvalidRowsFile, noun="x")
    lines = [(e.line, e.reason) for e in err.value.errors]
    assert lines[0] == (3, "value must not be bad")
    assert lines[1] == (4, "duplicate reference 'A' (first on line 2)")
    assert lines[2][0] == 5  # the field count differs from the header's
    assert len(lines) == 3


def test_parse_rows_refuses_a_header_without_rows_and_keeps_the_good_ones(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("reference,value\n")
    with pytest.raises(InvalidRowsFile) as err:
        parse_rows(path, required=("reference", "value"), optional=(), build=_build, invalid=InvalidRowsFile, noun="x")
    assert [str(e) for e in err.value.errors] == ["line 1: the file has a header but no xs"]
    path.write_text("reference,value\nA,1\nB,2\n")
    rows = parse_rows(
        path, required=("reference", "value"), optional=(), build=_build, invalid=InvalidRowsFile, noun="x"
    )
    assert rows == [(2, "1"), (3, "2")]


def test_split_on_chain_skips_the_same_content_and_refuses_other_content():
    rows = [(2, SETTLEMENT), (3, SETTLEMENT), (4, SETTLEMENT)]
    states = [
        settlement_state(sl.Status.NONE),
        settlement_state(sl.Status.CONFIRMED),
        settlement_state(sl.Status.CONFIRMED, digest=b"\x00" * 20),
    ]
    kw = dict(record_of=lambda r: r[1], line_of=lambda r: r[0], name_of=lambda r: f"row {r[0]}")
    with pytest.raises(sm.InvalidSettlementFile) as err:
        split_on_chain(Path("f"), rows, states, [RowError(9, "member")], invalid=sm.InvalidSettlementFile, **kw)
    assert [str(e) for e in err.value.errors] == ["line 4: row 4 is on chain with different content", "line 9: member"]
    plan = split_on_chain(Path("f"), rows[:2], states[:2], [], invalid=sm.InvalidSettlementFile, **kw)
    assert plan.to_send == [rows[0]] and plan.already_on_chain == [rows[1]]


def test_member_problem_names_the_side_and_what_is_missing():
    org = b"\x07" * 32
    assert (
        two_sided.member_problem("platform", org, None, "PLATFORM")
        == f"platform {to_hex(org)} is not a consortium member"
    )
    suspended = Member("0x" + "11" * 20, org, False, 0, ("PLATFORM",))
    assert two_sided.member_problem("platform", org, suspended, "PLATFORM") == f"platform {to_hex(org)} is suspended"
    shipper = Member("0x" + "11" * 20, org, True, 0, ("SHIPPER",))
    assert (
        two_sided.member_problem("platform", org, shipper, "PLATFORM")
        == f"platform {to_hex(org)} does not hold the PLATFORM role"
    )
    assert two_sided.member_problem("shipper", org, shipper, "SHIPPER") is None


def test_a_settlement_plan_tells_done_skipped_refused_and_to_send():
    states = [
        settlement_state(sl.Status.INVOICED),  # to send
        settlement_state(sl.Status.CONFIRMED),  # done already
        settlement_state(sl.Status.PAID),  # further along: skipped
        settlement_state(sl.Status.NONE),  # not on the ledger
        settlement_state(sl.Status.INVOICED, digest=b"\x00" * 20),  # other content
    ]
    plan = sm.plan_lifecycle("confirm", [SETTLEMENT] * 5, states)
    assert (plan.todo, plan.already, plan.past, plan.target) == ([0], 1, 1, sl.Status.CONFIRMED)
    name = f"settlement {to_hex(SETTLEMENT.id)}"
    assert [str(e) for e in plan.errors] == [
        f"line 4: {name} is not on the ledger",
        f"line 5: {name} is on chain with different content",
    ]
    refused = sm.plan_lifecycle("resolve-default", [SETTLEMENT], [settlement_state(sl.Status.INVOICED)])
    assert [e.reason for e in refused.errors] == [f"{name} is Invoiced; cannot resolve it"]


def test_a_payout_plan_speaks_of_payouts_and_the_payout_ledger():
    name = f"payout {to_hex(PAYOUT.id)}"
    plan = po.plan_lifecycle(
        "confirm-receipt", [PAYOUT] * 2, [payout_state(pl.Status.NONE), payout_state(pl.Status.RECORDED)]
    )
    assert [e.reason for e in plan.errors] == [
        f"{name} is not on the payout ledger",
        f"{name} is Recorded; cannot confirm-receipt it",
    ]


@given(st.sampled_from(sorted(sm.STEPS)), st.lists(st.sampled_from(list(sl.Status)), max_size=12))
def test_every_settlement_record_lands_in_exactly_one_part_of_a_plan(step, statuses):
    plan = sm.plan_lifecycle(step, [SETTLEMENT] * len(statuses), [settlement_state(s) for s in statuses])
    assert len(plan.todo) + plan.already + plan.past + len(plan.errors) == len(statuses)
    assert all(statuses[i] in sl.PREDECESSORS[plan.target] for i in plan.todo)


@given(st.sampled_from(sorted(po.STEPS)), st.lists(st.sampled_from(list(pl.Status)), max_size=12))
def test_every_payout_record_lands_in_exactly_one_part_of_a_plan(step, statuses):
    plan = po.plan_lifecycle(step, [PAYOUT] * len(statuses), [payout_state(s) for s in statuses])
    assert len(plan.todo) + plan.already + plan.past + len(plan.errors) == len(statuses)
    assert all(statuses[i] in pl.PREDECESSORS[plan.target] for i in plan.todo)


def test_the_dispute_window_check_names_each_ledgers_record():
    window, since = 86_400, sl.EARLIEST_DATE
    open_ = sm.check_dispute_window(
        [SETTLEMENT], [settlement_state(sl.Status.PAYMENT_DECLARED, since=since)], window, since
    )
    assert [str(e) for e in open_] == [
        f"line 1: settlement {to_hex(SETTLEMENT.id)}: its dispute window is open until {sl.iso_date(since + window)}"
    ]
    closed = po.check_dispute_window(
        [PAYOUT], [payout_state(pl.Status.PAYMENT_DECLARED, since=since)], window, since + window + 1
    )
    assert closed == []
    still = po.check_dispute_window(
        [PAYOUT], [payout_state(pl.Status.PAYMENT_DECLARED, since=since)], window, since + window
    )
    assert [e.reason.split(":")[0] for e in still] == [f"payout {to_hex(PAYOUT.id)}"]
