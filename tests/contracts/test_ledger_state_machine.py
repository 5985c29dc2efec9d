"""SettlementLedger invariants under random sequences of calls (a hypothesis state machine on Anvil; brownie's
own `state_machine` wrapper fails in this compiled brownie build, so the machine reverts brownie's chain snapshot
itself before each run).

Every party acts on random records in random order, clones of a receivable (same shipper, platform,
amount and days, a new reference and document) are submitted and pledged, and time passes. After
every step:

- no two live pledges share a fingerprint (live: pledged and not Paid or Resolved);
- every status reached was reached along the lifecycle table (`PREDECESSORS`, `predecessorsOf`);
- a Paid record has its payee's confirmation, or its dispute window had passed when it was finalised;
- a paid date never precedes the confirmation of the invoice nor its overdue marking (the payer tries the
  second before them each time it declares), and a payment final by the window alone is dated at its
  declaration's block time, not at the date the payer declared.
"""

from __future__ import annotations

import brownie
from brownie import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from creditshare.bindings.settlement_ledger import PREDECESSORS, Status
from tests.contracts.helpers import DAY, record, refs

REASON = b"\x05" * 32
ACTIONS = ("confirm", "pledge", "pay", "confirmPayment", "finalize", "markOverdue", "dispute", "resolve", "default")


PICK = st.integers(min_value=0, max_value=255)
# the call that moves a record to each status (Paid: the payee's confirmation)
STEP = {
    Status.CONFIRMED: "confirm",
    Status.FINANCED: "pledge",
    Status.PAYMENT_DECLARED: "pay",
    Status.PAID: "confirmPayment",
    Status.OVERDUE: "markOverdue",
    Status.DISPUTED: "dispute",
    Status.RESOLVED: "resolve",
    Status.DEFAULTED: "default",
}
REACHED: set[Status] = set()  # the statuses the runs reached (checked: the machine explores the table)


