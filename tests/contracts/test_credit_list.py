"""CreditList and SettlementToken: posting, the access matrix, contests both
ways, expiry, fee and reciprocity arithmetic, pull withdrawals, the caps that
bound a view (issue #12: per-maintainer split, live-entry caps, pruning), contest
timeouts and revotes, the subject's own contest, and the parameter bounds. The
money and counting invariants over random operation sequences are in
test_credit_list_state_machine.py."""

from __future__ import annotations

import brownie
import pytest
from brownie import accounts, chain
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.credit_list import BANDS, STATUSES, Category
from tests.conftest import ZERO32, ZERO_ADDRESS, admit, org
from tests.contracts.helpers import DAY, reverts

ACTIVE, CONTESTED, UPHELD, OVERTURNED = (STATUSES.index(s) for s in ("active", "contested", "upheld", "overturned"))

MIN_STAKE = 50_000  # fen: 500 yuan
TTL = 90 * DAY
DEPOSIT = 20_000
VIEW_FEE = 1_001  # odd on purpose: the split has a remainder
WINDOW = 30 * DAY
DISCOUNT_BPS = 2_500
FUNDS = 100_000_000  # fen minted to every funded account

SUBJECT = org("SHIPPER")  # a subject with a registered member (people["SHIPPER"])
DEBTOR = org("DEBTOR")  # a subject that is no member
CALLERS = ["COMMITTEE", "PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER", "OUTSIDER"]


def set_param(consortium, committee, name: str, value: int) -> None:
    tx = consortium.propose(
        ProposalKind.SET_PARAMETER, ZERO_ADDRESS, ZERO32, [], keccak(text=name), value, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})


def force_param(consortium, name: str, value: int) -> None:
    """Writes a parameter straight into the Consortium's storage (anvil_setStorageAt): a value the Consortium
    itself would refuse, or a key it does not govern yet, so that what is tested is the list's own guard."""
    web3 = brownie.web3
    known = keccak(text="creditList.entryTtl")  # set by the clist fixture

    def slot(key: bytes, base: int) -> str:
        return "0x" + keccak(key + base.to_bytes(32, "big")).hex()

    base = next(
        b
        for b in range(64)
        if int.from_bytes(web3.eth.get_storage_at(consortium.address, slot(known, b)), "big")
        == consortium.parameter(known)
    )
    web3.provider.make_request(
        "anvil_setStorageAt",
        [consortium.address, slot(keccak(text=name), base), "0x" + value.to_bytes(32, "big").hex()],
    )
    assert consortium.parameter(keccak(text=name)) == value


def suspend(consortium, committee, account) -> None:
    tx = consortium.propose(ProposalKind.SUSPEND, account, ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})


def new_account(funder):
    a = accounts.add()
    funder.transfer(a, "1 ether")
    return a


@pytest.fixture(scope="module")
def token(SettlementToken, consortium, committee):
    return SettlementToken.deploy(consortium, {"from": committee[0]})


@pytest.fixture(scope="module")
def m2(consortium, committee):
    """A second maintainer."""
    a = new_account(committee[0])
    admit(consortium, committee, a, "MAINTAINER2", ["MAINTAINER"])
    return a


@pytest.fixture(scope="module")
def clist(CreditList, consortium, committee, people, token, m2):
    c = CreditList.deploy(consortium, token, {"from": committee[0]})
    for name, value in (
        ("minStake", MIN_STAKE),
        ("entryTtl", TTL),
        ("contestDeposit", DEPOSIT),
        ("viewFee", VIEW_FEE),
        ("reciprocityWindow", WINDOW),
        ("reciprocityDiscountBps", DISCOUNT_BPS),
    ):
        set_param(consortium, committee, f"creditList.{name}", value)
    for who in [*committee, *people.values(), m2]:
        token.mint(who, FUNDS, {"from": committee[0]})
        token.approve(c, 2**256 - 1, {"from": who})
    return c


def entry_input(
    subject=SUBJECT,
    *,
    category=Category.PAYMENT_DEFAULT,
    amount=2_500_000,
    period=(1_700_000_000, 1_700_864_000),
    settlements=(b"\x01" * 32, b"\x02" * 32),
    evidence=b"\xee" * 32,
    details=b"\xdd" * 32,
    stake=MIN_STAKE,
) -> tuple:
    return (subject, category, amount, period[0], period[1], list(settlements), evidence, details, stake)


def post(clist, who, subject=SUBJECT, **kw) -> int:
    return clist.post(entry_input(subject, **kw), {"from": who}).return_value


def sender_of(caller, people, committee):
    return committee[2] if caller == "COMMITTEE" else people[caller]


def ints(values) -> tuple:
    """A brownie ReturnValue of integers as a plain tuple (its own == wants Wei)."""
    return tuple(int(v) for v in values)


