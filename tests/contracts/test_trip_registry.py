"""TripRegistry: a trip verdict is final only when k distinct active oracles attest the same claim (verdict,
energy, log digest, fingerprint); one oracle alone changes nothing, a minority cannot overwrite a final verdict,
one oracle is one vote (reruns, duplicates in a batch, a vote moved), a suspended oracle neither attests nor
counts; every refusal with its own custom error; the first final presenter of a track keeps it."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from brownie import Consortium, TripRegistry
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.trip_registry import MAX_BATCH, Energy, Verdict, claim_of
from tests.conftest import WEEK, ZERO32, ZERO_ADDRESS, admit, org
from tests.contracts.helpers import reverts

NONE, NO_LOG, VERIFIED, IMPLAUSIBLE = range(4)
UNKNOWN, DIESEL, LNG, ELECTRIC, HYDROGEN = range(5)
S1, S2 = b"\x01" * 32, b"\x02" * 32
LOG1, LOG2 = b"\x11" * 32, b"\x12" * 32
TRACK, TRACK2 = b"\x21" * 32, b"\x22" * 32
THRESHOLD_KEY = keccak(text="oracle.threshold")
#: claims as attest's five arguments for one settlement
GOOD = (VERIFIED, ELECTRIC, LOG1, TRACK)
FAKE = (IMPLAUSIBLE, ELECTRIC, LOG1, TRACK)
NOLOG = (NO_LOG, UNKNOWN, ZERO32, ZERO32)


def set_threshold(consortium: Any, committee: list[Any], k: int) -> None:
    tx = consortium.propose(
        ProposalKind.SET_PARAMETER, ZERO_ADDRESS, ZERO32, [], THRESHOLD_KEY, k, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert consortium.parameter(THRESHOLD_KEY) == k


def suspend(consortium: Any, committee: list[Any], account: Any) -> None:
    tx = consortium.propose(ProposalKind.SUSPEND, account, ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert not consortium.isActive(account)


@pytest.fixture(scope="module")
def oracles(people: dict[str, Any]) -> list[Any]:
    """Three oracle operators: the people's ORACLE and two fixed keys (gas price is zero)."""
    extra = [brownie.accounts.add(keccak(text=f"creditshare trip oracle {i}").hex()) for i in (1, 2)]
    return [people["ORACLE"], *extra]


@pytest.fixture(scope="module")
def consortium(committee: list[Any], people: dict[str, Any], oracles: list[Any]) -> Any:
    """Every role, three oracles and k = 2."""
    c = Consortium.deploy(committee, [org("C0"), org("C1"), org("C2")], 2, WEEK, {"from": committee[0]})
    for role in ("PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER"):
        admit(c, committee, people[role], role, [role])
    for i, o in enumerate(oracles[1:], start=1):
        admit(c, committee, o, f"TRIPORACLE{i}", ["ORACLE"])
    set_threshold(c, committee, 2)
    return c


@pytest.fixture(scope="module")
def trips(consortium: Any, committee: list[Any]) -> Any:
    return TripRegistry.deploy(consortium, {"from": committee[0]})


def attest(trips: Any, oracle: Any, sid: bytes, claim: tuple, *more: tuple[bytes, tuple]) -> Any:
    """One attest call by `oracle`: `claim` for `sid`, then any (sid, claim) pairs in `more`, in one batch."""
    rows = [(sid, claim), *more]
    return trips.attest(
        [s for s, _ in rows],
        [c[0] for _, c in rows],
        [c[1] for _, c in rows],
        [c[2] for _, c in rows],
        [c[3] for _, c in rows],
        {"from": oracle},
    )


def final(trips: Any, sid: bytes) -> tuple:
    verdict, energy, _at, _by, digest, fingerprint = trips.verdictOf(sid)
    return (verdict, energy, bytes(digest), bytes(fingerprint))


def claim_hash(claim: tuple) -> bytes:
    return claim_of(Verdict(claim[0]), Energy(claim[1]), claim[2], claim[3])


# -- k of n ----------------------------------------------------------------------------------


