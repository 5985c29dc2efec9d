"""DataBus: consent grants and revocation, the consent-checked access log, who
may read the log, the access matrix, batched access, a property test that no
access is recorded without a valid consent, and gas per consented read."""

from __future__ import annotations

import brownie
import pytest
from brownie import accounts, chain
from brownie.test import given
from eth_utils import keccak
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.data_bus import SCOPES
from tests.conftest import ZERO32, admit, org
from tests.contracts.helpers import DAY, reverts

SCORE, SETTLEMENTS, LIST = SCOPES["score"], SCOPES["settlements"], SCOPES["list"]
PAGE = 500  # DataBus.MAX_PAGE
BATCH = 200  # DataBus.MAX_BATCH
ALL = SCORE | SETTLEMENTS | LIST
PURPOSE = keccak(text="receivable-financing")
OTHER_PURPOSE = keccak(text="marketing")
SUBJECT = org("SHIPPER")  # people["SHIPPER"] is registered for it
CALLERS = ["COMMITTEE", "PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER", "OUTSIDER"]


def suspend(consortium, committee, account) -> None:
    tx = consortium.propose(ProposalKind.SUSPEND, account, ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})


def new_member(consortium, committee, name: str, roles: list[str]):
    a = accounts.add()
    committee[0].transfer(a, "1 ether")
    admit(consortium, committee, a, name, roles)
    return a


@pytest.fixture(scope="module")
def bus(DataBus, consortium, committee):
    return DataBus.deploy(consortium, {"from": committee[0]})


@pytest.fixture(scope="module")
def lender2(consortium, committee):
    return new_member(consortium, committee, "LENDER2", ["LENDER"])


def later(days: float = 30) -> int:
    return chain[-1].timestamp + int(days * DAY)


def grant(bus, subject_member, lender, *, purpose=PURPOSE, scope=ALL, days: float = 30) -> int:
    return bus.grant(lender, purpose, scope, later(days), {"from": subject_member}).return_value


def sender_of(caller, people, committee):
    return committee[2] if caller == "COMMITTEE" else people[caller]


def sleep(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


# --- consent -----------------------------------------------------------------------------------------------------


def test_grant_stores_consent_and_emits(bus, people):
    shipper, lender = people["SHIPPER"], people["LENDER"]
    expiry = later(30)
    tx = bus.grant(lender, PURPOSE, SCORE | LIST, expiry, {"from": shipper})
    cid = tx.return_value
    assert cid == 1 and bus.consentCount() == 1 and list(bus.consentsOf(SUBJECT)) == [1]
    c = bus.consent(cid)
    assert c["subject"] == "0x" + SUBJECT.hex() and c["lender"] == lender and bytes(c["purpose"]) == PURPOSE
    assert (c["scope"], c["grantedAt"], c["expiresAt"], c["revoked"], c["grantor"]) == (
        SCORE | LIST,
        tx.timestamp,
        expiry,
        False,
        shipper,
    )
    ev = tx.events["ConsentGranted"]
    assert (ev["consentId"], ev["lender"], ev["scope"], ev["expiresAt"]) == (cid, lender, SCORE | LIST, expiry)
    assert bus.validConsent(SUBJECT, lender, PURPOSE, SCORE) == cid
    assert bus.validConsent(SUBJECT, lender, PURPOSE, SCORE | LIST) == cid
    assert bus.validConsent(SUBJECT, lender, PURPOSE, SETTLEMENTS) == 0
    assert bus.validConsent(SUBJECT, lender, OTHER_PURPOSE, SCORE) == 0


@pytest.mark.parametrize(
    "lender,scope,purpose,days,error",
    [
        ("CARRIER", ALL, PURPOSE, 30, "DataBusNotLender"),
        ("OUTSIDER", ALL, PURPOSE, 30, "DataBusNotLender"),
        ("LENDER", 0, PURPOSE, 30, "DataBusBadScope"),
        ("LENDER", 8, PURPOSE, 30, "DataBusBadScope"),
        ("LENDER", 255, PURPOSE, 30, "DataBusBadScope"),
        ("LENDER", ALL, ZERO32, 30, "DataBusZeroPurpose"),
        ("LENDER", ALL, PURPOSE, 0, "DataBusBadExpiry"),
        ("LENDER", ALL, PURPOSE, -1, "DataBusBadExpiry"),
    ],
)
def test_grant_rejects_bad_input(bus, people, lender, scope, purpose, days, error):
    expiry = max(later(days), 0)
    with reverts(error):
        bus.grant(people[lender], purpose, scope, expiry, {"from": people["SHIPPER"]})


MAX_CONSENT_SECONDS = 36_501 * DAY  # DataBus.MAX_CONSENT_SECONDS: the CLI's 100 years to the midnight after


def next_block_at(timestamp: int) -> None:
    """Pins the next block's timestamp (Anvil test RPC), to test the expiry bound exactly."""
    brownie.web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])