def sleep(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


# --- SettlementToken ---------------------------------------------------------------------------------------------


def test_token_is_fen_with_two_decimals(token):
    assert (token.decimals(), token.symbol()) == (2, "CSFEN")


@pytest.mark.parametrize("caller", CALLERS)
def test_only_active_committee_mints(token, people, committee, caller):
    sender = sender_of(caller, people, committee)
    if caller == "COMMITTEE":
        tx = token.mint(people["OUTSIDER"], 12_345, {"from": sender})
        assert tx.events["Minted"]["amount"] == 12_345 and token.balanceOf(people["OUTSIDER"]) == 12_345
    else:
        with reverts("SettlementTokenNotMinter"):
            token.mint(sender, 1, {"from": sender})


def test_suspended_committee_member_cannot_mint(token, consortium, committee, people):
    suspend(consortium, committee, committee[2])
    with reverts("SettlementTokenNotMinter"):
        token.mint(people["LENDER"], 1, {"from": committee[2]})


def test_mint_of_zero_reverts(token, committee):
    with reverts("SettlementTokenBadMint"):
        token.mint(committee[0], 0, {"from": committee[0]})


# --- posting -----------------------------------------------------------------------------------------------------


def test_post_stores_entry_pulls_stake_and_emits_record(clist, token, people):
    maint = people["MAINTAINER"]
    before = token.balanceOf(maint)
    ids = [b"\x01" * 32, b"\x02" * 32, b"\x03" * 32]
    tx = clist.post(entry_input(category=Category.FRAUD, settlements=ids, stake=MIN_STAKE + 7), {"from": maint})
    eid = tx.return_value
    assert eid == 1 and clist.entryCount() == 1
    e = clist.entry(eid)
    assert e["subject"] == "0x" + SUBJECT.hex() and e["maintainer"] == maint
    assert (e["category"], BANDS[e["band"]], e["status"], e["amount"], e["stake"]) == (
        Category.FRAUD,
        "under-100k-yuan",
        ACTIVE,
        2_500_000,
        MIN_STAKE + 7,
    )
    assert e["expiresAt"] == tx.timestamp + TTL and e["postedAt"] == tx.timestamp
    assert bytes(e["settlementsHash"]) == keccak(b"".join(ids))
    assert bytes(e["detailsCommitment"]) == b"\xdd" * 32 and bytes(e["evidence"]) == b"\xee" * 32
    ev = tx.events["EntryEvidence"]
    assert [bytes(x) for x in ev["settlementIds"]] == ids and ev["periodTo"] == 1_700_864_000
    assert tx.events["EntryPosted"]["stake"] == MIN_STAKE + 7
    assert before - token.balanceOf(maint) == MIN_STAKE + 7 == token.balanceOf(clist)
    assert ints(clist.liabilities()) == (0, MIN_STAKE + 7, 0)
    assert list(clist.entryIdsOf(SUBJECT, 0, 100)) == [1] and clist.activeEntryCount(SUBJECT) == 1
    assert len(clist.entriesOf(SUBJECT, 0, 100)) == 1 and clist.entryCountOf(SUBJECT) == 1 and clist.isActiveEntry(1)
    assert list(clist.activeEntryIdsOf(SUBJECT)) == [1] and list(clist.maintainersOf(SUBJECT)) == [maint]


@pytest.mark.parametrize(
    "amount,band",
    [
        (1, "under-10k-yuan"),
        (999_999, "under-10k-yuan"),
        (1_000_000, "under-100k-yuan"),
        (9_999_999, "under-100k-yuan"),
        (10_000_000, "under-1m-yuan"),
        (99_999_999, "under-1m-yuan"),
        (100_000_000, "at-least-1m-yuan"),
        (2**128 - 1, "at-least-1m-yuan"),
    ],
)
def test_amount_band_is_derived_from_fen(clist, people, amount, band):
    eid = post(clist, people["MAINTAINER"], amount=amount)
    assert BANDS[clist.entry(eid)["band"]] == band


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("subject", ZERO32, "CreditListZeroSubject"),
        ("amount", 0, "CreditListBadAmount"),
        ("period", (0, 10), "CreditListBadPeriod"),
        ("period", (1_700_000_000, 1_699_999_999), "CreditListBadPeriod"),
        ("period", (1_700_000_000, 2**63), "CreditListBadPeriod"),  # ends in the future
        ("evidence", ZERO32, "CreditListMissingEvidence"),
        ("details", ZERO32, "CreditListMissingDetails"),
        ("stake", MIN_STAKE - 1, "CreditListStakeTooLow"),
    ],
)
def test_post_rejects_bad_input(clist, people, field, value, error):
    kw = {field: value}
    subject = kw.pop("subject", SUBJECT)
    with reverts(error):
        clist.post(entry_input(subject, **kw), {"from": people["MAINTAINER"]})


def test_post_without_entry_ttl_reverts(clist, consortium, committee, people):
    set_param(consortium, committee, "creditList.entryTtl", 0)
    with reverts("CreditListParameterNotSet"):
        post(clist, people["MAINTAINER"])


def test_post_without_approval_reverts_and_moves_nothing(clist, token, people):
    maint = people["MAINTAINER"]
    token.approve(clist, 0, {"from": maint})
    with reverts("ERC20InsufficientAllowance"):
        post(clist, maint)
    assert clist.entryCount() == 0 and token.balanceOf(clist) == 0


def test_post_with_empty_settlement_list(clist, people):
    eid = post(clist, people["MAINTAINER"], settlements=())
    assert bytes(clist.entry(eid)["settlementsHash"]) == keccak(b"")


# --- access matrix -----------------------------------------------------------------------------------------------


def _matrix_call(clist, people, committee, fn, sender):
    maint = people["MAINTAINER"]
    if fn == "post":
        return clist.post(entry_input(), {"from": sender})
    eid = post(clist, maint)
    if fn == "contest":
        return clist.contest(eid, keccak(text="wrong"), {"from": sender})
    if fn == "resolve":
        clist.contest(eid, keccak(text="wrong"), {"from": people["SHIPPER"]})
        return clist.resolve(eid, True, {"from": sender})
    if fn == "viewSubject":
        return clist.viewSubject(SUBJECT, {"from": sender})
    if fn == "releaseStake":
        sleep(TTL + 1)
        return clist.releaseStake(eid, {"from": sender})
    # withdraw: only the maintainer has accrued anything (the lender's view fee)
    clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    return clist.withdraw({"from": sender})