def test_one_oracle_alone_leaves_the_verdict_unchanged(trips, oracles):
    tx = attest(trips, oracles[0], S1, GOOD)
    assert "TripVerdictRecorded" not in tx.events
    ev = tx.events["TripAttested"]
    assert (bytes(ev["settlementId"]), ev["oracle"], bytes(ev["claim"]), ev["support"]) == (
        S1,
        oracles[0],
        claim_hash(GOOD),
        1,
    )
    assert final(trips, S1) == (NONE, UNKNOWN, ZERO32, ZERO32)
    assert trips.settlementOfTrack(TRACK) == "0x" + "00" * 32  # a pending claim claims no track


def test_k_agreeing_oracles_set_the_verdict(trips, oracles):
    attest(trips, oracles[0], S1, GOOD)
    tx = attest(trips, oracles[1], S1, GOOD)
    ev = tx.events["TripVerdictRecorded"]
    assert (ev["verdict"], ev["energy"], bytes(ev["logDigest"]), bytes(ev["fingerprint"]), ev["by"]) == (
        VERIFIED,
        ELECTRIC,
        LOG1,
        TRACK,
        oracles[1],
    )
    assert tx.events["TripAttested"]["support"] == 2
    verdict, energy, at, by, _, _ = trips.verdictOf(S1)
    assert (verdict, energy, at, by) == (VERIFIED, ELECTRIC, tx.timestamp, oracles[1])
    assert bytes(trips.settlementOfTrack(TRACK)) == S1
    # the third oracle agreeing adds support, and the final record stays as it was (no new event)
    third = attest(trips, oracles[2], S1, GOOD)
    assert "TripVerdictRecorded" not in third.events and third.events["TripAttested"]["support"] == 3
    assert trips.verdictOf(S1)[3] == oracles[1] and trips.supportOf(S1, claim_hash(GOOD)) == 3


def test_a_minority_cannot_overwrite_a_final_verdict(trips, oracles):
    attest(trips, oracles[0], S1, GOOD)
    attest(trips, oracles[1], S1, GOOD)
    tx = attest(trips, oracles[2], S1, FAKE)
    assert "TripVerdictRecorded" not in tx.events and tx.events["TripAttested"]["support"] == 1
    assert final(trips, S1) == GOOD
    # k oracles agreeing on the new claim do change it: a second oracle moves its vote
    moved = attest(trips, oracles[0], S1, FAKE)
    assert moved.events["TripVerdictRecorded"]["verdict"] == IMPLAUSIBLE and final(trips, S1) == FAKE
    assert trips.supportOf(S1, claim_hash(GOOD)) == 1 and trips.supportOf(S1, claim_hash(FAKE)) == 2


def test_different_claims_from_each_oracle_leave_the_verdict_unchanged(trips, oracles):
    attest(trips, oracles[0], S1, GOOD)
    attest(trips, oracles[1], S1, FAKE)
    attest(trips, oracles[2], S1, (VERIFIED, DIESEL, LOG1, TRACK))  # another energy is another claim
    assert final(trips, S1) == (NONE, UNKNOWN, ZERO32, ZERO32)


def test_an_oracle_moving_its_vote_no_longer_counts_for_its_first_claim(trips, oracles):
    attest(trips, oracles[0], S1, GOOD)
    attest(trips, oracles[0], S1, NOLOG)
    assert bytes(trips.attestationsOf([S1], oracles[0])[0]) == claim_hash(NOLOG)
    tx = attest(trips, oracles[1], S1, GOOD)
    assert tx.events["TripAttested"]["support"] == 1 and "TripVerdictRecorded" not in tx.events
    assert final(trips, S1)[0] == NONE


def test_the_same_claim_again_by_the_same_oracle_changes_nothing(trips, oracles):
    attest(trips, oracles[0], S1, GOOD)
    again = attest(trips, oracles[0], S1, GOOD)
    assert "TripAttested" not in again.events and "TripVerdictRecorded" not in again.events
    assert final(trips, S1)[0] == NONE and trips.supportOf(S1, claim_hash(GOOD)) == 1


