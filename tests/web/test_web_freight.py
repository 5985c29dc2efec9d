"""The console's reasons, model page, lanes and green freight over plain HTTP (issue #17 items 4-6): the subject
page says the reasons as sentences with the subject's values, draws its lanes and new-energy share once trips
are recorded, and the API answers what the CLI's `report --json` says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from markupsafe import escape

from creditshare.core.ids import subject_id, to_hex
from scoring.model_card import ModelCard
from scoring.trips import DAY, TripLog
from tests.cli.lender_scenario import sid

SHIP1, SHIP2 = to_hex(subject_id("uscc:SHIP1")), to_hex(subject_id("uscc:SHIP2"))
NO_LIMIT = ("--max-age-days", "0")
SHANGHAI, HANGZHOU = (31.23, 121.47), (30.27, 120.16)
INVOICE_TS = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp())
HEADER = "settlement,trip_log,origin_lat,origin_lon,destination_lat,destination_lon"


def log_file(folder: Path, name: str, frm: tuple, to: tuple, energy: str) -> str:
    n = 40
    lat, lon = np.linspace(frm[0], to[0], n), np.linspace(frm[1], to[1], n)
    t = INVOICE_TS - DAY - np.linspace(3 * 3600, 0, n).astype(np.int64)
    (folder / name).write_bytes(TripLog("沪A12345", energy, 5000.0, 5165.0, t, lat, lon).dumps())
    return name


def test_subject_page_says_reasons_as_sentences_with_the_subjects_values(cli, market, server):
    report = cli.json("report", "uscc:SHIP2", "--card", str(market["card"]), *NO_LIMIT)
    assert report["reason_text"] and len(report["reason_text"]) == len(report["score"]["reasons"])
    page = server.http.get("/subject/uscc:SHIP2").text
    for sentence, code in zip(report["reason_text"], report["score"]["reasons"], strict=True):
        assert f"<li>{str(escape(sentence))} <code>{code}</code></li>" in page
    api = server.api.get("/api/subjects/uscc:SHIP2").json()
    assert api["reason_text"] == report["reason_text"] and api["score"]["reason_text"] == report["reason_text"]
    assert 'id="lanes">no recorded trip log' in page and 'id="green">no logged trip<' in page


def test_model_page_documents_every_feature_its_bins_and_points(market, server):
    from creditshare.reports.freight import model_features

    page = server.http.get("/model").text
    for f in model_features(ModelCard.load(market["card"])):
        assert f"<code>{f['name']}</code> — {str(escape(f['description']))}</summary>" in page
        for b in f["bins"]:
            assert f'<tr><td>{str(escape(b["bin"]))}</td><td class="num">{b["points"]}</td></tr>' in page


def test_subject_page_draws_lanes_and_green_share_once_trips_are_recorded(cli, market, server, tmp_path):
    rows = [
        (sid("L1-0"), log_file(tmp_path, "a.json", SHANGHAI, HANGZHOU, "electric"), SHANGHAI, HANGZHOU),
        (sid("L1-1"), log_file(tmp_path, "b.json", HANGZHOU, SHANGHAI, "diesel"), HANGZHOU, SHANGHAI),
    ]
    lines = [f"{s},{log},{a[0]},{a[1]},{b[0]},{b[1]}" for s, log, a, b in rows]
    (tmp_path / "trips.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    for oracle in ("o1", "o2"):  # k = 3 of the market's 4 oracles make a trip verdict final
        cli("trips", "verify", str(tmp_path / "trips.csv"), account=oracle)
    out = cli.json("trips", "verify", str(tmp_path / "trips.csv"), account="o3")
    assert (out["verified"], out["final"]) == (2, 2)
    report = cli.json("report", "uscc:SHIP1", *NO_LIMIT)
    assert [(x["origin"], x["destination"], x["trips"]) for x in report["lanes"]] == [
        ("Hangzhou", "Shanghai", 1),
        ("Shanghai", "Hangzhou", 1),
    ]
    api = server.api.get(f"/api/subjects/{SHIP1}").json()
    assert api["lanes"] == report["lanes"] and api["green"] == report["green"]
    assert api["green"]["new_energy_bps"] == 5000
    page = server.http.get(f"/subject/{SHIP1}").text
    assert '<table id="lanes">' in page and "<td>Shanghai</td><td>Hangzhou</td>" in page
    assert 'aria-label="lanes by trips, verified share dark"' in page
    assert 'id="green">50 % of 2 logged trips on new-energy trucks (diesel 1, electric 1)<' in page
    assert "Traceback" not in page