MATRIX = {
    # fn: (allowed callers, error for the rest; per-caller overrides)
    "post": ({"MAINTAINER"}, "CreditListWrongRole", {}),
    "contest": (
        set(CALLERS) - {"MAINTAINER", "OUTSIDER"},
        "CreditListNotActiveMember",
        {"MAINTAINER": "CreditListOwnEntry"},
    ),
    "resolve": ({"COMMITTEE"}, "CreditListWrongRole", {}),
    "viewSubject": (set(CALLERS) - {"OUTSIDER"}, "CreditListNotActiveMember", {}),
    "releaseStake": ({"MAINTAINER"}, "CreditListNotMaintainerOf", {}),
    "withdraw": ({"MAINTAINER"}, "CreditListNothingToWithdraw", {}),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("fn", list(MATRIX))
def test_credit_list_access(clist, people, committee, fn, caller):
    allowed, error, overrides = MATRIX[fn]
    sender = sender_of(caller, people, committee)
    if caller in allowed:
        assert _matrix_call(clist, people, committee, fn, sender).status == 1
    else:
        with reverts(overrides.get(caller, error)):
            _matrix_call(clist, people, committee, fn, sender)


def test_suspended_maintainer_cannot_post(clist, consortium, committee, people):
    suspend(consortium, committee, people["MAINTAINER"])
    with reverts("CreditListWrongRole"):
        post(clist, people["MAINTAINER"])


def test_suspended_subject_member_may_still_contest_but_other_suspended_members_not(
    clist, consortium, committee, people
):
    eid = post(clist, people["MAINTAINER"])
    eid2 = post(clist, people["MAINTAINER"])
    suspend(consortium, committee, people["SHIPPER"])
    suspend(consortium, committee, people["CARRIER"])
    tx = clist.contest(eid, keccak(text="not me"), {"from": people["SHIPPER"]})  # registered for SUBJECT
    assert tx.events["EntryContested"]["contester"] == people["SHIPPER"]
    with reverts("CreditListNotActiveMember"):
        clist.contest(eid2, keccak(text="x"), {"from": people["CARRIER"]})


def test_unknown_entry_reverts(clist, people, committee):
    with reverts("CreditListUnknownEntry"):
        clist.contest(99, ZERO32, {"from": people["LENDER"]})
    with reverts("CreditListUnknownEntry"):
        clist.resolve(99, True, {"from": committee[0]})
    with reverts("CreditListUnknownEntry"):
        clist.releaseStake(99, {"from": people["MAINTAINER"]})
    with reverts("CreditListUnknownEntry"):
        clist.entry(99)


# --- contests ----------------------------------------------------------------------------------------------------


def test_contest_upheld_pays_the_deposit_to_the_maintainer(clist, token, people, committee):
    maint, shipper = people["MAINTAINER"], people["SHIPPER"]
    eid = post(clist, maint)
    before = token.balanceOf(shipper)
    tx = clist.contest(eid, keccak(text="paid in full"), {"from": shipper})
    assert tx.events["EntryContested"]["deposit"] == DEPOSIT and before - token.balanceOf(shipper) == DEPOSIT
    assert clist.entry(eid)["status"] == CONTESTED and clist.isActiveEntry(eid)  # counts until overturned
    assert ints(clist.liabilities()) == (0, MIN_STAKE, DEPOSIT)
    tx = clist.resolve(eid, True, {"from": committee[0]})
    assert tx.events["ContestVoted"]["votes"] == 1 and "ContestResolved" not in tx.events
    assert clist.entry(eid)["status"] == CONTESTED
    tx = clist.resolve(eid, True, {"from": committee[1]})  # threshold 2 reached
    assert tx.events["ContestResolved"]["upheld"] is True
    assert clist.entry(eid)["status"] == UPHELD and clist.isActiveEntry(eid)
    assert clist.balanceOf(maint) == DEPOSIT and clist.balanceOf(shipper) == 0
    assert ints(clist.liabilities()) == (DEPOSIT, MIN_STAKE, 0)
    with reverts("CreditListNotContestable"):  # one contest per entry
        clist.contest(eid, keccak(text="again"), {"from": people["LENDER"]})
    with reverts("CreditListNotContested"):
        clist.resolve(eid, False, {"from": committee[2]})


def test_contest_overturned_slashes_the_stake_to_the_contester(clist, token, people, committee):
    maint, lender = people["MAINTAINER"], people["LENDER"]
    eid = post(clist, maint, stake=MIN_STAKE + 1_000)
    clist.contest(eid, keccak(text="fabricated"), {"from": lender})
    clist.resolve(eid, False, {"from": committee[1]})
    tx = clist.resolve(eid, False, {"from": committee[2]})
    assert tx.events["ContestResolved"]["upheld"] is False
    e = clist.entry(eid)
    assert (e["status"], e["stake"]) == (OVERTURNED, 0)
    assert not clist.isActiveEntry(eid) and clist.activeEntryCount(SUBJECT) == 0
    assert clist.balanceOf(lender) == DEPOSIT + MIN_STAKE + 1_000 and clist.balanceOf(maint) == 0
    assert ints(clist.liabilities()) == (DEPOSIT + MIN_STAKE + 1_000, 0, 0)
    with reverts("CreditListNoActiveEntries"):
        clist.viewSubject(SUBJECT, {"from": lender})
    sleep(TTL + 1)
    with reverts("CreditListStakeLocked"):  # nothing left to release
        clist.releaseStake(eid, {"from": maint})
    before = token.balanceOf(lender)
    clist.withdraw({"from": lender})
    assert token.balanceOf(lender) - before == DEPOSIT + MIN_STAKE + 1_000 and token.balanceOf(clist) == 0


def test_split_vote_goes_to_the_first_outcome_reaching_threshold(clist, people, committee):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": people["CARRIER"]})
    clist.resolve(eid, True, {"from": committee[0]})
    tx = clist.resolve(eid, False, {"from": committee[1]})
    assert "ContestResolved" not in tx.events
    c = clist.contestOf(eid)
    assert (c["upholdVotes"], c["overturnVotes"], c["contester"]) == (1, 1, people["CARRIER"])
    with reverts("CreditListAlreadyVoted"):
        clist.resolve(eid, False, {"from": committee[1]})
    with reverts("CreditListAlreadyVoted"):
        clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, False, {"from": committee[2]})
    assert clist.entry(eid)["status"] == OVERTURNED


