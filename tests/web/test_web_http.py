"""Every route of the console over plain HTTP against `creditshare serve` on the test Anvil: the numbers equal
the CLI's --json, unknown ids and bad input answer a 4xx page or JSON error (never a traceback), and a refused
call writes nothing."""

from __future__ import annotations

import html
import re

import pytest
from eth_account import Account

from creditshare.cli.score_cmd import load_card
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.ids import subject_id, to_hex
from creditshare.web.console import Console, ConsoleClient, ConsoleConfig
from tests.cli.lender_scenario import sid

SHIP1, SHIP2 = to_hex(subject_id("uscc:SHIP1")), to_hex(subject_id("uscc:SHIP2"))
NO_LIMIT = ("--max-age-days", "0")


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert match, "the page has no CSRF field"
    return match[1]


def test_subject_api_equals_the_cli_report(cli, market, server):
    cli_report = cli.json("report", "uscc:SHIP2", "--card", str(market["card"]), *NO_LIMIT)
    api = server.api.get("/api/subjects/uscc:SHIP2").json()
    for key in ("subject", "score", "history", "settlements", "list_entries", "provenance", "reason_text"):
        assert api[key] == cli_report[key], key
    for key in ("lanes", "lanes_note", "green"):  # issue #17: lanes and green freight, the CLI's
        assert api[key] == cli_report[key], key
    assert api["records"] == 3 and api["consents"][0]["state"] == "valid"
    ship1 = server.api.get(f"/api/subjects/{SHIP1}").json()
    assert ship1["settlements"] == cli.json("report", "uscc:SHIP1", *NO_LIMIT)["settlements"]


def test_subject_page_shows_score_reasons_provenance_and_settlements(cli, market, server):
    r = server.http.get("/subject/uscc:SHIP2")
    assert r.status_code == 200, r.text
    report = cli.json("report", "uscc:SHIP2", "--card", str(market["card"]), *NO_LIMIT)
    page = r.text
    assert f'<span class="score" id="score">{report["score"]["score"]}</span>' in page
    assert f"tier {report['score']['tier']}" in page and ">verified<" in page
    for reason in report["score"]["reasons"]:
        assert f"<code>{reason}</code>" in page
    for signer in report["provenance"]["oracle_signers"]:
        assert signer in page
    assert '<td class="num" id="settlement-count">3</td>' in page and 'data-status="Defaulted">1<' in page
    assert '<td class="num" id="amount">3,000.00</td>' in page and "payment-default" in page
    assert page.count("<svg") == 1 and "/evidence/b" in page
    for sentence in report["reason_text"]:  # the reasons as sentences with SHIP2's values
        assert html.escape(sentence) in page
    no_traceback(page)


def test_search_finds_registrations_ids_members_and_key_names(server):
    for q, want in (("uscc:SHIP2", SHIP2), (SHIP1, SHIP1), ("ship2", SHIP2), ("  uscc:ship1 ", SHIP1)):
        r = server.http.get("/", params={"q": q})
        assert r.status_code == 303 and r.headers["location"] == f"/subject/{want}", (q, r.text)
    assert server.api.get("/api/search", params={"q": "ship2"}).json()["subject"] == SHIP2


@pytest.mark.parametrize(
    ("q", "status", "says"),
    [
        ("uscc:", 400, "subject must be"),
        ("nobody-here", 404, "no registration, id, member or key named"),
        ("0x1234", 400, "neither a 0x 32-byte subject id nor an address"),
        ("0x" + "11" * 20, 404, "is not a consortium member"),
        ("x" * 201, 400, "at most 200 characters"),
    ],
)
def test_search_refuses_bad_and_unknown_input_with_a_clear_line(server, q, status, says):
    r = server.http.get("/", params={"q": q})
    assert r.status_code == status and says in r.text
    no_traceback(r.text)


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/subject/uscc:NOBODY", 404, "unknown subject"),
        ("/subject/0xdead", 400, "subject must be"),
        ("/subject/uscc:SHIP2?page=0", 400, "bad input"),
        ("/subject/uscc:SHIP2?page=2", 404, "page 2 does not exist"),
        ("/subject/uscc:SHIP2?page=abc", 400, "bad input"),
        ("/portfolio?sort=nonsense", 400, "sort by score, tier or subject"),
        ("/evidence/not-a-cid", 400, "CID"),
        ("/evidence/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", 404, ""),
        ("/no/such/page", 404, "no page at /no/such/page"),
    ],
)
def test_pages_answer_unknown_ids_and_bad_input_with_a_4xx_page(server, path, status, says):
    r = server.http.get(path)
    assert r.status_code == status, r.text
    assert says in r.text and "<h1>Error" in r.text
    no_traceback(r.text)