def test_a_duplicate_in_a_batch_is_one_vote(trips, oracles):
    tx = attest(trips, oracles[0], S1, GOOD, (S1, GOOD))
    assert len(tx.events["TripAttested"]) == 1 and "TripVerdictRecorded" not in tx.events
    assert final(trips, S1)[0] == NONE
    # two claims for one settlement in one batch: the later is the oracle's vote
    tx = attest(trips, oracles[1], S2, GOOD, (S2, FAKE))
    assert [e["support"] for e in tx.events["TripAttested"]] == [1, 1]
    assert bytes(trips.attestationsOf([S2], oracles[1])[0]) == claim_hash(FAKE)
    assert trips.supportOf(S2, claim_hash(GOOD)) == 0 and final(trips, S2)[0] == NONE


def test_a_batch_finalises_each_settlement_that_reaches_k(trips, oracles):
    attest(trips, oracles[0], S1, GOOD, (S2, NOLOG))
    tx = attest(trips, oracles[1], S1, GOOD, (S2, (IMPLAUSIBLE, DIESEL, LOG2, TRACK2)))
    assert [bytes(e["settlementId"]) for e in tx.events["TripVerdictRecorded"]] == [S1]
    assert final(trips, S1) == GOOD and final(trips, S2)[0] == NONE


# -- who may attest ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["PLATFORM", "SHIPPER", "CARRIER", "LENDER", "MAINTAINER", "OUTSIDER"])
def test_only_an_oracle_attests(trips, people, who):
    with reverts("TripRegistryWrongRole"):
        attest(trips, people[who], S1, GOOD)


def test_a_committee_member_is_no_oracle(trips, committee):
    with reverts("TripRegistryWrongRole"):
        attest(trips, committee[0], S1, GOOD)


def test_a_suspended_oracle_is_refused_and_its_attestation_no_longer_counts(trips, consortium, committee, oracles):
    attest(trips, oracles[2], S1, GOOD)
    suspend(consortium, committee, oracles[2])
    with reverts("TripRegistryWrongRole"):
        attest(trips, oracles[2], S2, GOOD)
    # its earlier attestation is not counted: one active oracle agreeing is not k
    tx = attest(trips, oracles[0], S1, GOOD)
    assert tx.events["TripAttested"]["support"] == 1 and final(trips, S1)[0] == NONE
    assert oracles[2] not in trips.attestationsFor(S1)[0]
    attest(trips, oracles[1], S1, GOOD)
    assert final(trips, S1) == GOOD


def test_a_threshold_above_the_active_oracles_is_refused(trips, consortium, committee, oracles):
    suspend(consortium, committee, oracles[1])
    suspend(consortium, committee, oracles[2])
    with reverts("TripRegistryBadThreshold"):
        attest(trips, oracles[0], S1, GOOD)


def test_an_unset_threshold_is_refused(committee, people):
    """The shared consortium (tests/conftest.py) never set oracle.threshold."""
    bare = Consortium.deploy(committee, [org("C0"), org("C1"), org("C2")], 2, WEEK, {"from": committee[0]})
    admit(bare, committee, people["ORACLE"], "ORACLE", ["ORACLE"])
    registry = TripRegistry.deploy(bare, {"from": committee[0]})
    assert registry.threshold() == 0
    with reverts("TripRegistryThresholdUnset"):
        attest(registry, people["ORACLE"], S1, GOOD)


# -- bad batches and bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (([], [], [], [], []), "TripRegistryEmptyBatch"),
        (([S1], [], [DIESEL], [LOG1], [TRACK]), "TripRegistryLengthMismatch"),
        (([S1], [VERIFIED], [], [LOG1], [TRACK]), "TripRegistryLengthMismatch"),
        (([S1], [VERIFIED], [DIESEL], [], [TRACK]), "TripRegistryLengthMismatch"),
        (([S1], [VERIFIED], [DIESEL], [LOG1], []), "TripRegistryLengthMismatch"),
        (([ZERO32], [VERIFIED], [DIESEL], [LOG1], [TRACK]), "TripRegistryZeroSettlement"),
        (([S1], [NONE], [DIESEL], [LOG1], [TRACK]), "TripRegistryBadVerdict"),
        (([S1], [VERIFIED], [DIESEL], [ZERO32], [TRACK]), "TripRegistryBadLog"),
        (([S1], [IMPLAUSIBLE], [DIESEL], [LOG1], [ZERO32]), "TripRegistryBadLog"),
        (([S1], [VERIFIED], [UNKNOWN], [LOG1], [TRACK]), "TripRegistryBadLog"),
        (([S1], [NO_LOG], [UNKNOWN], [LOG1], [ZERO32]), "TripRegistryBadLog"),
        (([S1], [NO_LOG], [DIESEL], [ZERO32], [ZERO32]), "TripRegistryBadLog"),
    ],
)
def test_bad_batches_are_refused(trips, oracles, args, error):
    with reverts(error):
        trips.attest(*args, {"from": oracles[0]})