def test_committee_member_that_contested_cannot_vote(clist, people, committee):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": committee[0]})
    with reverts("CreditListConflictOfInterest"):
        clist.resolve(eid, False, {"from": committee[0]})


def test_threshold_is_read_at_each_vote(clist, consortium, committee, people):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    tx = consortium.propose(4, ZERO_ADDRESS, ZERO32, [], ZERO32, 1, {"from": committee[0]})  # SetThreshold 1
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert clist.resolve(eid, True, {"from": committee[2]}).events["ContestResolved"]["upheld"] is True


def test_contest_pending_past_expiry_locks_the_stake_until_resolved(clist, consortium, committee, people):
    force_param(consortium, "creditList.contestTimeout", TTL + 30 * DAY)
    maint = people["MAINTAINER"]
    eid = post(clist, maint)
    clist.contest(eid, ZERO32, {"from": people["SHIPPER"]})
    sleep(TTL + 1)
    assert not clist.isActiveEntry(eid)
    with reverts("CreditListStakeLocked"):
        clist.releaseStake(eid, {"from": maint})
    clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, True, {"from": committee[1]})
    assert not clist.isActiveEntry(eid)  # upheld but expired
    clist.releaseStake(eid, {"from": maint})
    assert clist.balanceOf(maint) == DEPOSIT + MIN_STAKE


def test_zero_contest_deposit_is_allowed(clist, consortium, committee, people, token):
    set_param(consortium, committee, "creditList.contestDeposit", 0)
    eid = post(clist, people["MAINTAINER"])
    before = token.balanceOf(people["LENDER"])
    clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    assert token.balanceOf(people["LENDER"]) == before and clist.liabilities()[2] == 0


# --- expiry ------------------------------------------------------------------------------------------------------


def test_entry_expires_after_the_governed_period(clist, people):
    maint = people["MAINTAINER"]
    eid = post(clist, maint)
    expires = clist.entry(eid)["expiresAt"]
    with reverts("CreditListStakeLocked"):
        clist.releaseStake(eid, {"from": maint})
    sleep(TTL - 3600)
    assert clist.isActiveEntry(eid) and clist.activeEntryCount(SUBJECT) == 1
    sleep(3600 + 1)
    assert chain[-1].timestamp >= expires
    assert not clist.isActiveEntry(eid) and clist.activeEntryCount(SUBJECT) == 0
    with reverts("CreditListNoActiveEntries"):
        clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    with reverts("CreditListEntryExpired"):
        clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    tx = clist.releaseStake(eid, {"from": maint})
    assert tx.events["StakeReleased"]["stake"] == MIN_STAKE
    assert clist.balanceOf(maint) == MIN_STAKE and ints(clist.liabilities()) == (MIN_STAKE, 0, 0)
    with reverts("CreditListStakeLocked"):
        clist.releaseStake(eid, {"from": maint})


def test_governed_ttl_change_applies_to_new_entries_only(clist, consortium, committee, people):
    old = post(clist, people["MAINTAINER"])
    set_param(consortium, committee, "creditList.entryTtl", 10 * DAY)
    new = post(clist, people["MAINTAINER"])
    sleep(10 * DAY + 1)
    assert clist.isActiveEntry(old) and not clist.isActiveEntry(new)


# --- fees and reciprocity ----------------------------------------------------------------------------------------


def test_view_fee_is_split_per_maintainer_with_remainder_to_the_oldest_entrys_maintainer(clist, token, people, m2):
    maint, lender = people["MAINTAINER"], people["LENDER"]
    e1 = post(clist, maint)
    e2 = post(clist, m2)
    e3 = post(clist, maint)
    before = token.balanceOf(lender)
    assert ints(clist.viewFeeFor(lender)) == (VIEW_FEE, 0)
    tx = clist.viewSubject(SUBJECT, {"from": lender})
    assert tx.return_value == VIEW_FEE and before - token.balanceOf(lender) == VIEW_FEE
    ev = tx.events["EntryViewed"]
    assert (ev["subject"], ev["viewer"], ev["fee"], ev["discount"], list(ev["entryIds"])) == (
        "0x" + SUBJECT.hex(),
        lender,
        VIEW_FEE,
        0,
        [e1, e3, e2],
    )  # grouped by maintainer
    # one share per maintainer, not per entry: 1001 = 2 * 500 + 1, the remainder to the oldest entry's maintainer
    assert clist.balanceOf(maint) == 501 and clist.balanceOf(m2) == 500
    assert clist.hasPaidView(lender, SUBJECT) and clist.lastViewedAt(lender, SUBJECT) == tx.timestamp
    assert not clist.hasPaidView(lender, DEBTOR) and not clist.hasPaidView(people["CARRIER"], SUBJECT)