def test_max_consent_seconds_is_a_hundred_years_and_a_day(bus):
    assert bus.MAX_CONSENT_SECONDS() == MAX_CONSENT_SECONDS


def test_grant_expiring_just_beyond_a_hundred_years_reverts_and_at_the_bound_is_accepted(bus, people):
    shipper, lender = people["SHIPPER"], people["LENDER"]
    at = chain[-1].timestamp + 10
    next_block_at(at)
    with reverts(f"DataBusBadExpiry: {at + MAX_CONSENT_SECONDS + 1}"):
        bus.grant(lender, PURPOSE, ALL, at + MAX_CONSENT_SECONDS + 1, {"from": shipper})
    at = chain[-1].timestamp + 10
    next_block_at(at)
    tx = bus.grant(lender, PURPOSE, ALL, at + MAX_CONSENT_SECONDS, {"from": shipper})
    assert tx.timestamp == at and bus.consent(tx.return_value)["expiresAt"] == at + MAX_CONSENT_SECONDS


@pytest.mark.parametrize("expiry", [2**63, 2**64 - 1])
def test_grant_at_the_top_of_uint64_reverts(bus, people, expiry):
    with reverts(f"DataBusBadExpiry: {expiry}"):
        bus.grant(people["LENDER"], PURPOSE, ALL, expiry, {"from": people["SHIPPER"]})


def test_grant_to_suspended_lender_reverts(bus, consortium, committee, people):
    suspend(consortium, committee, people["LENDER"])
    with reverts("DataBusNotLender"):
        grant(bus, people["SHIPPER"], people["LENDER"])


def test_suspended_member_cannot_grant_but_can_revoke(bus, consortium, committee, people):
    cid = grant(bus, people["SHIPPER"], people["LENDER"])
    suspend(consortium, committee, people["SHIPPER"])
    with reverts("DataBusNotActiveMember"):
        grant(bus, people["SHIPPER"], people["LENDER"])
    tx = bus.revoke(cid, {"from": people["SHIPPER"]})
    assert tx.events["ConsentRevoked"]["by"] == people["SHIPPER"] and bus.consent(cid)["revoked"] is True


def test_revoke_errors(bus, people):
    cid = grant(bus, people["SHIPPER"], people["LENDER"])
    with reverts("DataBusUnknownConsent"):
        bus.revoke(cid + 1, {"from": people["SHIPPER"]})
    with reverts("DataBusUnknownConsent"):
        bus.consent(cid + 1)
    bus.revoke(cid, {"from": people["SHIPPER"]})
    with reverts("DataBusAlreadyRevoked"):
        bus.revoke(cid, {"from": people["SHIPPER"]})


def test_new_grant_replaces_the_earlier_one(bus, people):
    lender = people["LENDER"]
    first = grant(bus, people["SHIPPER"], lender, scope=SCORE)
    second = grant(bus, people["SHIPPER"], lender, scope=LIST)
    assert list(bus.consentsOf(SUBJECT)) == [first, second]
    with reverts("DataBusScopeNotGranted"):
        bus.access(SUBJECT, SCORE, PURPOSE, {"from": lender})
    assert bus.access(SUBJECT, LIST, PURPOSE, {"from": lender}).return_value == second


