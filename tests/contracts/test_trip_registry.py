"""TripRegistry: only active oracles record verdicts; every refusal with its custom error; the first
settlement presenting a track is kept; the latest verdict wins and every one is an event."""

from __future__ import annotations

import pytest
from brownie import chain

from tests.conftest import ZERO32
from tests.contracts.helpers import reverts

NONE, NO_LOG, VERIFIED, IMPLAUSIBLE = range(4)
UNKNOWN, DIESEL, LNG, ELECTRIC, HYDROGEN = range(5)
S1, S2 = b"\x01" * 32, b"\x02" * 32
LOG1, LOG2 = b"\x11" * 32, b"\x12" * 32
TRACK = b"\x21" * 32


@pytest.fixture(scope="module")
def trips(TripRegistry, consortium, committee):
    return TripRegistry.deploy(consortium, {"from": committee[0]})


def test_an_oracle_records_verdicts_and_the_first_presenter_of_a_track_is_kept(trips, people):
    oracle = people["ORACLE"]
    tx = trips.record(
        [S1, S2], [VERIFIED, NO_LOG], [ELECTRIC, UNKNOWN], [LOG1, ZERO32], [TRACK, ZERO32], {"from": oracle}
    )
    assert len(tx.events["TripVerdictRecorded"]) == 2
    verdict, energy, at, by, digest, fingerprint = trips.verdictOf(S1)
    assert (verdict, energy, at, by) == (VERIFIED, ELECTRIC, tx.timestamp, oracle)
    assert (bytes(digest), bytes(fingerprint)) == (LOG1, TRACK)
    assert trips.verdictsOf([S2])[0][0] == NO_LOG
    assert bytes(trips.settlementOfTrack(TRACK)) == S1
    # the same track presented for S2: the first presenter stays
    trips.record([S2], [IMPLAUSIBLE], [DIESEL], [LOG2], [TRACK], {"from": oracle})
    assert bytes(trips.settlementOfTrack(TRACK)) == S1 and trips.verdictOf(S2)[0] == IMPLAUSIBLE


def test_the_latest_verdict_wins(trips, people):
    trips.record([S1], [NO_LOG], [UNKNOWN], [ZERO32], [ZERO32], {"from": people["ORACLE"]})
    chain.sleep(60)
    trips.record([S1], [VERIFIED], [HYDROGEN], [LOG1], [TRACK], {"from": people["ORACLE"]})
    assert trips.verdictOf(S1)[0] == VERIFIED


@pytest.mark.parametrize("who", ["PLATFORM", "SHIPPER", "CARRIER", "LENDER", "MAINTAINER", "OUTSIDER"])
def test_only_an_oracle_records(trips, people, who):
    with reverts("TripRegistryWrongRole"):
        trips.record([S1], [VERIFIED], [HYDROGEN], [LOG1], [TRACK], {"from": people[who]})


def test_a_committee_member_is_no_oracle(trips, committee):
    with reverts("TripRegistryWrongRole"):
        trips.record([S1], [VERIFIED], [HYDROGEN], [LOG1], [TRACK], {"from": committee[0]})


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
def test_bad_batches_are_refused(trips, people, args, error):
    with reverts(error):
        trips.record(*args, {"from": people["ORACLE"]})


def test_views(trips, consortium):
    assert trips.consortium() == consortium.address
    assert trips.verdictOf(S1)[0] == NONE and bytes(trips.settlementOfTrack(TRACK)) == ZERO32
