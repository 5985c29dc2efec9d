"""TripRegistry, review (#12 standard): a track claimed by an invented settlement id used to stay claimed for
ever, so every genuine settlement presenting that track afterwards read as a reused track (and `trips verify`
flags it). A settlement whose final verdict changes to one without the track it claimed now releases it
(`TripTrackReleased`), so the claim can be corrected, by k oracles like any verdict; pending attestations
neither claim nor release a track; the wrong role is still refused with its own error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ZERO32
from tests.contracts import test_trip_registry as base
from tests.contracts.helpers import reverts
from tests.contracts.test_trip_registry import attest

# the base module's fixtures (three oracles, k = 2), shared rather than copied
consortium, oracles, trips = base.consortium, base.oracles, base.trips

NO_LOG, VERIFIED, IMPLAUSIBLE = 1, 2, 3
UNKNOWN, DIESEL, ELECTRIC = 0, 1, 3
BOGUS, REAL = b"\xb0" * 32, b"\x5e" * 32
LOG, TRACK, OTHER = b"\x11" * 32, b"\x21" * 32, b"\x22" * 32
NOLOG = (NO_LOG, UNKNOWN, ZERO32, ZERO32)
UNCLAIMED = "0x" + "00" * 32


def decide(trips: Any, oracles: list[Any], *rows: tuple[bytes, tuple]) -> Any:
    """The rows attested by two oracles (k): the second call makes them final; returns it."""
    attest(trips, oracles[0], *rows[0], *rows[1:])
    return attest(trips, oracles[1], *rows[0], *rows[1:])


def test_a_squatted_track_is_released_when_the_squatting_id_is_decided_again_without_it(trips, oracles):
    # the exploit: a verdict on an invented settlement id claims the track of a trip not yet presented
    decide(trips, oracles, (BOGUS, (VERIFIED, DIESEL, LOG, TRACK)))
    decide(trips, oracles, (REAL, (VERIFIED, ELECTRIC, LOG, TRACK)))
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS  # the genuine settlement reads as a reused track
    # the correction: the invented id decided again as "no log" gives the track up
    tx = decide(trips, oracles, (BOGUS, NOLOG))
    ev = tx.events["TripTrackReleased"]
    assert (bytes(ev["fingerprint"]), bytes(ev["settlementId"]), ev["by"]) == (TRACK, BOGUS, oracles[1])
    assert trips.settlementOfTrack(TRACK) == UNCLAIMED
    decide(trips, oracles, (REAL, (IMPLAUSIBLE, ELECTRIC, LOG, TRACK)))
    assert bytes(trips.settlementOfTrack(TRACK)) == REAL


def test_one_oracle_alone_can_neither_claim_nor_release_a_track(trips, oracles):
    attest(trips, oracles[0], BOGUS, (VERIFIED, DIESEL, LOG, TRACK))
    assert trips.settlementOfTrack(TRACK) == UNCLAIMED
    decide(trips, oracles, (REAL, (VERIFIED, ELECTRIC, LOG, TRACK)))
    tx = attest(trips, oracles[2], REAL, NOLOG)  # a minority "no log" for the track's owner
    assert "TripTrackReleased" not in tx.events and bytes(trips.settlementOfTrack(TRACK)) == REAL


def test_a_settlement_decided_again_with_another_track_releases_the_first(trips, oracles):
    decide(trips, oracles, (REAL, (VERIFIED, DIESEL, LOG, TRACK)))
    tx = decide(trips, oracles, (REAL, (IMPLAUSIBLE, DIESEL, LOG, OTHER)))
    assert bytes(tx.events["TripTrackReleased"]["fingerprint"]) == TRACK
    assert trips.settlementOfTrack(TRACK) == UNCLAIMED
    assert bytes(trips.settlementOfTrack(OTHER)) == REAL


def test_deciding_the_same_track_again_keeps_the_claim_and_releases_nothing(trips, oracles):
    decide(trips, oracles, (REAL, (VERIFIED, DIESEL, LOG, TRACK)))
    tx = decide(trips, oracles, (REAL, (IMPLAUSIBLE, DIESEL, LOG, TRACK)))
    assert "TripTrackReleased" not in tx.events
    assert bytes(trips.settlementOfTrack(TRACK)) == REAL


def test_a_settlement_that_never_claimed_the_track_releases_nothing(trips, oracles):
    decide(trips, oracles, (BOGUS, (VERIFIED, DIESEL, LOG, TRACK)), (REAL, (VERIFIED, DIESEL, LOG, TRACK)))
    tx = decide(trips, oracles, (REAL, NOLOG))
    assert "TripTrackReleased" not in tx.events
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS


@pytest.mark.parametrize("who", ["PLATFORM", "CARRIER", "SHIPPER", "LENDER", "OUTSIDER"])
def test_only_an_oracle_can_release_a_track(trips, oracles, people, who):
    decide(trips, oracles, (BOGUS, (VERIFIED, DIESEL, LOG, TRACK)))
    with reverts("TripRegistryWrongRole"):
        attest(trips, people[who], BOGUS, NOLOG)
    assert bytes(trips.settlementOfTrack(TRACK)) == BOGUS