def test_view_skips_expired_and_overturned_entries(clist, consortium, committee, people, m2):
    maint, lender = people["MAINTAINER"], people["LENDER"]
    old = post(clist, maint)
    sleep(TTL - 10 * DAY)
    bad = post(clist, maint)
    good = post(clist, m2)
    clist.contest(bad, ZERO32, {"from": people["SHIPPER"]})
    clist.resolve(bad, False, {"from": committee[0]})
    clist.resolve(bad, False, {"from": committee[1]})
    sleep(10 * DAY + 1)  # `old` has expired
    assert not clist.isActiveEntry(old) and clist.activeEntryCount(SUBJECT) == 1
    tx = clist.viewSubject(SUBJECT, {"from": lender})
    assert list(tx.events["EntryViewed"]["entryIds"]) == [good]
    assert clist.balanceOf(m2) == VIEW_FEE and clist.balanceOf(maint) == 0


def test_reciprocal_viewer_pays_the_discounted_fee(clist, token, people, m2):
    post(clist, people["MAINTAINER"], DEBTOR)
    post(clist, m2, SUBJECT)  # m2 contributed recently
    assert clist.isReciprocal(m2) and not clist.isReciprocal(people["LENDER"])
    # discount = floor(1001 * 2500 / 10000) = 250; fee = 751
    assert ints(clist.viewFeeFor(m2)) == (751, 250)
    before = token.balanceOf(m2)
    tx = clist.viewSubject(DEBTOR, {"from": m2})
    assert (tx.events["EntryViewed"]["fee"], tx.events["EntryViewed"]["discount"]) == (751, 250)
    assert before - token.balanceOf(m2) == 751 and clist.balanceOf(people["MAINTAINER"]) == 751


def test_reciprocity_ends_after_the_window(clist, people, m2):
    post(clist, m2, SUBJECT)
    sleep(WINDOW - 3600)
    assert ints(clist.viewFeeFor(m2)) == (751, 250)
    sleep(3600 + 1)
    assert ints(clist.viewFeeFor(m2)) == (VIEW_FEE, 0) and not clist.isReciprocal(m2)


def test_overturned_contribution_earns_no_discount(clist, people, committee, m2):
    mine = post(clist, m2, SUBJECT)
    post(clist, people["MAINTAINER"], DEBTOR)
    clist.contest(mine, ZERO32, {"from": people["SHIPPER"]})
    assert clist.isReciprocal(m2)  # pending contest: still valid
    clist.resolve(mine, False, {"from": committee[0]})
    clist.resolve(mine, False, {"from": committee[1]})
    assert not clist.isReciprocal(m2)
    assert clist.viewSubject(DEBTOR, {"from": m2}).return_value == VIEW_FEE


def test_older_valid_entry_in_window_keeps_the_discount_after_newer_is_overturned(clist, people, committee, m2):
    post(clist, m2, DEBTOR)
    newer = post(clist, m2, SUBJECT)
    clist.contest(newer, ZERO32, {"from": people["SHIPPER"]})
    clist.resolve(newer, False, {"from": committee[0]})
    clist.resolve(newer, False, {"from": committee[1]})
    assert clist.isReciprocal(m2)


@pytest.mark.parametrize(
    "fee,bps,expected",
    [
        (1_000, 0, (1_000, 0)),
        (1_000, 10_000, (0, 1_000)),
        (999, 3_333, (667, 332)),
        (1, 9_999, (1, 0)),
        (0, 5_000, (0, 0)),
    ],
)
def test_discount_arithmetic_is_floor_of_fee_times_bps(clist, consortium, committee, m2, fee, bps, expected):
    set_param(consortium, committee, "creditList.viewFee", fee)
    set_param(consortium, committee, "creditList.reciprocityDiscountBps", bps)
    post(clist, m2, SUBJECT)
    assert ints(clist.viewFeeFor(m2)) == expected


def test_discount_above_100_percent_is_refused(clist, consortium, committee, m2):
    force_param(consortium, "creditList.reciprocityDiscountBps", 10_001)
    post(clist, m2, SUBJECT)
    with reverts("CreditListBadParameter"):
        clist.viewSubject(SUBJECT, {"from": m2})


def test_free_view_still_records_the_payment(clist, consortium, committee, people, token):
    set_param(consortium, committee, "creditList.viewFee", 0)
    post(clist, people["MAINTAINER"])
    before = token.balanceOf(people["LENDER"])
    assert clist.viewSubject(SUBJECT, {"from": people["LENDER"]}).return_value == 0
    assert token.balanceOf(people["LENDER"]) == before and clist.hasPaidView(people["LENDER"], SUBJECT)
    assert clist.liabilities()[0] == 0


def test_viewer_without_allowance_cannot_view(clist, token, people):
    post(clist, people["MAINTAINER"])
    token.approve(clist, 0, {"from": people["LENDER"]})
    with reverts("ERC20InsufficientAllowance"):
        clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    assert not clist.hasPaidView(people["LENDER"], SUBJECT)


# --- withdrawals -------------------------------------------------------------------------------------------------


def test_withdraw_pays_exactly_the_accrued_balance_once(clist, token, people, m2):
    maint = people["MAINTAINER"]
    post(clist, maint)
    post(clist, m2)
    for _ in range(3):
        clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    accrued = 3 * (500 + 1)  # 1001 = 2 * 500 + 1, remainder to the oldest (maint)
    assert clist.balanceOf(maint) == accrued and clist.creditedTotal(maint) == accrued
    before = token.balanceOf(maint)
    tx = clist.withdraw({"from": maint})
    assert tx.return_value == accrued and tx.events["Withdrawn"]["amount"] == accrued
    assert token.balanceOf(maint) - before == accrued
    assert clist.balanceOf(maint) == 0 and clist.creditedTotal(maint) == accrued
    with reverts("CreditListNothingToWithdraw"):
        clist.withdraw({"from": maint})
    assert token.balanceOf(clist) == sum(clist.liabilities()) == 2 * MIN_STAKE + 3 * 500


