"""CreditList as a hypothesis state machine on Anvil: random posts, contests (by
third parties and by the subject's own member), votes, revotes, contest expiries, paid views, stake releases,
withdrawals and the passing of days, against a Python model of the rules.

Invariant (issue #12): tokens held by the list == the sum of withdrawable balances + the live stakes + the open
contest deposits, each part equal to the model's, with the view fee split per maintainer. Also: every account's
balance is the model's, and a subject's active entries are the model's (expired and overturned never count).

brownie's own `state_machine` wrapper fails in this compiled brownie build (as in test_ledger_state_machine.py), so
the machine is hypothesis' RuleBasedStateMachine and reverts brownie's chain snapshot itself before each run."""

from __future__ import annotations

import brownie
from brownie import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.conftest import ZERO32, org
from tests.contracts import test_credit_list as base
from tests.contracts.helpers import DAY
from tests.contracts.test_credit_list import (
    DEBTOR,
    DEPOSIT,
    DISCOUNT_BPS,
    MIN_STAKE,
    SUBJECT,
    VIEW_FEE,
    entry_input,
    force_param,
    set_param,
)

# the list, its token and the second maintainer, deployed as in test_credit_list.py
clist, token, m2 = base.clist, base.token, base.m2

ACTIVE, CONTESTED, UPHELD, OVERTURNED = 1, 2, 3, 4
# half-day offsets keep the whole-day sleeps far from every expiry, deadline and window boundary
P_TTL = 10 * DAY + 12 * 3600
P_WINDOW = 5 * DAY + 12 * 3600
P_TIMEOUT = 4 * DAY + 12 * 3600
CAP = 3  # creditList.maxLivePerMaintainer (default)
THRESHOLD = 2
SUBJECTS = [SUBJECT, DEBTOR, org("CARRIER")]  # SUBJECT is people["SHIPPER"]'s org, org("CARRIER") people["CARRIER"]'s


WHO = st.integers(0, 3)
SUBJECT_PICK = st.integers(0, 2)
PICK = st.integers(0, 2**16 - 1)
STAKE = st.integers(0, 5)
VOTER = st.integers(0, 2)
UPHOLD = st.booleans()
DAYS = st.integers(1, 6)