class LedgerMachine(RuleBasedStateMachine):
    ledger = people = committee = None  # set by the test

    def __init__(self):
        super().__init__()
        chain.revert()  # every run starts from the test's snapshot
        self.records: list[tuple] = []
        self.seen: dict[bytes, Status] = {}  # status after the last step
        self.final: dict[bytes, str] = {}  # how each Paid record became final
        self.floor: dict[bytes, int] = {}  # block time of the confirmation, then of the overdue marking
        self.declared: dict[bytes, int] = {}  # block time of the payment's declaration
        self.n = 0

    # -- rules ------------------------------------------------------------------------------------------

    @initialize()
    def two_records(self):
        self.submit(False, 0)
        self.submit(True, 1)  # a clone of the first: same receivable, new reference and document

    @rule(st_clone=st.booleans(), st_pick=PICK)
    def submit(self, st_clone, st_pick):
        self.n += 1
        r = record(7000 + self.n)
        if st_clone and self.records:  # the same receivable under a new reference and document
            base = self.records[st_pick % len(self.records)]
            r = (r[0], *base[1:7], r[7])
        by = self.people["SHIPPER"] if st_pick % 2 else self.people["PLATFORM"]
        self.ledger.submit([r], refs([r]), {"from": by})
        self.records.append(r)
        self.seen[bytes(r[0])] = Status.INVOICED

    @rule(st_days=st.integers(min_value=1, max_value=10))
    def sleep(self, st_days):
        chain.sleep(st_days * DAY)

    @rule(st_pick=PICK, st_action=st.sampled_from(ACTIONS), st_payee=st.booleans())
    def act(self, st_pick, st_action, st_payee):
        if not self.records:
            return
        r = self.records[st_pick % len(self.records)]
        self._do(r, st_action, st_payee)

    @rule(st_pick=PICK, st_choices=st.lists(PICK, min_size=3, max_size=6))
    def advance(self, st_pick, st_choices):
        """Steps the table allows from the record's status (so that runs get deep into the lifecycle)."""
        if not self.records:
            return
        r = self.records[st_pick % len(self.records)]
        for choice in st_choices:
            current = Status(self.ledger.stateOf(r[0])[1])
            options = [to for to, before in PREDECESSORS.items() if current in before]
            if not options:
                return
            self._do(r, STEP[options[choice % len(options)]], True)  # the right party (act tries the wrong ones)

    def _do(self, r, st_action, st_payee):
        """One call on `r`; the status it leaves must be the one before or a successor the table allows."""
        before = Status(self.ledger.stateOf(r[0])[1])
        self._call(r, st_action, st_payee)
        now = Status(self.ledger.stateOf(r[0])[1])
        if now != before:
            assert before in PREDECESSORS.get(now, frozenset()), (st_action, before, now)
        self.seen[bytes(r[0])] = now
        REACHED.add(now)

    def _call(self, r, st_action, st_payee):
        people, ledger = self.people, self.ledger
        submitted_by_shipper = ledger.stateOf(r[0])[2]
        counterparty = people["PLATFORM"] if submitted_by_shipper else people["SHIPPER"]
        lender = ledger.lenderOf(r[0])
        payee = people["LENDER"] if lender == people["LENDER"] else people["PLATFORM"]
        try:
            if st_action == "confirm":
                tx = ledger.confirm([r], {"from": counterparty})
                if "SettlementConfirmed" in tx.events:
                    self.floor[bytes(r[0])] = tx.timestamp
            elif st_action == "pledge":
                ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
            elif st_action == "pay":
                floor = self.floor.get(bytes(r[0]))
                if floor is not None:  # a second before the confirmation or the marking: always refused
                    with brownie.reverts(revert_pattern=r"SettlementLedgerBadPaidDate(: .*)?"):
                        ledger.pay([r], [floor - 1], {"from": people["SHIPPER"]})
                # the earliest date allowed (backdated as far as it goes), or the block time
                date = floor if floor is not None and not st_payee else 0
                tx = ledger.pay([r], [date], {"from": people["SHIPPER"]})
                if "SettlementPaymentDeclared" in tx.events:
                    self.declared[bytes(r[0])] = tx.timestamp
            elif st_action == "confirmPayment":
                # the payee, or (half of the time) the payer trying to close its own debt
                sender = payee if st_payee else people["SHIPPER"]
                tx = ledger.confirmPayment([r], {"from": sender})
                if "SettlementPaid" in tx.events:
                    self.final[bytes(r[0])] = f"confirmed by {sender}, payee {payee}"
            elif st_action == "finalize":
                tx = ledger.finalizePayment([r], {"from": people["OUTSIDER"]})
                if "SettlementPaid" in tx.events:
                    _, _, _, since, _ = ledger.stateOf(r[0])
                    assert tx.timestamp > since + ledger.disputeWindow()
                    self.final[bytes(r[0])] = "finalized after the window"
            elif st_action == "markOverdue":
                tx = ledger.markOverdue([r], {"from": people["PLATFORM"]})
                if "SettlementOverdue" in tx.events:
                    self.floor[bytes(r[0])] = tx.timestamp
            elif st_action == "dispute":
                ledger.dispute([r], REASON, {"from": people["SHIPPER"] if st_payee else people["PLATFORM"]})
            else:
                ledger.resolve([r], st_action == "default", {"from": self.committee[0]})
        except brownie.exceptions.VirtualMachineError as err:
            # refused: a guard answered with its own error (never a bare revert)
            assert str(err.revert_msg).startswith("SettlementLedger"), err.revert_msg

    # -- invariants -------------------------------------------------------------------------------------

    @invariant()
    def statuses_move_only_along_the_table(self):
        """Nothing moved but by the calls `_do` checked step by step (each against the table)."""
        ids = [r[0] for r in self.records]
        for sid, state in zip(ids, self.ledger.statesOf(ids) if ids else []):
            assert Status(state[1]) == self.seen[bytes(sid)], (state[1], self.seen[bytes(sid)])

    @invariant()
    def no_two_live_pledges_share_a_fingerprint(self):
        live: dict[bytes, bytes] = {}
        for r in self.records:
            if not int(self.ledger.lenderOf(r[0]), 16):
                continue
            if Status(self.ledger.stateOf(r[0])[1]) in (Status.PAID, Status.RESOLVED):
                continue
            fingerprint = bytes(self.ledger.fingerprintOf(r))
            assert fingerprint not in live, "two live pledges of one receivable"
            live[fingerprint] = bytes(r[0])
            assert bytes(self.ledger.financedByFingerprint(fingerprint)) == bytes(r[0])

    @invariant()
    def paid_has_payee_confirmation_or_expired_window(self):
        for r in self.records:
            if Status(self.ledger.stateOf(r[0])[1]) == Status.PAID:
                how = self.final.get(bytes(r[0]))
                assert how is not None, "Paid without confirmation or finalisation"
                if how.startswith("confirmed by"):
                    sender, payee = how.removeprefix("confirmed by ").split(", payee ")
                    assert sender == payee, how

    @invariant()
    def paid_dates_are_never_before_the_floor_and_unconfirmed_ones_are_the_declaration(self):
        for r in self.records:
            _, st_, _, _, paid = self.ledger.stateOf(r[0])
            if Status(st_) != Status.PAID:
                continue
            sid = bytes(r[0])
            assert paid >= self.floor[sid], (paid, self.floor[sid])
            if self.final[sid] == "finalized after the window":
                assert paid == self.declared[sid], (paid, self.declared[sid])


def test_ledger_invariants_hold_under_random_calls(ledger, people, committee):
    LedgerMachine.ledger, LedgerMachine.people, LedgerMachine.committee = ledger, people, committee
    chain.snapshot()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    # the runs must have explored the lifecycle, not stopped at submit
    assert {Status.CONFIRMED, Status.PAYMENT_DECLARED, Status.PAID, Status.DISPUTED} <= REACHED, REACHED
