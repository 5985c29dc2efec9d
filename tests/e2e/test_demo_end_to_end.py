"""`creditshare demo` end to end: a small market through the real CLI on its own persistent Anvil,
then what the chain holds afterwards, the HTML report, and a second run that sends nothing new."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core.localchain import free_port
from creditshare.demo.market import shipper_org
from scoring.model_card import TIERS

EXE = str(Path(sys.executable).parent / "creditshare")
SHIPPERS = 8

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


def test_a_second_run_sends_nothing_new(demo):
    run, _, _ = demo
    again = run("demo", "--shippers", str(SHIPPERS), "--carriers", "30", timeout=1500).stdout
    assert re.search(r"submitted 0, already on chain [1-9]", again)
    assert "confirmed 0 settlement(s)" in again


def _csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