class ListMachine(RuleBasedStateMachine):
    clist = token = committee = None  # set by the test
    maintainers: list = []
    contesters: list = []
    viewers: list = []
    holders: list = []
    subject_member: dict = {}

    def __init__(self):
        super().__init__()
        chain.revert()  # every run starts from the test's snapshot
        self.entries: list[dict] = []
        self.balance = {h.address: 0 for h in self.holders}

    # -- helpers ---------------------------------------------------------------------------------------------

    def now(self) -> int:
        return chain[-1].timestamp

    def counts(self, e: dict, t: int) -> bool:
        return e["status"] != OVERTURNED and t < e["expires"]

    def credit(self, who: str, amount: int) -> None:
        self.balance[who] += amount

    def pick(self, n: int) -> dict | None:
        return self.entries[n % len(self.entries)] if self.entries else None

    # -- rules -----------------------------------------------------------------------------------------------

    @rule(st_who=WHO, st_subject=SUBJECT_PICK, st_stake=STAKE)
    def rule_post(self, st_who, st_subject, st_stake):
        who, subject = self.maintainers[st_who % 2], SUBJECTS[st_subject]
        t = self.now()
        live = sum(
            1 for e in self.entries if e["maint"] == who.address and e["subject"] == subject and self.counts(e, t)
        )
        stake = MIN_STAKE + st_stake * 1_000
        if live >= CAP:
            with brownie.reverts(revert_pattern="CreditListTooManyEntries.*"):
                self.clist.post(entry_input(subject, stake=stake), {"from": who})
            return
        tx = self.clist.post(entry_input(subject, stake=stake), {"from": who})
        self.entries.append(
            {
                "id": tx.return_value,
                "maint": who.address,
                "subject": subject,
                "stake": stake,
                "status": ACTIVE,
                "posted": tx.timestamp,
                "expires": tx.timestamp + P_TTL,
                "by_subject": False,
                "contest": None,
            }
        )

    @rule(st_pick=PICK, st_who=WHO)
    def rule_contest(self, st_pick, st_who):
        e = self.pick(st_pick)
        if e is None:
            return
        who = self.contesters[st_who]
        t = self.now()
        by_subject = self.subject_member.get(e["subject"]) == who.address
        if by_subject:
            allowed = not e["by_subject"] and e["status"] != OVERTURNED
        else:
            allowed = e["status"] == ACTIVE
        ok = who.address != e["maint"] and allowed and t < e["expires"]
        if not ok:
            with brownie.reverts():
                self.clist.contest(e["id"], ZERO32, {"from": who})
            return
        tx = self.clist.contest(e["id"], ZERO32, {"from": who})
        if e["status"] == CONTESTED:  # the subject's contest replaces a third party's: its deposit goes back
            self.credit(e["contest"]["contester"], DEPOSIT)
            assert "ContestSuperseded" in tx.events
        e["by_subject"] = e["by_subject"] or by_subject
        e["status"] = CONTESTED
        e["contest"] = {
            "contester": who.address,
            "deadline": tx.timestamp + P_TIMEOUT,
            "votes": [0, 0],
            "voted": set(),
            "round": 1,
        }

    @rule(st_pick=PICK, st_voter=VOTER, st_uphold=UPHOLD)
    def rule_vote(self, st_pick, st_voter, st_uphold):
        pending = [e for e in self.entries if e["status"] == CONTESTED]
        e = pending[st_pick % len(pending)] if pending and st_pick % 4 else self.pick(st_pick)
        if e is None:
            return
        voter = self.committee[st_voter]
        c = e["contest"]
        ok = e["status"] == CONTESTED and self.now() < c["deadline"] and voter.address not in c["voted"]
        if not ok:
            with brownie.reverts():
                self.clist.resolve(e["id"], st_uphold, {"from": voter})
            return
        self.clist.resolve(e["id"], st_uphold, {"from": voter})
        c["voted"].add(voter.address)
        c["votes"][int(st_uphold)] += 1
        if c["votes"][int(st_uphold)] < THRESHOLD:
            return
        if st_uphold:
            e["status"] = UPHELD
            self.credit(e["maint"], DEPOSIT)
        else:
            e["status"] = OVERTURNED
            self.credit(c["contester"], DEPOSIT + e["stake"])
            e["stake"] = 0

    @rule(st_pick=PICK, st_voter=VOTER)
    def rule_revote(self, st_pick, st_voter):
        e = self.pick(st_pick)
        if e is None:
            return
        c = e["contest"]
        ok = e["status"] == CONTESTED and self.now() < c["deadline"] and all(c["votes"]) and c["round"] < 3
        if not ok:
            with brownie.reverts():
                self.clist.revote(e["id"], {"from": self.committee[st_voter]})
            return
        self.clist.revote(e["id"], {"from": self.committee[st_voter]})
        c["round"] += 1
        c["votes"], c["voted"] = [0, 0], set()

    @rule(st_pick=PICK, st_who=WHO)
    def rule_expire(self, st_pick, st_who):
        e = self.pick(st_pick)
        if e is None:
            return
        who = self.contesters[st_who]
        if e["status"] != CONTESTED or self.now() < e["contest"]["deadline"]:
            with brownie.reverts():
                self.clist.expireContest(e["id"], {"from": who})
            return
        self.clist.expireContest(e["id"], {"from": who})
        self.credit(e["contest"]["contester"], DEPOSIT)
        e["status"], e["contest"] = ACTIVE, None

    @rule(st_who=WHO, st_subject=SUBJECT_PICK)
    def rule_view(self, st_who, st_subject):
        who, subject = self.viewers[st_who], SUBJECTS[st_subject]
        t = self.now()
        live = [e for e in self.entries if e["subject"] == subject and self.counts(e, t)]
        if not live:
            with brownie.reverts(revert_pattern="CreditListNoActiveEntries.*"):
                self.clist.viewSubject(subject, {"from": who})
            return
        recip = any(
            e["maint"] == who.address and e["status"] != OVERTURNED and e["posted"] + P_WINDOW >= t
            for e in self.entries
        )
        fee = VIEW_FEE - (VIEW_FEE * DISCOUNT_BPS // 10_000 if recip else 0)
        tx = self.clist.viewSubject(subject, {"from": who})
        assert tx.return_value == fee
        assert sorted(tx.events["EntryViewed"]["entryIds"]) == sorted(e["id"] for e in live)
        maints = sorted({e["maint"] for e in live})
        oldest = min(live, key=lambda e: e["id"])["maint"]
        for m in maints:  # one share per maintainer, the remainder to the oldest live entry's
            self.credit(m, fee // len(maints) + (fee % len(maints) if m == oldest else 0))

    @rule(st_pick=PICK)
    def rule_release(self, st_pick):
        e = self.pick(st_pick)
        if e is None:
            return
        if e["stake"] == 0 or e["status"] == CONTESTED or self.now() < e["expires"]:
            with brownie.reverts(revert_pattern="CreditListStakeLocked.*"):
                self.clist.releaseStake(e["id"], {"from": e["maint"]})
            return
        self.clist.releaseStake(e["id"], {"from": e["maint"]})
        self.credit(e["maint"], e["stake"])
        e["stake"] = 0

    @rule(st_pick=PICK)
    def rule_withdraw(self, st_pick):
        who = self.holders[st_pick % len(self.holders)]
        owed = self.balance[who.address]
        if owed == 0:
            with brownie.reverts(revert_pattern="CreditListNothingToWithdraw.*"):
                self.clist.withdraw({"from": who})
            return
        before = self.token.balanceOf(who)
        self.clist.withdraw({"from": who})
        assert self.token.balanceOf(who) - before == owed
        self.balance[who.address] = 0

    @rule(st_days=DAYS)
    def rule_sleep(self, st_days):
        chain.sleep(st_days * DAY)
        chain.mine()

    # -- invariants ------------------------------------------------------------------------------------------

    @invariant()
    def invariant_tokens_held_equal_balances_plus_live_stakes_plus_open_deposits(self):
        balances = sum(self.balance.values())
        stakes = sum(e["stake"] for e in self.entries)
        deposits = DEPOSIT * sum(1 for e in self.entries if e["status"] == CONTESTED)
        assert self.token.balanceOf(self.clist) == balances + stakes + deposits
        assert tuple(int(v) for v in self.clist.liabilities()) == (balances, stakes, deposits)
        for h in self.holders:
            assert self.clist.balanceOf(h) == self.balance[h.address]

    @invariant()
    def invariant_only_live_entries_count(self):
        t = self.now()
        for subject in SUBJECTS:
            expected = sorted(e["id"] for e in self.entries if e["subject"] == subject and self.counts(e, t))
            assert sorted(self.clist.activeEntryIdsOf(subject)) == expected


def test_credit_list_conserves_tokens_over_random_operations(clist, token, consortium, committee, people, m2):
    set_param(consortium, committee, "creditList.entryTtl", P_TTL)
    set_param(consortium, committee, "creditList.reciprocityWindow", P_WINDOW)
    force_param(consortium, "creditList.contestTimeout", P_TIMEOUT)
    ListMachine.clist, ListMachine.token, ListMachine.committee = clist, token, committee
    ListMachine.maintainers = [people["MAINTAINER"], m2]
    ListMachine.contesters = [people["LENDER"], people["SHIPPER"], people["CARRIER"], m2]
    ListMachine.viewers = [people["LENDER"], people["MAINTAINER"], m2, people["SHIPPER"]]
    ListMachine.holders = [people["MAINTAINER"], m2, people["LENDER"], people["SHIPPER"], people["CARRIER"]]
    ListMachine.subject_member = {SUBJECT: people["SHIPPER"].address, org("CARRIER"): people["CARRIER"].address}
    chain.snapshot()
    run_state_machine_as_test(
        ListMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