def test_portfolio_lists_the_consenting_subjects_with_default_rates(cli, server):
    p = server.api.get("/api/portfolio").json()
    (row,) = p["subjects"]
    shown = cli.json("score", "show", "uscc:SHIP2")[0]
    assert row["subject"] == SHIP2 and row["score"] == shown["score"] and row["tier"] == shown["tier"]
    assert row["defaulted"] is True and p["by_tier"][shown["tier"]] == {
        "subjects": 1,
        "defaulters": 1,
        "default_rate": 1.0,
    }
    page = server.http.get("/portfolio", params={"sort": "tier"})
    assert page.status_code == 200 and SHIP2 in page.text and "100.0%" in page.text
    # green freight beside each score: SHIP2 has no recorded trip log
    assert row["new_energy_bps"] is None and row["logged_trips"] == 0 and "no logged trip" in page.text


def test_model_and_network_pages(cli, market, server, tmp_path):
    model = server.http.get("/model")
    card = cli.json("model", "show")
    assert model.status_code == 200 and "(the champion)" in model.text and "shp_dpd_max" in model.text
    assert card["champion"] in model.text
    # ROC and PSI on the ledger: the figures `report --html` computes
    facts = cli.json("report", "--html", str(tmp_path / "html"), "--card", str(market["card"]), *NO_LIMIT)
    health = re.search(r'id="roc-auc">([^<]+)<.*?id="psi">([0-9.]+) \((\w+)', model.text, re.S)
    assert health, model.text
    assert health[1] == str(facts["roc"]["auc"] if facts["roc"]["auc"] is not None else "-")
    assert float(health[2]) == pytest.approx(facts["psi"]["psi"], abs=1e-4) and health[3] == facts["psi"]["status"]
    for plot in ("roc", "psi"):
        r = server.http.get(f"/model/{plot}.svg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml" and r.text.startswith("<svg")
    assert server.http.get("/model/other.svg").status_code == 404
    net = server.api.get("/api/network").json()
    assert {m["address"] for m in net["members"]} >= {m["address"] for m in cli.json("members", "list")}
    assert net["oracle"]["threshold"] == 3 and net["oracle"]["reports"] >= 2
    page = server.http.get("/network")
    assert page.status_code == 200 and "Governance proposals" in page.text and str(net["head"]) in page.text


def test_network_page_shows_the_head_and_a_single_node_anvil(server):
    from brownie import web3

    net = server.api.get("/api/network").json()
    block = web3.eth.get_block("latest")
    head_hash = "0x" + bytes(block["hash"]).hex()
    chain = net["chain"]
    assert chain["head"] == net["head"] == block["number"] and chain["head_hash"] == head_hash
    assert chain["client"].startswith("anvil/") and chain["block_age_s"] >= 0 and chain["stalled"] is False
    # Anvil has no Clique signer set: said so, no drift check, and no geth network in the data folder
    assert chain["signers"] is None and chain["signers_note"] == "single-node Anvil: no Clique signers"
    assert chain["drift"] is None and net["nodes"] is None
    page = server.http.get("/network").text
    assert head_hash in page and "single-node Anvil: no Clique signers" in page
    assert "this data folder holds no geth network" in page and 'id="drift"' not in page


SILENT_NODE = """
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Slow(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["method"] != "eth_blockNumber":
            time.sleep(60)  # answers that it is alive, then never says anything else
        data = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
"""


def test_network_page_shows_a_stopped_and_a_hanging_node_as_down_without_waiting(cli, server, tmp_path):
    """A geth network folder whose node 0 is stopped and whose node 1 answers eth_blockNumber but hangs on every
    other call: both rows say down, and the page answers within the console's node timeout (3 s), not after
    the 5 s of each hanging call."""
    import json
    import shutil
    import subprocess
    import sys
    import time

    from creditshare.core.localchain import free_ports
    from creditshare.core.network import network_dir

    root = network_dir(cli.data_dir)
    ports = free_ports(6)
    nodes = []
    for i in range(2):
        datadir = root / f"node-{i}"
        datadir.mkdir(parents=True)
        nodes.append(
            {
                "index": i,
                "datadir": str(datadir),
                "signer": f"0x{i + 1:040x}",
                "node_id": "ab" * 64,
                "p2p_port": ports[3 * i],
                "http_port": ports[3 * i + 1],
                "authrpc_port": ports[3 * i + 2],
            }
        )
    description = {"chain_id": 4242, "period": 1, "epoch": 30000, "gas_limit": 60_000_000, "nodes": nodes}
    (root / "network.json").write_text(json.dumps(description))
    fake = tmp_path / "bin" / "geth"  # the node's pid must be a "geth" on its datadir (core.network.node_pid)
    fake.parent.mkdir()
    fake.symlink_to(sys.executable)
    slow = subprocess.Popen([str(fake), "-c", SILENT_NODE, str(nodes[1]["http_port"]), nodes[1]["datadir"]])
    try:
        (root / "node-1" / "creditshare.pid").write_text(str(slow.pid))
        deadline = time.monotonic() + 20
        while subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{nodes[1]['http_port']}"]).returncode:
            assert time.monotonic() < deadline and slow.poll() is None, "the silent node did not start"
            time.sleep(0.1)
        started = time.monotonic()
        r = server.api.get("/api/network")
        took = time.monotonic() - started
        assert r.status_code == 200 and took < 4.5, (r.status_code, took)
        rows = r.json()["nodes"]["rows"]
        assert [(row["index"], row["state"], row["head"]) for row in rows] == [
            (0, "down", None),
            (1, "down (no answer within 3 s)", None),
        ]
        assert not any(row["connected"] for row in rows)  # the console runs on Anvil, not on these nodes
        page = server.http.get("/network")
        assert page.status_code == 200 and 'id="node-0"' in page.text and 'id="node-1"' in page.text
        assert "down (no answer within 3 s)" in page.text
        no_traceback(page.text)
    finally:
        slow.kill()
        slow.wait(10)
        shutil.rmtree(root)
    assert server.api.get("/api/network").json()["nodes"] is None


def test_a_pinned_page_asks_the_node_for_the_head_once_and_a_new_page_sees_the_new_block(cli, market, monkeypatch):
    """ConsoleClient.pinned: inside one page the head and blocks are read once (the chain index asks for them at
    every open); the next page reads the chain again, and its subject facts equal an unpinned read's."""
    from brownie import chain
    from web3 import HTTPProvider

    sent: list[str] = []
    send = HTTPProvider.make_request

    def counted(provider, method, params):  # every request that reaches the node
        sent.append(method)
        return send(provider, method, params)

    monkeypatch.setattr(HTTPProvider, "make_request", counted)
    settings = load_settings(cli.env["CREDITSHARE_NETWORK"], cli.data_dir)
    client = ConsoleClient(settings)
    with client.pinned():
        first = [client.w3.eth.block_number for _ in range(3)] + [client.block_timestamp() for _ in range(2)]
        for _ in range(2):
            client.rpc("eth_getBlockByNumber", [hex(first[0]), False], "block")
    assert sent.count("eth_blockNumber") == 1 and sent.count("eth_getBlockByNumber") == 2, sent
    chain.mine()
    assert client.w3.eth.block_number == first[0] + 1  # nothing is kept after the page
    config = ConsoleConfig(Account.create(), "viewer", card=load_card(market["card"]), max_age_days=None)
    pinned = Console(client, config).subject(subject_id("uscc:SHIP2"))
    assert pinned["block"] == first[0] + 1 and pinned["score"]["scored"]
    assert Console(ChainClient(settings), config).subject(subject_id("uscc:SHIP2")) == pinned


def test_evidence_link_serves_the_document_as_a_download(market, server):
    cid = server.api.get("/api/subjects/uscc:SHIP1").json()["settlements"]["evidence_cids"][0]
    r = server.http.get(f"/evidence/{cid}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment") and r.content


def test_a_form_without_its_csrf_token_is_refused_before_its_fields_and_writes_nothing(server):
    head = server.head()
    # no token, a made-up token, and no fields at all: the CSRF check comes first (403), not the fields' (400)
    for form in ({"subject": "uscc:SHIP2", "purpose": "credit-line"}, {"csrf": "0" * 64}, {}):
        r = server.http.post("/actions/read", data=form)
        assert r.status_code == 403 and "CSRF token does not match" in r.text, r.text
    other = server.http.get("/").cookies  # a token of another browser session does not pass either
    token = csrf_of(server.http.get("/subject/uscc:SHIP2", cookies=other).text)
    r = server.http.post(
        "/actions/refresh", data={"csrf": token, "subject": "uscc:SHIP2"}, cookies={"creditshare_csrf": "forged"}
    )
    assert r.status_code == 403
    # the right token, sent by a page of another origin
    page = server.http.get("/subject/uscc:SHIP2")
    r = server.http.post(
        "/actions/refresh",
        data={"csrf": csrf_of(page.text), "subject": "uscc:SHIP2"},
        cookies=page.cookies,
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and "from http://evil.example is refused" in r.text
    assert server.head() == head


def test_a_form_with_bad_input_is_a_400_page(server):
    page = server.http.get("/subject/uscc:SHIP2")
    token = csrf_of(page.text)
    head = server.head()
    r = server.http.post(
        "/actions/consent", data={"csrf": token, "lender": "bank", "purpose": "x", "scope": "score", "days": "x"}
    )
    assert r.status_code == 400 and "bad input" in r.text
    r = server.http.post(
        "/actions/read", data={"csrf": token, "subject": "uscc:SHIP2", "purpose": "p", "scope": "nope"}
    )
    assert r.status_code == 400
    no_traceback(r.text)
    assert server.head() == head


def test_api_needs_the_members_token(server):
    import httpx

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = httpx.get(f"{server.url}/api/subjects/uscc:SHIP2", headers=headers)
        assert r.status_code in (401, 403) and "token" in r.json()["error"]
    schema = httpx.get(f"{server.url}/api/openapi.json").json()
    assert "/api/settlements" in schema["paths"] and "HTTPBearer" in str(schema["components"])


def test_api_submission_validates_the_whole_batch_and_writes_nothing_when_one_is_bad(cli, server):
    cid = server.api.get("/api/subjects/uscc:SHIP1").json()["settlements"]["evidence_cids"][0]
    good = {
        "reference": "API-1",
        "shipper": "uscc:SHIP1",
        "platform": "uscc:PLAT1",
        "carrier": "driver:D1",
        "amount_fen": 10_000,
        "invoice_date": "2026-02-01",
        "due_date": "2026-03-01",
        "evidence": f"cid:{cid}",
    }
    bad = {**good, "reference": "API-2", "amount_fen": 0}
    head = server.head()
    r = server.api.post("/api/settlements", json={"settlements": [good, bad]})
    assert r.status_code == 400, r.text
    assert "settlements[1]: amount_fen must be positive" in r.json()["error"]
    # the console's member is the bank: it is neither the shipper nor the platform
    r = server.api.post("/api/settlements", json={"settlements": [good]})
    assert r.status_code == 400 and "neither the shipper nor the platform" in r.json()["error"]
    r = server.api.post("/api/settlements/confirm", json={"ids": [sid("L1-3"), "0x12"]})
    assert r.status_code == 400 and "ids[1]" in r.json()["error"]
    r = server.api.post("/api/settlements/confirm", json={"ids": [sid("L1-3")]})
    assert r.status_code == 409 and "refused by the contract" in r.json()["error"], r.text
    assert server.head() == head