# --- access ------------------------------------------------------------------------------------------------------


def test_consented_access_is_logged_and_returns_the_consent_id(bus, people, committee):
    lender = people["LENDER"]
    cid = grant(bus, people["SHIPPER"], lender, scope=SCORE | SETTLEMENTS)
    tx = bus.access(SUBJECT, SETTLEMENTS, PURPOSE, {"from": lender})
    assert tx.return_value == cid
    ev = tx.events["DataAccessed"]
    assert (ev["subject"], ev["lender"], bytes(ev["purpose"]), ev["consentId"], ev["scope"], ev["accessIndex"]) == (
        "0x" + SUBJECT.hex(),
        lender,
        PURPOSE,
        cid,
        SETTLEMENTS,
        0,
    )
    tx2 = bus.access(SUBJECT, SCORE | SETTLEMENTS, PURPOSE, {"from": lender})
    assert tx2.events["DataAccessed"]["accessIndex"] == 1 and bus.accessCount(SUBJECT) == 2
    log = bus.accessesOf(SUBJECT, 0, PAGE, {"from": people["SHIPPER"]})
    assert [(a["lender"], bytes(a["purpose"]), a["consentId"], a["scope"], a["at"]) for a in log] == [
        (lender, PURPOSE, cid, SETTLEMENTS, tx.timestamp),
        (lender, PURPOSE, cid, SCORE | SETTLEMENTS, tx2.timestamp),
    ]
    assert len(bus.accessesOf(SUBJECT, 0, PAGE, {"from": committee[1]})) == 2


@pytest.mark.parametrize("case", ["none", "other_purpose", "other_lender", "other_subject"])
def test_access_without_a_matching_consent_is_refused(bus, people, lender2, case):
    grant(bus, people["SHIPPER"], people["LENDER"])
    lender, subject, purpose = people["LENDER"], SUBJECT, PURPOSE
    if case == "none":
        subject = org("NOBODY")
    elif case == "other_purpose":
        purpose = OTHER_PURPOSE
    elif case == "other_lender":
        lender = lender2
    else:
        subject = org("CARRIER")  # a member that granted nothing
    with reverts("DataBusNoConsent"):
        bus.access(subject, SCORE, purpose, {"from": lender})
    assert bus.accessCount(subject) == 0


def test_access_beyond_the_granted_scope_is_refused(bus, people):
    grant(bus, people["SHIPPER"], people["LENDER"], scope=SCORE)
    for scope in (SETTLEMENTS, LIST, SCORE | LIST, ALL):
        with reverts("DataBusScopeNotGranted"):
            bus.access(SUBJECT, scope, PURPOSE, {"from": people["LENDER"]})
    for scope in (0, 8):
        with reverts("DataBusBadScope"):
            bus.access(SUBJECT, scope, PURPOSE, {"from": people["LENDER"]})
    assert bus.accessCount(SUBJECT) == 0


def test_access_after_revocation_is_refused(bus, people):
    cid = grant(bus, people["SHIPPER"], people["LENDER"])
    bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    bus.revoke(cid, {"from": people["SHIPPER"]})
    with reverts("DataBusConsentRevoked"):
        bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    assert bus.accessCount(SUBJECT) == 1 and bus.validConsent(SUBJECT, people["LENDER"], PURPOSE, SCORE) == 0


def test_access_after_expiry_is_refused(bus, people):
    cid = grant(bus, people["SHIPPER"], people["LENDER"], days=2)
    expiry = bus.consent(cid)["expiresAt"]
    sleep(2 * DAY - 3600)
    bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    sleep(3600 + 1)
    assert chain[-1].timestamp >= expiry
    with reverts("DataBusConsentExpired"):
        bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    assert bus.validConsent(SUBJECT, people["LENDER"], PURPOSE, SCORE) == 0


