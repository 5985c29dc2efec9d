"""The lifecycle rules both ledgers' commands share (creditshare.cli.lifecycle): a batched send's refusals and
partial writes told by the input's lines, and each ledger's table of steps covering every step its domain
plans. The commands themselves run against Anvil in test_cli_settlements.py, test_cli_payouts.py and
test_cli_batches.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from creditshare.cli.lifecycle import ToldByLine, lines_text, reason_hash
from creditshare.cli.payouts_cmd import PAYOUTS
from creditshare.cli.settlements_cmd import SETTLEMENTS
from creditshare.core.chain import CallFailure, CallsRefused, PartialWrite
from creditshare.core.errors import InvalidInput
from creditshare.domain import payouts as po
from creditshare.domain import settlements as sm


def test_lines_are_told_as_spans():
    assert lines_text([4]) == "line 4"
    assert lines_text([4, 4]) == "line 4"
    assert lines_text([2, 3, 4, 9]) == "lines 2-4, 9"


def test_a_refusal_is_pinned_on_the_rows_it_names_sorted():
    told = ToldByLine(po.InvalidPayoutFile, Path("p.csv"), [10, 11, 12, 13], "confirmed")
    failures = [CallFailure(1, None, "whole batch refused"), CallFailure(0, 1, "not the carrier")]
    with pytest.raises(po.InvalidPayoutFile) as err, told:
        raise CallsRefused("confirm payouts", failures, 2, items=[[0, 1], [2, 3]])
    assert str(err.value) == "p.csv: 2 bad row(s); nothing was sent"
    assert [str(e) for e in err.value.errors] == [
        "line 11: not the carrier",
        "line 12: the transaction of lines 12-13: whole batch refused",
    ]


@pytest.mark.parametrize(("spec", "note"), [(SETTLEMENTS, " (what landed is skipped)"), (PAYOUTS, "")])
def test_a_partial_write_names_what_landed_and_what_did_not(spec, note):
    told = ToldByLine(spec.invalid, Path("<ids>"), [1, 2, 3], "finalized", spec.rerun_note)
    partial = PartialWrite(
        "raw",
        reason="member suspended",
        landed=[0],
        not_landed=[1],
        landed_items=[0, 1],
        not_landed_items=[2],
        failures=[],
    )
    with pytest.raises(PartialWrite) as err, told:
        raise partial
    assert str(err.value) == (
        "<ids>: the chain changed after the check: 2 row(s) finalized and 1 not (member suspended); "
        f"run the command again to complete the rest{note}"
    )
    assert list(err.value.errors) == ["finalized: lines 1-2", "not finalized: line 3"]


def test_other_errors_pass_through_untold():
    told = ToldByLine(sm.InvalidSettlementFile, Path("s.csv"), [2], "confirmed")
    with pytest.raises(InvalidInput, match="^as it was$"), told:
        raise InvalidInput("as it was")


@pytest.mark.parametrize(("spec", "steps"), [(SETTLEMENTS, sm.STEPS), (PAYOUTS, po.STEPS)])
def test_each_ledger_names_every_step_its_domain_plans(spec, steps):
    assert set(spec.action) == set(spec.verb) == set(spec.done) == set(steps)
    assert all(spec.action[step] == steps[step][0] for step in steps)


def test_an_empty_dispute_reason_is_refused_and_a_reason_is_hashed():
    with pytest.raises(InvalidInput, match="--reason must not be empty"):
        reason_hash("  ")
    assert len(reason_hash("amount contested")) == 32
