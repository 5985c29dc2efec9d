"""TripRegistry, review (#12 standard): a track claimed by an invented settlement id used to stay claimed for
ever, so every genuine settlement presenting that track afterwards read as a reused track (and `trips verify`
flags it). A settlement recorded again without the track it claimed now releases it (`TripTrackReleased`),
so the claim can be corrected; the wrong role is still refused with its own error."""

from __future__ import annotations

import pytest

from tests.conftest import ZERO32
from tests.contracts.helpers import reverts

NO_LOG, VERIFIED, IMPLAUSIBLE = 1, 2, 3
UNKNOWN, DIESEL, ELECTRIC = 0, 1, 3
BOGUS, REAL = b"\xb0" * 32, b"\x5e" * 32
LOG, TRACK, OTHER = b"\x11" * 32, b"\x21" * 32, b"\x22" * 32


@pytest.fixture(scope="module")
def trips(TripRegistry, consortium, committee):
    return TripRegistry.deploy(consortium, {"from": committee[0]})


def test_a_squatted_track_is_released_when_the_squatting_id_is_recorded_again_without_it(trips, people):
    oracle = people["ORACLE"]
    # the exploit: a verdict on an invented settlement id claims the track of a trip not yet presented
    trips.record([BOGUS], [VERIFIED], [DIESEL], [LOG], [TRACK], {"from": oracle})
    trips.record([REAL], [VERIFIED], [ELECTRIC], [LOG], [TRACK], {"from": oracle})
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS  # the genuine settlement reads as a reused track
    # the correction: the invented id recorded again as "no log" gives the track up
    tx = trips.record([BOGUS], [NO_LOG], [UNKNOWN], [ZERO32], [ZERO32], {"from": oracle})
    ev = tx.events["TripTrackReleased"]
    assert (bytes(ev["fingerprint"]), bytes(ev["settlementId"]), ev["by"]) == (TRACK, BOGUS, oracle)
    assert trips.settlementOfTrack(TRACK) == "0x" + "00" * 32
    trips.record([REAL], [VERIFIED], [ELECTRIC], [LOG], [TRACK], {"from": oracle})
    assert bytes(trips.settlementOfTrack(TRACK)) == REAL


def test_a_settlement_recorded_again_with_another_track_releases_the_first(trips, people):
    oracle = people["ORACLE"]
    trips.record([REAL], [VERIFIED], [DIESEL], [LOG], [TRACK], {"from": oracle})
    tx = trips.record([REAL], [IMPLAUSIBLE], [DIESEL], [LOG], [OTHER], {"from": oracle})
    assert bytes(tx.events["TripTrackReleased"]["fingerprint"]) == TRACK
    assert trips.settlementOfTrack(TRACK) == "0x" + "00" * 32
    assert bytes(trips.settlementOfTrack(OTHER)) == REAL


def test_recording_the_same_track_again_keeps_the_claim_and_releases_nothing(trips, people):
    oracle = people["ORACLE"]
    trips.record([REAL], [VERIFIED], [DIESEL], [LOG], [TRACK], {"from": oracle})
    tx = trips.record([REAL], [IMPLAUSIBLE], [DIESEL], [LOG], [TRACK], {"from": oracle})
    assert "TripTrackReleased" not in tx.events
    assert bytes(trips.settlementOfTrack(TRACK)) == REAL


def test_a_settlement_that_never_claimed_the_track_releases_nothing(trips, people):
    oracle = people["ORACLE"]
    trips.record([BOGUS, REAL], [VERIFIED, VERIFIED], [DIESEL, DIESEL], [LOG, LOG], [TRACK, TRACK], {"from": oracle})
    tx = trips.record([REAL], [NO_LOG], [UNKNOWN], [ZERO32], [ZERO32], {"from": oracle})
    assert "TripTrackReleased" not in tx.events
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS


@pytest.mark.parametrize("who", ["PLATFORM", "CARRIER", "SHIPPER", "LENDER", "OUTSIDER"])
def test_only_an_oracle_can_release_a_track(trips, people, who):
    trips.record([BOGUS], [VERIFIED], [DIESEL], [LOG], [TRACK], {"from": people["ORACLE"]})
    with reverts("TripRegistryWrongRole"):
        trips.record([BOGUS], [NO_LOG], [UNKNOWN], [ZERO32], [ZERO32], {"from": people[who]})
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS
