"""Trip evidence through the CLI: `trips verify` checks each settlement's trip log against the ledger and the
tracks of final verdicts and attests verified / implausible / no log in TripRegistry as one oracle; a verdict
is final when k = 2 of the oracles attest the same claim (`orc`, `orc2`, `orc3` here); a rerun by an oracle
sends nothing (no block mined); every rejection is one `error:` line naming the row, with no block mined."""

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
INVOICE = "2026-01-05"
INVOICE_TS = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp())
HEADER = "settlement,trip_log,origin_lat,origin_lon,destination_lat,destination_lon"


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def log_file(folder: Path, name: str, *, hours: float = 3.0, shift_days: int = 1, jitter: float = 0.0) -> str:
    n = 40
    lat = np.linspace(SHANGHAI[0], HANGZHOU[0], n) + jitter
    lon = np.linspace(SHANGHAI[1], HANGZHOU[1], n)
    t = INVOICE_TS - shift_days * DAY - np.linspace(hours * 3600, 0, n).astype(np.int64)
    (folder / name).write_bytes(TripLog("沪A12345", "electric", 5000.0, 5165.0, t, lat, lon).dumps())
    return name


def trips_csv(folder: Path, rows: list[tuple[str, str]], name: str = "trips.csv") -> Path:
    lines = [f"{sid(ref)},{log},{SHANGHAI[0]},{SHANGHAI[1]},{HANGZHOU[0]},{HANGZHOU[1]}" for ref, log in rows]
    path = folder / name
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


@pytest.fixture(scope="module")
def tcli(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The deployed consortium plus oracles `orc`, `orc2`, `orc3` (oracle.threshold not set yet) and
    settlements T-1..T-6 invoiced on 2026-01-05."""
    for name in ("orc", "orc2", "orc3"):
        admit_oracle(cli, name)
    folder = tmp_path_factory.mktemp("trip-settlements")
    rows = [row(f"T-{i}", invoice=INVOICE, due="2026-02-04") for i in range(1, 7)]
    cli("settlements", "submit", str(write_csv(folder, rows)), account="plat")
    return cli


@pytest.fixture(scope="module")
def kcli(tcli: Cli) -> Cli:
    """`tcli` with the committee's oracle.threshold set to 2 (k of the 3 oracles)."""
    p = tcli.json(
        "members", "propose", "set-parameter", "--parameter", "oracle.threshold", "--value", "2", account="c1"
    )
    tcli("members", "approve", str(p["id"]), account="c2")
    return tcli


def refused(c: Cli, *args: str, account: str | None = None) -> str:
    before = web3.eth.block_number
    result = c(*args, ok=False, account=account)
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert web3.eth.block_number == before
    return result.stderr


def test_without_a_threshold_nothing_is_attested_and_it_says_why(tcli, tmp_path):
    """First in the module: `kcli` (the threshold set) is made on first use, after this test."""
    err = refused(tcli, "trips", "verify", str(trips_csv(tmp_path, [("T-6", "")])), account="orc")
    assert "oracle.threshold (k of n) is not set" in err and "nothing was attested" in err
    assert err.count("\n") == 1  # one line, not one per row


def test_one_oracle_alone_leaves_the_verdict_pending_and_k_make_it_final(kcli, tmp_path):
    good, fast = log_file(tmp_path, "good.json"), log_file(tmp_path, "fast.json", hours=0.5, jitter=0.01)
    path = trips_csv(tmp_path, [("T-1", good), ("T-2", ""), ("T-3", fast)])
    out = kcli.json("trips", "verify", str(path), account="orc")
    assert (out["verified"], out["no_log"], out["implausible"]) == (1, 1, 1)
    assert (out["attested"], out["final"], out["waiting"], out["threshold"]) == (3, 0, 3, 2)
    assert any("km/h" in r for r in out["results"][2]["reasons"])
    assert [r["status"] for r in out["results"]] == ["waiting"] * 3
    pending = kcli.json("trips", "show", sid("T-1"))
    assert (pending["verdict"], pending["attestations"], pending["pending_attestations"]) == ("not verified", 0, 1)
    assert (pending["active_oracles"], pending["threshold"]) == (3, 2)
    second = kcli.json("trips", "verify", str(path), account="orc2")
    assert (second["attested"], second["final"], second["waiting"]) == (3, 3, 0)
    shown = kcli.json("trips", "show", sid("T-1"))
    assert (shown["verdict"], shown["energy_type"], shown["attestations"]) == ("verified", "electric", 2)
    assert shown["oracle"] is not None and shown["pending_attestations"] == 0
    assert shown["trip_log_cid"].startswith("b") and kcli.json("trips", "show", sid("T-2"))["verdict"] == "no log"
    text = kcli("trips", "show", sid("T-3")).stdout
    assert "implausible" in text and "attestations" in text


def test_a_rerun_by_an_oracle_sends_nothing(kcli, tmp_path):
    path = trips_csv(tmp_path, [("T-1", log_file(tmp_path, "good.json")), ("T-2", "")])
    kcli("trips", "verify", str(path), account="orc")
    before = web3.eth.block_number
    again = kcli.json("trips", "verify", str(path), account="orc")
    assert web3.eth.block_number == before  # skipped before sending: checked on chain in one view call
    assert (again["attested"], again["already_attested"], again["waiting"]) == (0, 2, 2)
    assert (again["recorded"], again["already_on_chain"]) == (0, 2)  # the names scripts read before k of n
    text = kcli("trips", "verify", str(path), account="orc").stdout
    assert "attested 0 claim(s), 2 attested already; 0 final, 2 waiting for more oracles (k = 2)" in " ".join(
        text.split()
    )
    assert web3.eth.block_number == before


def test_a_minority_claim_does_not_overwrite_a_final_verdict(kcli, tmp_path):
    path = trips_csv(tmp_path, [("T-1", log_file(tmp_path, "good.json"))])
    for oracle in ("orc", "orc2"):
        kcli("trips", "verify", str(path), account=oracle)
    # orc3 is shown another log for the same settlement (too fast): its claim is another one
    other = trips_csv(tmp_path, [("T-1", log_file(tmp_path, "fast.json", hours=0.5))], "other.csv")
    out = kcli.json("trips", "verify", str(other), account="orc3")
    assert (out["attested"], out["final"], out["final_differs"]) == (1, 0, 1)
    assert out["results"][0]["status"] == "final differs"
    shown = kcli.json("trips", "show", sid("T-1"))
    assert (shown["verdict"], shown["attestations"], shown["pending_attestations"]) == ("verified", 2, 1)


def test_a_suspended_oracle_leaving_k_above_n_is_one_clear_error(kcli, tmp_path):
    for oracle in ("orc2", "orc3"):
        p = kcli.json("members", "propose", "suspend", "--member", oracle, account="c1")
        kcli("members", "approve", str(p["id"]), account="c2")
    err = refused(kcli, "trips", "verify", str(trips_csv(tmp_path, [("T-6", "")])), account="orc")
    assert "oracle.threshold is above the active oracles" in err and "TripRegistryBadThreshold" in err


def test_a_track_of_a_final_verdict_is_caught_when_presented_for_another_settlement(kcli, tmp_path):
    first = trips_csv(tmp_path, [("T-4", log_file(tmp_path, "a.json"))])
    for oracle in ("orc", "orc2"):
        kcli("trips", "verify", str(first), account=oracle)
    # the same fixes, re-timed a week earlier, presented for T-5 in a later batch
    copy = log_file(tmp_path, "copy.json", shift_days=8)
    out = kcli.json("trips", "verify", str(trips_csv(tmp_path, [("T-5", copy)], "later.csv")), account="orc")
    assert out["implausible"] == 1 and f"the same track as settlement {sid('T-4')}" in out["results"][0]["reasons"]


def test_dry_run_attests_nothing(kcli, tmp_path):
    before = web3.eth.block_number
    out = kcli.json("trips", "verify", str(trips_csv(tmp_path, [("T-6", "")])), "--dry-run", account="orc")
    assert (out["would_attest"], out["attested"], out["waiting"]) == (1, 0, 1) and web3.eth.block_number == before
    assert kcli.json("trips", "show", sid("T-6"))["verdict"] == "not verified"


def test_only_an_oracle_attests(kcli, tmp_path):
    err = refused(kcli, "trips", "verify", str(trips_csv(tmp_path, [("T-6", "")])), account="plat")
    assert "TripRegistryWrongRole" in err and "line 2:" in err


def test_bad_rows_are_refused_whole(tcli, tmp_path):
    good = log_file(tmp_path, "good.json")
    (tmp_path / "broken.json").write_text('{"vehicle_id": "V", "energy_type": "coal"}')
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                f"{sid('T-1')},{good},31.2,121.4,30.2,120.1",
                f"{sid('T-2')},broken.json,31.2,121.4,30.2,120.1",
                f"{sid('T-3')},,95,121.4,30.2,120.1",
                f"{sid('T-4')},../../etc/passwd,31.2,121.4,30.2,120.1",
                f"0x{'ab' * 32},,31.2,121.4,30.2,120.1",
                f"{sid('T-1')},,31.2,121.4,30.2,120.1",
                "not-an-id,,31.2,121.4,30.2,120.1",
            ]
        )
        + "\n"
    )
    err = refused(tcli, "trips", "verify", str(path), account="orc")
    assert "5 bad row(s); nothing was recorded" in err
    for expected in (
        "line 3: broken.json: trip log: energy_type must be one of",
        "line 4: origin_lat must lie in [-90, 90]",
        "line 5:",
        "line 7: settlement",
        "line 8:",
    ):
        assert expected in err, (expected, err)
    ghost = trips_csv(tmp_path, [("GHOST", "")], "ghost.csv")
    assert "is not on the ledger" in refused(tcli, "trips", "verify", str(ghost), account="orc")