def test_suspended_member_still_withdraws_what_it_earned(clist, consortium, committee, people, token):
    maint = people["MAINTAINER"]
    post(clist, maint)
    clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    suspend(consortium, committee, maint)
    before = token.balanceOf(maint)
    clist.withdraw({"from": maint})
    assert token.balanceOf(maint) - before == VIEW_FEE


# --- flooding: per-maintainer split, live caps, pruning (issue #12, finding 5) ------------------------------------


def test_flooding_a_subject_earns_no_larger_share_of_the_fee(clist, consortium, committee, people, m2):
    force_param(consortium, "creditList.maxLivePerMaintainer", 8)
    maint = people["MAINTAINER"]
    post(clist, m2)
    flood = [post(clist, maint) for _ in range(8)]
    tx = clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    assert sorted(tx.events["EntryViewed"]["entryIds"]) == sorted([1, *flood])
    # m2's entry is the oldest: it gets the remainder; eight entries earn maint one share
    assert clist.balanceOf(m2) == 501 and clist.balanceOf(maint) == 500


def test_maintainer_holds_at_most_the_capped_live_entries_per_subject(clist, people):
    maint = people["MAINTAINER"]
    assert ints(clist.limits()) == (3, 16, 30 * DAY)  # defaults while unset
    for _ in range(3):
        post(clist, maint)
    with reverts("CreditListTooManyEntries"):
        post(clist, maint)
    post(clist, maint, DEBTOR)  # the cap is per subject
    assert clist.activeEntryCount(SUBJECT) == 3 and clist.entryCountOf(SUBJECT) == 3


def test_expired_and_overturned_entries_free_their_slot(clist, people, committee):
    maint = people["MAINTAINER"]
    ids = [post(clist, maint) for _ in range(3)]
    clist.contest(ids[0], ZERO32, {"from": people["LENDER"]})
    clist.resolve(ids[0], False, {"from": committee[0]})
    clist.resolve(ids[0], False, {"from": committee[1]})
    fourth = post(clist, maint)  # the overturned entry's slot
    with reverts("CreditListTooManyEntries"):
        post(clist, maint)
    sleep(TTL + 1)
    fresh = [post(clist, maint) for _ in range(3)]  # every old slot was pruned
    assert sorted(clist.activeEntryIdsOf(SUBJECT)) == fresh and fourth not in fresh
    assert clist.entryCountOf(SUBJECT) == 7 and list(clist.entryIdsOf(SUBJECT, 5, 100)) == fresh[1:]


def test_governed_live_cap_applies_at_the_next_post(clist, consortium, committee, people):
    force_param(consortium, "creditList.maxLivePerMaintainer", 1)
    post(clist, people["MAINTAINER"])
    with reverts("CreditListTooManyEntries"):
        post(clist, people["MAINTAINER"])


def test_full_subject_refuses_a_new_maintainer_until_a_slot_stops_counting(clist, consortium, committee, people, m2):
    force_param(consortium, "creditList.maxMaintainersPerSubject", 1)
    maint = people["MAINTAINER"]
    eid = post(clist, maint)
    with reverts("CreditListSubjectFull"):
        post(clist, m2)
    post(clist, m2, DEBTOR)  # another subject has room
    clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    clist.resolve(eid, False, {"from": committee[0]})
    clist.resolve(eid, False, {"from": committee[1]})
    mine = post(clist, m2)  # maint's only entry was overturned: its slot is taken over
    assert list(clist.maintainersOf(SUBJECT)) == [m2] and list(clist.activeEntryIdsOf(SUBJECT)) == [mine]


def test_view_gas_does_not_grow_with_the_subjects_history(clist, people, m2):
    maint = people["MAINTAINER"]

    def view_gas():
        clist.viewSubject(SUBJECT, {"from": people["SHIPPER"]})  # warm the balance slots
        return clist.viewSubject(SUBJECT, {"from": people["LENDER"]}).gas_used

    for _ in range(3):
        post(clist, maint)
        post(clist, m2)
    first = view_gas()
    for _ in range(4):  # 24 more entries over time, each generation expiring before the next
        sleep(TTL + 1)
        for _ in range(3):
            post(clist, maint)
            post(clist, m2)
    assert clist.entryCountOf(SUBJECT) == 30 and clist.activeEntryCount(SUBJECT) == 6
    assert view_gas() <= first + 2_000
    with reverts("CreditListBadPage"):
        clist.entryIdsOf(SUBJECT, 0, 101)
    with reverts("CreditListBadPage"):
        clist.entriesOf(SUBJECT, 0, 0)
    assert len(clist.entriesOf(SUBJECT, 0, 100)) == 30 and list(clist.entryIdsOf(SUBJECT, 30, 10)) == []


@pytest.mark.parametrize("start", [1, 2, 3, 2**255, 2**256 - 101, 2**256 - 1])
def test_a_page_starting_at_or_past_the_end_is_empty_not_an_overflow(clist, people, start):
    """entryIdsOf/entriesOf compare before adding: a start near 2^256 gives an empty page (it used to panic)."""
    post(clist, people["MAINTAINER"])
    post(clist, people["MAINTAINER"])
    expected = [2] if start == 1 else []
    assert list(clist.entryIdsOf(SUBJECT, start, 100)) == expected
    assert len(clist.entriesOf(SUBJECT, start, 100)) == len(expected)


