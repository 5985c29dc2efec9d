"""Lanes and green freight through the real CLI (issue #17 items 5 and 6): trips recorded in TripRegistry by k = 2
oracles (`trips verify` by each), then `report SUBJECT --json` lists the subject's lanes (from the recorded logs' first
and last fixes, with volumes and verified shares) and its new-energy share, and `score batch
--min-new-energy-share PCT` keeps only subjects at or above the share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from brownie import web3

from creditshare.core.ids import settlement_id, subject_id, to_hex
from scoring.trips import DAY, TripLog
from tests.cli.helpers import Cli, admit_oracle, row, write_csv

SHANGHAI, HANGZHOU = (31.23, 121.47), (30.27, 120.16)
INVOICE_TS = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp())
HEADER = "settlement,trip_log,origin_lat,origin_lon,destination_lat,destination_lon"
D1, SHIP1 = to_hex(subject_id("driver:D1")), to_hex(subject_id("uscc:SHIP1"))


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def log_file(folder: Path, name: str, frm: tuple, to: tuple, energy: str, hours: float = 3.0, jitter: float = 0) -> str:
    n = 40
    lat, lon = np.linspace(frm[0], to[0], n) + jitter, np.linspace(frm[1], to[1], n)
    t = INVOICE_TS - DAY - np.linspace(hours * 3600, 0, n).astype(np.int64)
    (folder / name).write_bytes(TripLog("沪A12345", energy, 5000.0, 5165.0, t, lat, lon).dumps())
    return name


@pytest.fixture(scope="module")
def fcli(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Settlements F-1..F-5 (SHIP1 pays, D1 carries) with trips recorded by oracle `orc`: F-1 electric and
    F-2 hydrogen Shanghai -> Hangzhou verified, F-3 electric Shanghai -> Hangzhou too fast (implausible),
    F-4 diesel Hangzhou -> Shanghai verified, F-5 without a log."""
    for name in ("orc", "orc2"):  # trip verdicts are final when k = 2 oracles attest them
        admit_oracle(cli, name)
    p = cli.json("members", "propose", "set-parameter", "--parameter", "oracle.threshold", "--value", "2", account="c1")
    cli("members", "approve", str(p["id"]), account="c2")
    folder = tmp_path_factory.mktemp("freight")
    rows = [row(f"F-{i}", amount=str(100_000 * i)) for i in range(1, 6)]
    cli("settlements", "submit", str(write_csv(folder, rows)), account="plat")
    logs = [
        ("F-1", log_file(folder, "f1.json", SHANGHAI, HANGZHOU, "electric"), SHANGHAI, HANGZHOU),
        ("F-2", log_file(folder, "f2.json", SHANGHAI, HANGZHOU, "hydrogen", jitter=0.01), SHANGHAI, HANGZHOU),
        ("F-3", log_file(folder, "f3.json", SHANGHAI, HANGZHOU, "electric", hours=0.5), SHANGHAI, HANGZHOU),
        ("F-4", log_file(folder, "f4.json", HANGZHOU, SHANGHAI, "diesel"), HANGZHOU, SHANGHAI),
        ("F-5", "", SHANGHAI, HANGZHOU),
    ]
    lines = [f"{sid(ref)},{log},{a[0]},{a[1]},{b[0]},{b[1]}" for ref, log, a, b in logs]
    (folder / "trips.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    cli("trips", "verify", str(folder / "trips.csv"), account="orc")
    out = cli.json("trips", "verify", str(folder / "trips.csv"), account="orc2")
    assert (out["verified"], out["implausible"], out["no_log"], out["final"]) == (3, 1, 1, 5)
    return cli


def test_report_lists_the_lanes_of_a_carrier_with_volumes_and_verified_shares(fcli):
    r = fcli.json("report", "driver:D1")
    lanes = {(lane["origin"], lane["destination"]): lane for lane in r["lanes"]}
    assert list(lanes) == [("Shanghai", "Hangzhou"), ("Hangzhou", "Shanghai")]  # most trips first
    out = lanes[("Shanghai", "Hangzhou")]
    assert (out["trips"], out["verified"], out["verified_bps"], out["new_energy"]) == (3, 2, 6666, 3)
    assert out["amount_fen"] == 600_000  # F-1 + F-2 + F-3
    back = lanes[("Hangzhou", "Shanghai")]
    assert (back["trips"], back["verified_bps"], back["amount_fen"], back["new_energy"]) == (1, 10_000, 400_000, 0)
    assert r["lanes_note"]["settlements_without_log"] == 1 and r["lanes_note"]["logs_unreadable"] == 0
    # the existing keys stay
    assert {"subject", "score", "history", "settlements", "list_entries", "provenance"} <= set(r)
    assert r["reason_text"] == []  # not scored
    # a platform without a score is no unknown subject: it is a party of the settlements
    assert fcli.json("report", "uscc:PLAT1")["green"]["logged_trips"] == 4


def test_report_shows_the_new_energy_share_of_logged_trips(fcli):
    g = fcli.json("report", "uscc:SHIP1")["green"]
    # four logged trips (the implausible one's truck counts: its energy type is recorded), three new-energy
    assert g == {
        "logged_trips": 4,
        "new_energy_trips": 3,
        "new_energy_bps": 7500,
        "by_energy": {"diesel": 1, "electric": 2, "hydrogen": 1},
    }
    text = fcli("report", "driver:D1").stdout
    assert "Lanes (from recorded trip logs)" in text and "Shanghai" in text and "66.66 %" in text
    assert "green freight: 75 % of 4 logged trips on new-energy trucks (diesel 1, electric 2, hydrogen 1)" in text


def test_score_batch_keeps_only_subjects_at_or_above_the_new_energy_share(fcli, tmp_path):
    batch = tmp_path / "subjects.txt"
    batch.write_text("driver:D1\nuscc:SHIP1\nuscc:NOTRIPS\n")
    kept = fcli.json("score", "batch", str(batch), "--min-new-energy-share", "75")
    assert [i["subject"] for i in kept] == [D1, SHIP1]
    assert all(i["green"]["new_energy_bps"] == 7500 for i in kept)
    assert fcli.json("score", "batch", str(batch), "--min-new-energy-share", "75.01") == []
    assert len(fcli.json("score", "batch", str(batch))) == 3  # no filter: every subject, as before
    text = fcli("score", "batch", str(batch), "--min-new-energy-share", "80").stdout
    assert "3 subject(s) left out by --min-new-energy-share" in text and "no logged trip" in text


@pytest.mark.parametrize("bad", ["101", "-1", "nan"])
def test_a_new_energy_share_outside_0_to_100_is_refused(fcli, tmp_path, bad):
    batch = tmp_path / "subjects.txt"
    batch.write_text("driver:D1\n")
    before = web3.eth.block_number
    result = fcli("score", "batch", str(batch), "--min-new-energy-share", bad, ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "--min-new-energy-share must be a percentage from 0 to 100" in result.stderr
    assert web3.eth.block_number == before