def test_suspended_lender_cannot_access(bus, consortium, committee, people):
    grant(bus, people["SHIPPER"], people["LENDER"])
    suspend(consortium, committee, people["LENDER"])
    with reverts("DataBusWrongRole"):
        bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    assert bus.validConsent(SUBJECT, people["LENDER"], PURPOSE, SCORE) == 0


def test_access_many_is_all_or_nothing(bus, people, lender2):
    lender = people["LENDER"]
    c1 = grant(bus, people["SHIPPER"], lender)
    c2 = grant(bus, people["CARRIER"], lender)
    subjects = [SUBJECT, org("CARRIER"), SUBJECT]
    tx = bus.accessMany(subjects, SCORE, PURPOSE, {"from": lender})
    assert list(tx.return_value) == [c1, c2, c1] and len(tx.events["DataAccessed"]) == 3
    assert bus.accessCount(SUBJECT) == 2 and bus.accessCount(org("CARRIER")) == 1
    with reverts("DataBusNoConsent"):
        bus.accessMany([SUBJECT, org("PLATFORM")], SCORE, PURPOSE, {"from": lender})
    assert bus.accessCount(SUBJECT) == 2
    with reverts("DataBusEmptyBatch"):
        bus.accessMany([], SCORE, PURPOSE, {"from": lender})
    with reverts("DataBusNoConsent"):
        bus.accessMany([SUBJECT], SCORE, PURPOSE, {"from": lender2})


# --- access matrix -----------------------------------------------------------------------------------------------


def _matrix_call(bus, people, fn, sender):
    if fn == "grant":
        return bus.grant(people["LENDER"], PURPOSE, ALL, later(), {"from": sender})
    cid = grant(bus, people["SHIPPER"], people["LENDER"])
    if fn == "revoke":
        return bus.revoke(cid, {"from": sender})
    if fn == "access":
        return bus.access(SUBJECT, SCORE, PURPOSE, {"from": sender})
    return bus.accessMany([SUBJECT], SCORE, PURPOSE, {"from": sender})