def test_a_batch_above_max_batch_is_refused_and_max_batch_fits_a_block(trips, oracles):
    assert trips.maxBatch() == MAX_BATCH
    ids = [keccak(text=f"trip {i}") for i in range(MAX_BATCH + 1)]
    tracks = [keccak(text=f"track {i}") for i in range(MAX_BATCH + 1)]

    def batch(n: int, oracle: Any) -> Any:
        return trips.attest(
            ids[:n], [VERIFIED] * n, [DIESEL] * n, [LOG1] * n, tracks[:n], {"from": oracle, "gas_limit": 29_000_000}
        )

    with reverts("TripRegistryBatchTooLarge"):
        batch(MAX_BATCH + 1, oracles[0])
    batch(MAX_BATCH, oracles[0])
    closing = batch(MAX_BATCH, oracles[1])  # each attestation the k-th: every settlement finalised
    assert len(closing.events["TripVerdictRecorded"]) == MAX_BATCH
    # the closing batch writes every final record and track: the costliest a batch gets (~127k gas a settlement)
    assert closing.gas_used < 20_000_000, closing.gas_used


def test_views(trips, consortium, oracles):
    assert trips.consortium() == consortium.address and trips.threshold() == 2
    assert final(trips, S1)[0] == NONE and bytes(trips.settlementOfTrack(TRACK)) == ZERO32
    assert trips.supportOf(S1, ZERO32) == 0  # "no attestation" is no claim
    attest(trips, oracles[1], S1, NOLOG)
    listed, claims = trips.attestationsFor(S1)
    assert list(listed) == list(oracles) and [bytes(c) for c in claims] == [ZERO32, claim_hash(NOLOG), ZERO32]


@brownie.test.given(
    verdict=st.sampled_from([NO_LOG, VERIFIED, IMPLAUSIBLE]),
    energy=st.integers(0, 4),
    digest=st.binary(min_size=32, max_size=32),
    fingerprint=st.binary(min_size=32, max_size=32),
)
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_python_claim_equals_contract_claim(trips, verdict, energy, digest, fingerprint):
    expected = claim_of(Verdict(verdict), Energy(energy), digest, fingerprint)
    assert bytes(trips.claimOf(verdict, energy, digest, fingerprint)) == expected


CLAIMS = [GOOD, FAKE, NOLOG]


@brownie.test.given(votes=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=8))
@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_the_final_verdict_is_the_last_claim_k_oracles_held_at_once(trips, oracles, votes):
    """Any sequence of (oracle, claim) attestations: the model keeps each oracle's current vote and the final
    record changes only when a claim is held by k = 2 oracles at once."""
    sid = keccak(text=f"property {votes!r} {brownie.web3.eth.block_number}")  # examples share the chain
    current: dict[int, int] = {}
    expected: tuple = (NONE, UNKNOWN, ZERO32, ZERO32)
    for who, c in votes:
        attest(trips, oracles[who], sid, CLAIMS[c])
        current[who] = c
        if sum(1 for v in current.values() if v == c) >= 2:
            expected = CLAIMS[c]
    assert final(trips, sid) == expected


def test_keys_outside_the_consortium_are_no_oracles(trips):
    stranger = brownie.accounts.add(Account.create().key.hex())
    with reverts("TripRegistryWrongRole"):
        attest(trips, stranger, S1, GOOD)