def test_worst_case_view_stays_far_below_the_block_gas_limit(clist, token, consortium, committee, people):
    """32 maintainers with 8 live entries each: the most a view can ever read."""
    force_param(consortium, "creditList.maxLivePerMaintainer", 8)
    force_param(consortium, "creditList.maxMaintainersPerSubject", 32)
    for i in range(32):
        m = new_account(committee[0])
        admit(consortium, committee, m, f"FLOOD{i}", ["MAINTAINER"])
        token.mint(m, FUNDS, {"from": committee[0]})
        token.approve(clist, 2**256 - 1, {"from": m})
        for _ in range(8):
            post(clist, m, DEBTOR)
    extra = new_account(committee[0])
    admit(consortium, committee, extra, "FLOOD32", ["MAINTAINER"])
    with reverts("CreditListSubjectFull"):
        post(clist, extra, DEBTOR)
    tx = clist.viewSubject(DEBTOR, {"from": people["LENDER"]})
    assert len(tx.events["EntryViewed"]["entryIds"]) == 256 and clist.balanceOf(clist.maintainersOf(DEBTOR)[5]) > 0
    print(f"list_view_gas worst case (32 maintainers x 8 entries) gas={tx.gas_used}")
    assert tx.gas_used < 5_000_000  # a sixth of the 30M block: 32 first credits and 256 ids in the event


# --- contest timeout and revote (finding 6) ----------------------------------------------------------------------


def test_undecided_contest_times_out_and_refunds_both_sides(clist, token, people, committee):
    maint, carrier = people["MAINTAINER"], people["CARRIER"]
    eid = post(clist, maint)
    tx = clist.contest(eid, ZERO32, {"from": carrier})
    deadline = tx.timestamp + 30 * DAY
    assert clist.contestOf(eid)["deadline"] == deadline and clist.contestOf(eid)["round"] == 1
    clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, False, {"from": committee[1]})
    with reverts("CreditListContestNotTimedOut"):
        clist.expireContest(eid, {"from": carrier})
    sleep(30 * DAY)
    with reverts("CreditListContestTimedOut"):
        clist.resolve(eid, False, {"from": committee[2]})
    tx = clist.expireContest(eid, {"from": people["OUTSIDER"]})  # anyone may settle it
    assert tx.events["ContestExpired"]["contester"] == carrier and tx.events["ContestExpired"]["deposit"] == DEPOSIT
    e = clist.entry(eid)
    assert (e["status"], e["stake"]) == (ACTIVE, MIN_STAKE) and clist.contestOf(eid)["contester"] == ZERO_ADDRESS
    assert clist.balanceOf(carrier) == DEPOSIT and ints(clist.liabilities()) == (DEPOSIT, MIN_STAKE, 0)
    with reverts("CreditListNotContested"):
        clist.expireContest(eid, {"from": carrier})
    sleep(TTL)
    clist.releaseStake(eid, {"from": maint})
    assert clist.balanceOf(maint) == MIN_STAKE and token.balanceOf(clist) == sum(clist.liabilities())


def test_configured_contest_timeout_is_bounded(clist, consortium, committee, people):
    eid = post(clist, people["MAINTAINER"])
    force_param(consortium, "creditList.contestTimeout", 3600)  # below one day
    with reverts("CreditListBadParameter"):
        clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    force_param(consortium, "creditList.contestTimeout", 366 * DAY)
    with reverts("CreditListBadParameter"):
        clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    force_param(consortium, "creditList.contestTimeout", 2 * DAY)
    tx = clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    assert clist.contestOf(eid)["deadline"] == tx.timestamp + 2 * DAY


def test_split_vote_with_two_eligible_voters_is_decided_after_a_revote(clist, people, committee):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": committee[2]})  # only committee[0] and committee[1] may vote
    with reverts("CreditListVoteNotSplit"):
        clist.revote(eid, {"from": committee[0]})
    clist.resolve(eid, True, {"from": committee[0]})
    with reverts("CreditListVoteNotSplit"):
        clist.revote(eid, {"from": committee[0]})
    clist.resolve(eid, False, {"from": committee[1]})
    with reverts("CreditListConflictOfInterest"):
        clist.revote(eid, {"from": committee[2]})
    with reverts("CreditListWrongRole"):
        clist.revote(eid, {"from": people["LENDER"]})
    tx = clist.revote(eid, {"from": committee[1]})
    assert tx.events["ContestRevoted"]["round"] == 2
    c = clist.contestOf(eid)
    assert (c["upholdVotes"], c["overturnVotes"], c["round"]) == (0, 0, 2)
    clist.resolve(eid, False, {"from": committee[0]})  # voters may change their minds
    assert clist.resolve(eid, False, {"from": committee[1]}).events["ContestResolved"]["upheld"] is False
    with reverts("CreditListNotContested"):
        clist.revote(eid, {"from": committee[0]})


def test_revotes_are_limited_to_three_rounds(clist, people, committee):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": committee[2]})
    for _ in range(2):
        clist.resolve(eid, True, {"from": committee[0]})
        clist.resolve(eid, False, {"from": committee[1]})
        clist.revote(eid, {"from": committee[0]})
    clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, False, {"from": committee[1]})
    with reverts("CreditListTooManyRounds"):
        clist.revote(eid, {"from": committee[0]})
    sleep(30 * DAY)
    with reverts("CreditListContestTimedOut"):
        clist.revote(eid, {"from": committee[0]})
    clist.expireContest(eid, {"from": committee[2]})
    assert clist.balanceOf(committee[2]) == DEPOSIT


# --- the subject's own contest (finding 7) -----------------------------------------------------------------------