MATRIX = {
    "grant": (set(CALLERS) - {"OUTSIDER"}, "DataBusNotActiveMember"),
    "revoke": ({"SHIPPER"}, "DataBusNotSubject"),
    "access": ({"LENDER"}, "DataBusWrongRole"),
    "accessMany": ({"LENDER"}, "DataBusWrongRole"),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("fn", list(MATRIX))
def test_data_bus_access(bus, people, committee, fn, caller):
    allowed, error = MATRIX[fn]
    sender = sender_of(caller, people, committee)
    if caller in allowed:
        assert _matrix_call(bus, people, fn, sender).status == 1
    else:
        with reverts(error):
            _matrix_call(bus, people, fn, sender)


@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_subject_and_the_committee_list_accesses(bus, people, committee, caller):
    grant(bus, people["SHIPPER"], people["LENDER"])
    bus.access(SUBJECT, SCORE, PURPOSE, {"from": people["LENDER"]})
    sender = sender_of(caller, people, committee)
    if caller in ("SHIPPER", "COMMITTEE"):
        assert len(bus.accessesOf(SUBJECT, 0, PAGE, {"from": sender})) == 1
    else:
        with reverts("DataBusNotAuthorised"):
            bus.accessesOf(SUBJECT, 0, PAGE, {"from": sender})


def test_suspended_committee_member_cannot_list_accesses(bus, consortium, committee):
    suspend(consortium, committee, committee[2])
    with reverts("DataBusNotAuthorised"):
        bus.accessesOf(SUBJECT, 0, PAGE, {"from": committee[2]})


def test_access_log_reads_in_bounded_pages(bus, people, committee):
    lender, shipper = people["LENDER"], people["SHIPPER"]
    assert (bus.MAX_PAGE(), bus.MAX_BATCH()) == (PAGE, BATCH)
    grant(bus, shipper, lender, scope=SCORE)
    # a lender grows a subject's log by at most BATCH records a call: 3 full batches make 600
    times = [bus.accessMany([SUBJECT] * BATCH, SCORE, PURPOSE, {"from": lender}).timestamp for _ in range(3)]
    assert bus.accessCount(SUBJECT) == 3 * BATCH
    first = bus.accessesOf(SUBJECT, 0, PAGE, {"from": shipper})
    rest = bus.accessesOf(SUBJECT, PAGE, PAGE, {"from": shipper})
    assert (len(first), len(rest)) == (PAGE, 3 * BATCH - PAGE)
    assert [a["at"] for a in first + rest] == [t for t in times for _ in range(BATCH)]
    assert len(bus.accessesOf(SUBJECT, 3 * BATCH, PAGE, {"from": shipper})) == 0
    assert len(bus.accessesOf(SUBJECT, 2**256 - 1, PAGE, {"from": shipper})) == 0
    assert [a["at"] for a in bus.accessesOf(SUBJECT, 199, 2, {"from": committee[0]})] == [times[0], times[1]]
    # a full page costs a bounded, small share of an eth_call's gas
    gas = bus.accessesOf.estimate_gas(SUBJECT, 0, PAGE, {"from": shipper})
    print(f"accessesOf_page500_gas={gas}")
    assert gas < 3_000_000


@pytest.mark.parametrize("limit", [0, PAGE + 1, 2**256 - 1])
def test_access_log_page_size_out_of_bounds_reverts(bus, people, limit):
    with reverts("DataBusBadPageSize"):
        bus.accessesOf(SUBJECT, 0, limit, {"from": people["SHIPPER"]})


def test_access_many_beyond_the_batch_bound_reverts(bus, people):
    lender = people["LENDER"]
    grant(bus, people["SHIPPER"], lender, scope=SCORE)
    with reverts("DataBusBatchTooLarge"):
        bus.accessMany([SUBJECT] * (BATCH + 1), SCORE, PURPOSE, {"from": lender})
    assert bus.accessCount(SUBJECT) == 0


# --- property test -----------------------------------------------------------------------------------------------

P_SUBJECTS = ["SHIPPER", "CARRIER", "PLATFORM"]
P_PURPOSES = [PURPOSE, OTHER_PURPOSE]

# (kind, parameters) as two small integers; see test_credit_list.decode for why.
bus_operations = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 2**16 - 1)), min_size=10, max_size=30)


