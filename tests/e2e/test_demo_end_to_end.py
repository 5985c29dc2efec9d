"""`creditshare demo` end to end: a small market through the real CLI on its own persistent Anvil,
then what the chain holds afterwards, the HTML report, and a second run that sends nothing new.

The demo replays its year in chain time (creditshare/demo/replay.py), so payments keep their own dates and
the shippers spread over the tiers. Played "today" instead, every payment was late and the 100-shipper demo
scored A 0, B 2, C 2, D 4, E 92."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core.localchain import free_port
from creditshare.demo.market import carrier_org, keystore_name, shipper_org
from scoring.model_card import TIERS

EXE = str(Path(sys.executable).parent / "creditshare")
SHIPPERS = 8
# the 8-shipper market's tiers on chain when its year is replayed in chain time (seed 7, 30 carriers); played in
# one sitting instead, every payment is late and nearly all of them score E. The shipper card is trained by
# `model train --population all` on 2,500 freight-demo shippers (defaulted ones included, as the oracles score
# them); with the in-process card of before the tiers were A 4, B 0, C 1, D 1, E 2
EXPECTED_TIERS = {"A": 1, "B": 2, "C": 1, "D": 2, "E": 2}

pytestmark = [pytest.mark.chain, pytest.mark.slow]  # its own Anvil (CREDITSHARE_NETWORK=local)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-data")
    env = {
        **os.environ,
        "CREDITSHARE_DATA_DIR": str(data),
        "CREDITSHARE_NETWORK": "local",
        "CREDITSHARE_LOCAL_PORT": str(free_port()),
    }
    for name in ("CREDITSHARE_PASSWORD", "CREDITSHARE_PRIVATE_KEY"):
        env.pop(name, None)

    def run(*args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(
                f"creditshare {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                f"{done.stderr[-3000:]}"
            )
        return done

    first = run("demo", "--shippers", str(SHIPPERS), "--carriers", "30", timeout=1500)
    env["CREDITSHARE_PASSWORD_FILE"] = str(data / "demo-password")
    yield run, data, first
    run("chain", "stop", check=False)


def test_every_shipper_with_history_is_scored_and_verified(demo):
    run, data, _ = demo
    subjects = [shipper_org(i) for i in range(1, SHIPPERS + 1)]
    scores = json.loads(run("--json", "score", "show", *subjects, "--card", str(data / "demo" / "card.json")).stdout)
    traded = {
        r["shipper"] for p in ("demoplat1", "demoplat2", "demoplat3") for r in _csv_rows(data / "demo" / f"{p}.csv")
    }
    scored = {s: item for s, item in zip(subjects, scores, strict=True) if item["scored"]}
    assert set(scored) == traded and traded
    for item in scored.values():
        assert item["tier"] in TIERS and item["model_is_champion"]
        assert item["provenance"]["verified"], item["provenance"]
        assert len(item["provenance"]["signers"]) >= 3  # 3 of the 4 oracles
        assert item["provenance"]["verdict"] == "verified" and item["age_days"] == 0
        assert item["model_status"] == "champion"


def test_the_year_replayed_in_chain_time_spreads_the_shippers_over_the_tiers(demo):
    run, data, first = demo
    subjects = [shipper_org(i) for i in range(1, SHIPPERS + 1)]
    scores = json.loads(run("--json", "score", "show", *subjects).stdout)
    tiers = {t: sum(1 for i in scores if i["scored"] and i["tier"] == t) for t in TIERS}
    assert sum(tiers.values()) == sum(EXPECTED_TIERS.values())
    for tier, expected in EXPECTED_TIERS.items():
        assert tiers[tier] == pytest.approx(expected, abs=1), tiers
    assert tiers["A"] + tiers["B"] + tiers["C"] >= 3 and tiers["E"] <= 3, tiers
    # payments keep their market dates: most were on time, so most paid settlements are not late
    one = json.loads(run("--json", "report", subjects[0]).stdout)["settlements"]
    assert one["by_status"].get("Paid", 0) > 0 and one["late_payments"] < one["by_status"]["Paid"] / 2, one
    # the replay moved the chain's clock step by step, and back to the wall clock at the end
    assert re.search(r"\d{4}-\d{2}-01: submitted [1-9][\d,]*, already on chain 0; confirmed", first.stdout)


def test_the_chain_holds_list_entries_a_paid_view_and_the_audit_log(demo):
    run, data, _ = demo
    posted = [
        line.split(",")[0]
        for path in sorted((data / "demo").glob("list-*.csv"))
        for line in path.read_text().splitlines()[1:]
    ]
    assert posted, "the demo posted no credit-list entry"
    shown = json.loads(run("--json", "list", "show", posted[0]).stdout)
    assert shown["active"] >= 1
    entry = shown["entries"][0]
    details = json.loads(run("--json", "list", "decrypt", str(entry["id"]), "--account", "demobank1").stdout)
    assert posted[0] in details["details"]  # the lender who paid reads the sealed details
    refused = run("list", "decrypt", str(entry["id"]), "--account", "demobank2", check=False)
    assert refused.returncode == 1 and "has not paid" in refused.stderr
    audit = json.loads(run("--json", "audit", shipper_org(1), "--as", "demoship001").stdout)
    assert audit["accesses"] and audit["accesses"][0]["purpose"] == "receivable-financing"
    # the viewed subject consented and the lender logged a list-scope read before it paid to view
    viewed = json.loads(run("--json", "audit", posted[0], "--as", keystore_name(posted[0])).stdout)
    bank1 = json.loads(run("--json", "keys", "list").stdout)
    bank1_address = next(k["address"] for k in bank1 if k["name"] == "demobank1")
    reads = [a for a in viewed["accesses"] if a["lender"].lower() == bank1_address.lower()]
    assert reads and "list" in reads[0]["scope"] and reads[0]["purpose"] == "receivable-financing"


def test_the_html_report_has_the_plots_and_subject_pages(demo):
    _, data, first = demo
    index = (data / "demo" / "report" / "index.html").read_text()
    for title in ("Score distribution by tier", "ROC curve of the champion", "PSI", "Default rate by tier"):
        assert title in index
    assert len(re.findall(r"<svg|<img", index)) >= 4
    pages = list((data / "demo" / "report" / "subjects").glob("*.html"))
    assert len(pages) >= SHIPPERS // 2
    assert all(f"subjects/{p.name}" in index for p in pages)
    assert "Gas per operation" in first.stdout and "Shippers by tier" in first.stdout


def test_every_party_is_scored_with_its_roles_champion(demo):
    run, data, first = demo
    champions = json.loads(run("--json", "model", "show").stdout)["champions"]
    assert all(champions[role] for role in ("shipper", "carrier", "platform")), champions
    parties = ["uscc:DEMOPLAT1", "uscc:DEMOPLAT2", "uscc:DEMOPLAT3", carrier_org(1), carrier_org(2)]
    items = json.loads(run("--json", "score", "show", *parties).stdout)
    for party, item in zip(parties, items, strict=True):
        assert item["scored"] and item["tier"] in TIERS, (party, item)
        assert item["role"] == ("platform" if party.startswith("uscc:") else "carrier"), item
        assert item["model_is_champion"] and item["model_status"] == "champion", item
        assert item["provenance"]["verified"] and len(item["provenance"]["signers"]) >= 3, item
    assert "Scores on chain by role and tier" in first.stdout


def test_platforms_pay_carriers_some_late_some_unpaid_one_disputed(demo):
    run, data, first = demo
    summaries = [json.loads(run("--json", "payouts", "show", f"uscc:DEMOPLAT{i}").stdout)["summary"] for i in (1, 2, 3)]
    total = {k: sum(s[k] for s in summaries) for k in ("payouts", "paid", "paid_on_time", "disputed")}
    assert total["payouts"] == 60 and total["disputed"] == 1, summaries
    # paid today: those due before today were paid late, the others on time
    assert 0 < total["paid_on_time"] < total["paid"] <= 59, summaries
    # the unpaid past-due ones were marked overdue by their carriers
    assert sum(s["overdue_or_defaulted"] for s in summaries) >= 3, summaries
    assert "Payouts to carriers by platform" in first.stdout


def test_trip_logs_are_verified_and_the_fabricated_and_reused_ones_caught(demo):
    run, data, first = demo
    presented = json.loads((data / "demo" / "trips-presented.json").read_text())
    assert sorted(set(presented.values())) == ["fabricated", "genuine", "missing", "reused"]
    expected = {"genuine": "verified", "fabricated": "implausible", "reused": "implausible", "missing": "no log"}
    for kind, verdict in expected.items():
        sid = next(s for s, k in presented.items() if k == kind)
        shown = json.loads(run("--json", "trips", "show", sid).stdout)
        assert shown["verdict"] == verdict, (kind, shown)
    genuine = [s for s, k in presented.items() if k == "genuine"]
    verdicts = [json.loads(run("--json", "trips", "show", s).stdout)["verdict"] for s in genuine[:10]]
    assert verdicts == ["verified"] * len(verdicts)
    assert "Trip verdicts on chain" in first.stdout and "New-energy share of verified trips" in first.stdout
    assert re.search(r"a segment at \d+ km/h", first.stdout) and "the same track as settlement" in first.stdout


def test_the_summary_shows_the_champions_drift_on_the_population_it_scores(demo):
    _, data, first = demo
    found = re.search(r"Champion drift on the (\d+) shippers it scores here: PSI (\d+\.\d+) \((\w+);", first.stdout)
    assert found, first.stdout[-3000:]
    assert 0 < int(found.group(1)) <= SHIPPERS and found.group(3) in ("stable", "watch", "drifted")
    # the card records the population it was trained on: the one the oracles score
    card = json.loads((data / "demo" / "card.json").read_text())
    assert card["training"]["population"] == "all"


def test_a_second_run_sends_nothing_new(demo):
    run, _, _ = demo
    again = run("demo", "--shippers", str(SHIPPERS), "--carriers", "30", timeout=1500).stdout
    assert re.search(r"submitted 0, already on chain [1-9]", again)
    assert re.search(r"confirmed 0; payments declared 0; receipts confirmed 0; overdue 0; disputed 0", again)
    assert "were sent at its current time" not in again  # nothing was left to catch up
    assert "nothing to record: all 20 payouts" in again
    flat = " ".join(again.split())  # rich wraps long lines at the console's width
    # the trip logs are the same bytes on a rerun and each of the k oracles attested its claims already:
    # no trip transaction is sent (each oracle's line says 0 sent, and every verdict is final)
    sent = re.findall(r"(\d+) trip attestations sent, (\d+) attested already; (\d+) final, (\d+) waiting", flat)
    assert len(sent) == 3, flat[-3000:]  # k = 3 oracles
    assert all(int(n) == 0 and int(done) > 0 and int(final) == int(done) for n, done, final, _ in sent), sent
    assert not re.search(r"[1-9]\d* verdicts recorded", flat)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