def test_subject_contest_replaces_a_pending_friendly_contest(clist, people, committee):
    lender, shipper = people["LENDER"], people["SHIPPER"]  # people["SHIPPER"] is SUBJECT's member
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, keccak(text="weak"), {"from": lender})  # the maintainer's ally files first
    clist.resolve(eid, True, {"from": committee[0]})
    with reverts("CreditListNotContestable"):
        clist.contest(eid, ZERO32, {"from": people["CARRIER"]})  # third parties still contest once
    tx = clist.contest(eid, keccak(text="not our debt"), {"from": shipper})
    assert (
        tx.events["ContestSuperseded"]["contester"] == lender and tx.events["ContestSuperseded"]["deposit"] == DEPOSIT
    )
    c = clist.contestOf(eid)
    assert (c["contester"], c["upholdVotes"], c["overturnVotes"]) == (shipper, 0, 0)
    assert clist.balanceOf(lender) == DEPOSIT and ints(clist.liabilities()) == (DEPOSIT, MIN_STAKE, DEPOSIT)
    with reverts("CreditListNotContestable"):
        clist.contest(eid, ZERO32, {"from": shipper})  # the subject contests once
    clist.resolve(eid, False, {"from": committee[0]})  # the earlier vote does not carry over
    clist.resolve(eid, False, {"from": committee[1]})
    assert clist.entry(eid)["status"] == OVERTURNED and clist.balanceOf(shipper) == DEPOSIT + MIN_STAKE


def test_subject_may_contest_an_entry_upheld_against_a_third_party(clist, people, committee):
    maint, shipper = people["MAINTAINER"], people["SHIPPER"]
    eid = post(clist, maint)
    clist.contest(eid, ZERO32, {"from": people["LENDER"]})
    clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, True, {"from": committee[1]})
    assert clist.entry(eid)["status"] == UPHELD and clist.balanceOf(maint) == DEPOSIT
    clist.contest(eid, ZERO32, {"from": shipper})
    assert clist.entry(eid)["status"] == CONTESTED and clist.contestOf(eid)["contester"] == shipper
    clist.resolve(eid, True, {"from": committee[0]})
    clist.resolve(eid, True, {"from": committee[2]})
    assert clist.balanceOf(maint) == 2 * DEPOSIT
    with reverts("CreditListNotContestable"):
        clist.contest(eid, ZERO32, {"from": shipper})


def test_subject_contest_after_its_own_timed_out_contest_is_refused(clist, people):
    eid = post(clist, people["MAINTAINER"])
    clist.contest(eid, ZERO32, {"from": people["SHIPPER"]})
    sleep(30 * DAY)
    clist.expireContest(eid, {"from": people["SHIPPER"]})
    with reverts("CreditListNotContestable"):
        clist.contest(eid, ZERO32, {"from": people["SHIPPER"]})
    clist.contest(eid, ZERO32, {"from": people["LENDER"]})  # the entry is Active again for third parties


# --- parameter bounds (finding 14) -------------------------------------------------------------------------------


def test_entry_ttl_above_ten_years_is_refused_where_it_is_read(clist, consortium, committee, people):
    for ttl in (3650 * DAY + 1, 2**64 + 1, 2**256 - 1):  # 2**64 + 1 would wrap the uint64 expiry to 1
        force_param(consortium, "creditList.entryTtl", ttl)
        with reverts("CreditListBadParameter"):
            post(clist, people["MAINTAINER"])
    set_param(consortium, committee, "creditList.entryTtl", 3650 * DAY)
    tx = clist.post(entry_input(), {"from": people["MAINTAINER"]})
    assert clist.entry(tx.return_value)["expiresAt"] == tx.timestamp + 3650 * DAY


@pytest.mark.parametrize(
    "name,value,call",
    [
        ("creditList.maxLivePerMaintainer", 9, "post"),
        ("creditList.maxMaintainersPerSubject", 33, "post"),
        ("creditList.minStake", 2**128, "post"),
        ("creditList.viewFee", 2**128, "view"),
        ("creditList.reciprocityWindow", 3650 * DAY + 1, "view"),
        ("creditList.reciprocityDiscountBps", 10_001, "view"),
    ],
)
def test_parameters_out_of_bounds_are_refused(clist, consortium, people, m2, name, value, call):
    post(clist, m2)
    force_param(consortium, name, value)
    with reverts("CreditListBadParameter"):
        if call == "post":
            post(clist, people["MAINTAINER"])
        else:
            clist.viewSubject(SUBJECT, {"from": m2})  # reciprocal: every view parameter is read


def test_reciprocity_check_reads_only_the_newest_entries(clist, consortium, committee, people, m2):
    force_param(consortium, "creditList.maxLivePerMaintainer", 8)
    subjects = [org(f"R{i}") for i in range(5)]
    mine = [post(clist, m2, s) for s in subjects for _ in range(8)]  # 40 entries, all in the window
    for eid in mine[-32:]:  # overturn the newest 32
        clist.contest(eid, ZERO32, {"from": people["LENDER"]})
        clist.resolve(eid, False, {"from": committee[0]})
        clist.resolve(eid, False, {"from": committee[1]})
    assert not clist.isReciprocal(m2)  # older valid entries beyond the scan earn no discount


# --- gas ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_entries", [1, 3, 6])
def test_list_view_gas(clist, people, m2, n_entries):
    for i in range(n_entries):
        post(clist, people["MAINTAINER"] if i % 2 == 0 else m2)
    clist.viewSubject(SUBJECT, {"from": people["SHIPPER"]})  # warm the maintainers' balance slots
    tx = clist.viewSubject(SUBJECT, {"from": people["LENDER"]})
    print(f"list_view_gas entries={n_entries} gas={tx.gas_used}")
    assert tx.gas_used < 120_000 + 11_000 * n_entries