def decode(k: int, p: int) -> tuple:
    if k < 30:  # grant(subject, lender, purpose, scope, whole days of validity; expiry half a day off the sleeps)
        return ("grant", p % 3, (p // 3) % 2, (p // 6) % 2, 1 + (p // 12) % 7, (p // 84) % 7)
    if k < 40:
        return ("revoke", p % 41)
    if k < 88:
        return ("access", p % 3, (p // 3) % 2, (p // 6) % 2, 1 + (p // 12) % 7)
    return ("sleep", 1 + p % 4)


@given(ops=bus_operations)
@settings(max_examples=40, suppress_health_check=list(HealthCheck))
def test_no_access_is_recorded_without_a_valid_consent(bus, people, committee, lender2, ops):
    lenders = [people["LENDER"], lender2]
    consents: dict[int, dict] = {}
    current: dict[tuple, int] = {}
    log: dict[bytes, list] = {org(s): [] for s in P_SUBJECTS}
    for raw in ops:
        op = decode(*raw)
        now = chain[-1].timestamp
        if op[0] == "grant":
            _, s, lender_i, purpose_i, scope, days = op
            expiry = now + days * DAY + DAY // 2
            tx = bus.grant(lenders[lender_i], P_PURPOSES[purpose_i], scope, expiry, {"from": people[P_SUBJECTS[s]]})
            key = (org(P_SUBJECTS[s]), lender_i, purpose_i)
            consents[tx.return_value] = {
                "key": key,
                "scope": scope,
                "expires": expiry,
                "revoked": False,
                "grantor": P_SUBJECTS[s],
            }
            current[key] = tx.return_value
        elif op[0] == "revoke" and consents:
            cid = sorted(consents)[op[1] % len(consents)]
            c = consents[cid]
            if c["revoked"]:
                with reverts("DataBusAlreadyRevoked"):
                    bus.revoke(cid, {"from": people[c["grantor"]]})
            else:
                bus.revoke(cid, {"from": people[c["grantor"]]})
                c["revoked"] = True
        elif op[0] == "access":
            _, s, lender_i, purpose_i, scope = op
            subject = org(P_SUBJECTS[s])
            if s != 2 and consents:  # mostly under a consent granted earlier, within or beyond its scope
                earlier = consents[sorted(consents)[(scope + s) % len(consents)]]
                subject, lender_i, purpose_i = earlier["key"]
                scope = (earlier["scope"] & scope) or scope
            cid = current.get((subject, lender_i, purpose_i), 0)
            c = consents.get(cid)
            valid = c is not None and not c["revoked"] and now < c["expires"] and c["scope"] & scope == scope
            args = (subject, scope, P_PURPOSES[purpose_i], {"from": lenders[lender_i]})
            event(f"access {'recorded' if valid else 'refused'}")
            if valid:
                tx = bus.access(*args)
                assert tx.return_value == cid
                log[subject].append((lenders[lender_i].address, P_PURPOSES[purpose_i], cid, scope, tx.timestamp))
            else:
                with brownie.reverts():
                    bus.access(*args)
            assert bus.validConsent(subject, lenders[lender_i], P_PURPOSES[purpose_i], scope) == (cid if valid else 0)
        elif op[0] == "sleep":
            sleep(op[1] * DAY)
    for subject, expected in log.items():
        assert bus.accessCount(subject) == len(expected)
        recorded = bus.accessesOf(subject, 0, PAGE, {"from": committee[0]})
        assert [(a["lender"], bytes(a["purpose"]), a["consentId"], a["scope"], a["at"]) for a in recorded] == expected
        # every recorded access names a consent of this subject, for this lender and purpose, covering the scope
        for lender, purpose, cid, scope, at in expected:
            c = consents[cid]
            assert c["key"][0] == subject and lenders[c["key"][1]].address == lender
            assert P_PURPOSES[c["key"][2]] == purpose and c["scope"] & scope == scope and at < c["expires"]


# --- gas ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hundred(bus, consortium, committee, people):
    """100 member subjects that each granted the lender consent."""
    lender = people["LENDER"]
    subjects = []
    for i in range(100):
        m = new_member(consortium, committee, f"FLEET{i}", ["CARRIER"])
        bus.grant(lender, PURPOSE, ALL, chain[-1].timestamp + 365 * DAY, {"from": m})
        subjects.append(org(f"FLEET{i}"))
    return subjects


def test_consented_read_gas_batched_vs_single(bus, people, hundred):
    lender = people["LENDER"]
    first = bus.access(hundred[0], SCORE, PURPOSE, {"from": lender})  # first access to a subject: new log array
    bus.accessMany(hundred, SCORE, PURPOSE, {"from": lender})  # every subject now has a log
    singles = [bus.access(s, SCORE, PURPOSE, {"from": lender}).gas_used for s in hundred]
    batch = bus.accessMany(hundred, SCORE, PURPOSE, {"from": lender})
    single_avg = sum(singles) / len(singles)
    per_subject = batch.gas_used / len(hundred)
    print(
        f"consented_read_gas first={first.gas_used} single={single_avg:.0f} "
        f"accessMany100_total={batch.gas_used} accessMany100_per_subject={per_subject:.0f}"
    )
    assert all(bus.accessCount(s) == 3 for s in hundred[1:]) and bus.accessCount(hundred[0]) == 4
    assert per_subject < 0.75 * single_avg
    assert single_avg < 80_000