def test_missing_columns_and_bad_ids_are_refused(tcli, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("settlement,trip_log\n0x01,\n")
    assert "origin_lat" in refused(tcli, "trips", "verify", str(path), account="orc")
    assert "settlement id" in refused(tcli, "trips", "show", "nope")


def test_the_trip_frame_feeds_the_verified_and_new_energy_shares(kcli, tmp_path, monkeypatch):
    from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
    from creditshare.bindings.trip_registry import TripRegistry
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from creditshare.domain.trips import trip_frame
    from scoring.features import party_features

    path = trips_csv(tmp_path, [("T-1", log_file(tmp_path, "g.json")), ("T-2", "")])
    kcli("trips", "verify", str(path), account="orc")
    for key, value in kcli.env.items():
        monkeypatch.setenv(key, value)
    client = ChainClient(load_settings())
    assert trip_frame(SettlementLedger(client), TripRegistry(client)).empty  # one oracle's claims are not final
    kcli("trips", "verify", str(path), account="orc2")
    frame = trip_frame(SettlementLedger(client), TripRegistry(client))
    assert sorted(frame["verdict"]) == ["no log", "verified"]
    settlements = settlement_frame(SettlementLedger(client))
    f = party_features(settlements, INVOICE_TS + DAY, trips=frame, role="carrier")
    carrier = to_hex(subject_id("driver:D1"))
    # six settlements carried, one with a verified log (electric), one without
    assert f.loc[carrier, "car_verified_bps"] == 10_000 // 6 and f.loc[carrier, "car_newenergy_bps"] == 10_000
