"""Bad input to the commands added with payouts, trips, evidence, index, IPFS, validators and the console
(issue #13's standard): every refusal is one `error:` line (or typer's usage error, exit 2), no traceback, no
block mined and nothing stored; a rerun after fixing the input completes without duplicates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.cli.serve_cmd import token_file
from creditshare.core.files import MAX_FILE_BYTES
from creditshare.core.localchain import free_port
from creditshare.domain.evidence import IpfsStore
from tests.cli.helpers import Cli, refused
from tests.cli.test_cli_payouts import HEADER, day, pid, prow, write
from tests.cli.test_cli_trips import HEADER as TRIPS_HEADER

UNKNOWN = "0x" + "11" * 32
CREDITSHARE = str(Path(sys.executable).parent / "creditshare")


@pytest.fixture(scope="module")
def hcli(cli: Cli) -> Cli:
    """The deployed consortium plus carrier `carr` (driver:D1) and oracle `orc`."""
    for name, org, role in (("carr", "driver:D1", "CARRIER"), ("orc", "uscc:ORC1", "ORACLE")):
        cli("keys", "new", name)
        p = cli.json("members", "propose", "admit", "--member", name, "--org", org, "--role", role, account="c1")
        cli("members", "approve", str(p["id"]), account="c2")
    return cli


# -- payouts submit: one table of malformed files ---------------------------------------------------------------

BAD_PAYOUT_FILES = [
    # (name, header, rows as a function of prow, raw bytes or None, expected message)
    ("empty file", None, None, b"", "is empty; the first line must be the header"),
    ("header only", HEADER, [], None, "the file has a header but no payouts"),
    ("latin-1 byte", None, None, "latin1", "line 2: byte 0xE9 is not UTF-8"),
    ("lone CR", None, None, "cr", "a carriage return without a line feed"),
    ("missing column", "reference,platform", ["G,uscc:PLAT1"], None, "missing column(s) carrier"),
    ("unknown column", HEADER + ",bogus", ["+x"], None, "unknown column(s) bogus"),
    ("column twice", HEADER + ",amount_fen", ["+1"], None, "column(s) named twice: amount_fen"),
    ("extra field", HEADER, ["+x"], None, "line 2: 8 field(s); expected 7"),
    ("duplicate row", HEADER, ["", ""], None, "line 3: duplicate reference 'G-1' (first on line 2)"),
    ("negative amount", HEADER, [{"amount": "-5"}], None, "amount_fen must be a whole number of fen; got '-5'"),
    ("float amount", HEADER, [{"amount": "1.5"}], None, "amount_fen must be a whole number of fen; got '1.5'"),
    ("zero amount", HEADER, [{"amount": "0"}], None, "amount_fen must lie between 1 and"),
    ("huge amount", HEADER, [{"amount": str(2**96)}], None, "amount_fen must lie between 1 and"),
    ("unknown subject", HEADER, [{"carrier": "nonsense"}], None, "subject must be 'namespace:registration'"),
    ("id of the wrong length", HEADER, [{"carrier": "0x1234"}], None, "got '0x1234'"),
    ("platform no member", HEADER, [{"platform": "uscc:NOPE"}], None, "is not a consortium member"),
    ("carrier is the platform", HEADER, [{"carrier": "uscc:PLAT1"}], None, "the carrier is the same subject"),
    ("settlement id short", HEADER + ",settlement", ["+0x12"], None, "settlement id must be a 0x-prefixed"),
    ("basic date", HEADER, [{"delivered": "20260105"}], None, "delivery_date must be a date YYYY-MM-DD"),
    ("future delivery", HEADER, [{"delivered": 30, "due": 40}], None, "is in the future"),
    ("due before delivery", HEADER, [{"delivered": -3, "due": -5}], None, "is before delivery_date"),
    ("evidence climbs out", HEADER, [{"evidence": "../../etc/passwd"}], None, "climbs out of"),
    ("evidence absolute", HEADER, [{"evidence": "/etc/passwd"}], None, "is an absolute path"),
    ("evidence a folder", HEADER, [{"evidence": "evidence"}], None, "is not a regular file"),
    ("evidence missing", HEADER, [{"evidence": "nope.txt"}], None, "evidence file nope.txt not found"),
    ("evidence bad CID", HEADER, [{"evidence": "cid:zzz"}], None, "'zzz' is not a valid CID"),
    ("stray quote", HEADER, [{"ref": 'Q"1'}], None, "a quote inside an unquoted field"),
]


def _payout_file(folder: Path, header: str | None, rows: list | None, raw: bytes | str | None) -> Path:
    good = prow("G-1")
    if raw == "latin1":
        path = write(folder, [], "unused.csv").with_name("p.csv")
        path.write_bytes(("\n".join([HEADER, prow("L-\xe9")]) + "\n").encode("latin-1"))
        return path
    if raw == "cr":
        write(folder, [], "unused.csv")
        path = folder / "p.csv"
        path.write_bytes(("\r".join([HEADER, good]) + "\r").encode())
        return path
    if raw is not None:
        path = write(folder, [], "unused.csv").with_name("p.csv")
        path.write_bytes(raw)  # type: ignore[arg-type]
        return path
    lines = []
    for r in rows or []:
        if isinstance(r, dict):
            delivered, due = r.get("delivered", -3), r.get("due", 7)
            line = prow(
                r.get("ref", "G-1"),
                **{k: v for k, v in r.items() if k in ("platform", "carrier", "amount", "evidence")},
                delivered=delivered if isinstance(delivered, int) else -3,
                due=due,
            )
            if isinstance(delivered, str):
                line = line.replace(day(-3), delivered)
            lines.append(line)
        elif r.startswith("+"):
            lines.append(good + "," + r[1:])
        elif r.startswith("G,"):
            lines.append(r)
        else:
            lines.append(good)
    return write(folder, lines, header=header or HEADER)


@pytest.mark.parametrize(
    ("name", "header", "rows", "raw", "message"), BAD_PAYOUT_FILES, ids=[c[0] for c in BAD_PAYOUT_FILES]
)
def test_payouts_submit_refuses_a_malformed_file_and_sends_nothing(hcli, tmp_path, name, header, rows, raw, message):
    path = _payout_file(tmp_path, header, rows, raw)
    assert message in refused(hcli, "payouts", "submit", str(path), account="plat")


@pytest.mark.parametrize(
    ("account", "message"),
    [("carr", "is not the platform of this payout"), ("outsider", "is not the platform of this payout")],
)
def test_payouts_submit_by_a_wrong_role_sends_nothing(hcli, tmp_path, account, message):
    assert message in refused(hcli, "payouts", "submit", str(write(tmp_path, [prow("ROLE-1")])), account=account)


def test_payouts_submit_rerun_after_a_fix_completes_without_duplicates(hcli, tmp_path):
    path = write(tmp_path, [prow("FIX-1"), prow("FIX-2", amount="-1")])
    assert "line 3: amount_fen" in refused(hcli, "payouts", "submit", str(path), account="plat")
    path = write(tmp_path, [prow("FIX-1"), prow("FIX-2", amount="100")])
    assert hcli.json("payouts", "submit", str(path), account="plat")["recorded"] == 2
    again = hcli.json("payouts", "submit", str(path), account="plat")
    assert (again["recorded"], again["already_on_chain"]) == (0, 2)
    # the same reference with other content is refused, not a second record
    path = write(tmp_path, [prow("FIX-1", amount="999")])
    assert "is on chain with different content" in refused(hcli, "payouts", "submit", str(path), account="plat")


# -- ids, options and environment on every new command ---------------------------------------------------------

BAD_ARGS = [
    (("payouts", "confirm", "0x12"), "carr", "payout id must be a 0x-prefixed 32-byte hex value"),
    (("payouts", "confirm", "zz"), "carr", "payout id must be a 0x-prefixed 32-byte hex value"),
    (("payouts", "confirm", UNKNOWN), "carr", "not on the payout ledger"),
    (("payouts", "confirm"), "carr", "name the payouts either as IDs or with --file"),
    (("payouts", "finalize", UNKNOWN, "--file", "x.csv"), "carr", "name the payouts either as IDs or with --file"),
    (("payouts", "pay", UNKNOWN, "--paid-date", "2026-13-01"), "plat", "--paid-date must be a date YYYY-MM-DD"),
    (("payouts", "pay", UNKNOWN, "--paid-date", "20260101"), "plat", "--paid-date must be a date YYYY-MM-DD"),
    (("payouts", "dispute", UNKNOWN, "--reason", "  "), "plat", "--reason must not be empty"),
    (("payouts", "overdue", UNKNOWN), "carr", "not on the payout ledger"),
    (("payouts", "show", "xx"), None, "subject must be 'namespace:registration'"),
    (("payouts", "show", UNKNOWN), None, "no payout on the payout ledger names"),
    (("trips", "show", "0x12"), None, "settlement id must be a 0x-prefixed"),
    (("evidence", "verify", "0x12"), None, "settlement id must be a 0x-prefixed"),
    (("evidence", "verify", UNKNOWN), None, "not on the ledger"),
    (("evidence", "get", "zzz"), None, "'zzz' is not a valid CID"),
    (
        ("evidence", "get", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
        None,
        "is not in the evidence",
    ),
    (("evidence", "status"), None, "the folder backend keeps one copy"),
    (("evidence", "put-card", "/nonexistent.json"), None, "cannot read model card"),
    (("members", "propose", "admit-validator", "--member", "plat", "--signer", "0x12"), "c1", "is not a 20-byte hex"),
    (("members", "propose", "suspend-validator", "--member", "plat"), "c1", "is not a validator"),
    (("members", "propose", "suspend-validator", "--member", "ghost"), "c1", "no keystore named 'ghost'"),
    (
        ("members", "propose", "admit-validator", "--member", "plat", "--signer", "0x" + "12" * 20),
        "outsider",
        "ConsortiumNotCommittee",
    ),
    (("serve", "--host", "0.0.0.0"), "bank", "is not loopback"),
    (("serve", "--max-age-days", "-1"), "bank", "the maximum score age must be 0"),
    (("serve",), None, "the console signs as one member"),
    (("ipfs", "init", "--nodes", "0"), None, "--nodes must be at least 1; got 0"),
    (("ipfs", "init", "--nodes", "17"), None, "--nodes must be at most 16; got 17"),
    (("ipfs", "status"), None, "no IPFS network in"),
    (("network", "status"), None, "no geth network in"),
    (("network", "node", "kill", "0"), None, "no geth network in"),
]


@pytest.mark.parametrize(("args", "account", "message"), BAD_ARGS, ids=[" ".join(a[0])[:60] for a in BAD_ARGS])
def test_a_bad_argument_is_one_error_line_and_sends_nothing(hcli, args, account, message):
    assert message in refused(hcli, *args, account=account)


USAGE = [
    ("payouts", "submit", "x.csv", "--batch-size", "0"),
    ("payouts", "show", "uscc:PLAT1", "--limit", "0"),
    ("trips", "verify", "x.csv", "--batch-size", "1001"),
    ("index", "status", "--confirmations", "-1"),
    ("index", "rebuild", "--confirmations", "10001"),
    ("serve", "--port", "0"),
    ("serve", "--port", "65536"),
    ("network", "logs", "--lines", "0"),
    ("payouts", "submit", "x.csv", "--evidence-root", "/nonexistent"),
]


@pytest.mark.parametrize("args", USAGE, ids=[" ".join(a) for a in USAGE])
def test_an_option_out_of_range_is_a_usage_error(hcli, args):
    refused(hcli, *args, code=2)


BAD_ENV = [
    ({"CREDITSHARE_INDEX_CONFIRMATIONS": "abc"}, ("index", "status"), "CREDITSHARE_INDEX_CONFIRMATIONS must be"),
    ({"CREDITSHARE_INDEX_CONFIRMATIONS": "99999"}, ("index", "status"), "CREDITSHARE_INDEX_CONFIRMATIONS must be"),
    ({"CREDITSHARE_EVIDENCE": "tape"}, ("evidence", "get", "zzz"), "CREDITSHARE_EVIDENCE must be one of"),
    ({"CREDITSHARE_EVIDENCE": "ipfs"}, ("evidence", "status"), "no IPFS network in"),
    (
        {"CREDITSHARE_EVIDENCE": "ipfs", "CREDITSHARE_IPFS_API": "not a url", "CREDITSHARE_IPFS_REPLICAS": ""},
        ("evidence", "put", "/etc/hostname"),
        "CREDITSHARE_IPFS_API must name Kubo API URLs like http://127.0.0.1:5001; got 'not a url'",
    ),
    (
        {
            "CREDITSHARE_EVIDENCE": "ipfs",
            "CREDITSHARE_IPFS_API": "http://127.0.0.1:1",
            "CREDITSHARE_IPFS_REPLICAS": "x",
        },
        ("evidence", "get", "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
        "CREDITSHARE_IPFS_REPLICAS must name Kubo API URLs",
    ),
]


@pytest.mark.parametrize(("env", "args", "message"), BAD_ENV, ids=[str(e[0])[:60] for e in BAD_ENV])
def test_a_bad_environment_setting_is_one_error_line(hcli, env, args, message):
    assert message in refused(hcli, *args, **env)


# -- files that are not documents, saved state that is damaged --------------------------------------------------


def test_evidence_put_refuses_what_is_not_a_regular_file_before_reading_it(hcli, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # reading it would block forever
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        assert "not a regular file" in refused(hcli, "evidence", "put", path)
    assert "No such file or directory" in refused(hcli, "evidence", "put", str(tmp_path / "missing"))


def test_evidence_get_into_a_folder_that_does_not_exist_is_one_error_line(hcli, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("waybill")
    cid = hcli.json("evidence", "put", str(doc))["cid"]
    assert f"cannot write {tmp_path}/no/such/out" in refused(
        hcli, "evidence", "get", cid, "--out", str(tmp_path / "no/such/out")
    )
    assert "cannot write" in refused(hcli, "evidence", "get", cid, "--out", str(tmp_path))


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe", b"[]", b'{"nodes": 3}', b'{"nodes": [{"index": 0}]}', b'{"nodes": []}', b"[" * 100_000],
    ids=["not JSON", "not UTF-8", "a list", "nodes not a list", "a node without fields", "no node", "nested"],
)
def test_a_damaged_ipfs_network_description_is_one_error_line(hcli, content):
    folder = hcli.data_dir / "ipfs"
    folder.mkdir(exist_ok=True)
    (folder / "network.json").write_bytes(content)
    try:
        for args in (("ipfs", "status"), ("ipfs", "down"), ("ipfs", "up", "--node", "0")):
            assert "the IPFS network description" in refused(hcli, *args)
    finally:
        (folder / "network.json").unlink()


@pytest.mark.parametrize("content", [b"{broken", b"\xff", b"[1, 2]", b'{"cid": 5}'])
def test_a_damaged_ipfs_link_index_is_a_clear_error(tmp_path, content):
    from creditshare.core.errors import ConfigError

    store = IpfsStore("http://127.0.0.1:1", [], 1, tmp_path / "links.json")
    (tmp_path / "links.json").write_bytes(content)
    with pytest.raises(ConfigError, match="the link index .* is malformed"):
        store.links()


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\x00garbage-but-long-enough-to-pass-a-length-test", b"short", b"a b" * 20]
)
def test_serve_refuses_a_damaged_api_token_file(hcli, content):
    path = token_file(hcli.data_dir, "bank")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    try:
        assert "API token" in refused(hcli, "serve", "--port", str(free_port()), account="bank")
    finally:
        path.unlink()


def test_trips_verify_refuses_a_log_nested_too_deeply_with_its_line(hcli, tmp_path):
    (tmp_path / "deep.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    (tmp_path / "bin.json").write_bytes(b"\x00\xff" * 10)
    lines = [
        f"{UNKNOWN},deep.json,31.2,121.4,30.2,120.1",
        f"{'0x' + '22' * 32},bin.json,31.2,121.4,30.2,120.1",
        f"{'0x' + '33' * 32},,91,0,0,0",
        f"{'0x' + '44' * 32},,nan,0,0,0",
        f"{'0x' + '55' * 32},../x.json,0,0,0,0",
    ]
    path = tmp_path / "trips.csv"
    path.write_text("\n".join([TRIPS_HEADER, *lines]) + "\n")
    err = refused(hcli, "trips", "verify", str(path), account="orc")
    assert "line 2: deep.json: not a trip log (JSON nested too deeply)" in err
    assert "line 3: bin.json" in err and "line 4: origin_lat must lie in [-90, 90]" in err
    assert "line 5: origin_lat must lie in" in err and "line 6: trip_log '../x.json' climbs out of" in err


def test_trips_verify_by_a_non_oracle_sends_nothing(hcli, tmp_path):
    path = tmp_path / "trips.csv"
    path.write_text("\n".join([TRIPS_HEADER, f"{UNKNOWN},,31.2,121.4,30.2,120.1"]) + "\n")
    assert "is not on the ledger" in refused(hcli, "trips", "verify", str(path), account="plat")


@pytest.mark.parametrize(
    ("step", "account"),
    [
        ("confirm", "plat"),
        ("confirm", "outsider"),
        ("pay", "carr"),
        ("confirm-receipt", "plat"),
        ("dispute", "outsider"),
    ],
)
def test_a_lifecycle_step_by_the_wrong_party_sends_nothing(hcli, tmp_path, step, account):
    ref = f"ROLE-{step}-{account}"
    hcli("payouts", "submit", str(write(tmp_path, [prow(ref)])), account="plat")
    extra = ("--reason", "late") if step == "dispute" else ()
    err = refused(hcli, "payouts", step, pid(ref), *extra, account=account)
    assert "nothing was sent" in err or "cannot" in err
    assert hcli.json("payouts", "show", pid(ref))["status"] == "Recorded"


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("admit-validator", "member,signer\nplat,0x" + "16" * 20 + "\n"),
        ("admit", "member,org,roles\n0x" + "98" * 20 + ",uscc:NEWORG,SHIPPER\n"),
    ],
)
def test_a_file_of_proposals_by_a_non_committee_member_is_refused_even_when_open_already(hcli, tmp_path, kind, content):
    path = tmp_path / "proposals.csv"
    path.write_text(content)
    assert hcli.json("members", "propose", kind, "--file", str(path), account="c1")[0]["status"] == "proposed"
    for account in ("ship", "outsider"):  # was "1 open already", exit 0, for anyone
        assert "is not an active COMMITTEE member" in refused(
            hcli, "members", "propose", kind, "--file", str(path), account=account
        )


def test_a_paid_date_in_the_future_says_so(hcli, tmp_path):
    hcli("payouts", "submit", str(write(tmp_path, [prow("FUT-1")])), account="plat")
    err = refused(hcli, "payouts", "pay", pid("FUT-1"), "--paid-date", day(30), account="plat")
    assert "a payment in the future cannot be declared" in err and "before it was recorded" not in err


def test_a_file_submitted_with_evidence_root_drives_the_lifecycle_with_it(hcli, tmp_path):
    """The lifecycle commands take --evidence-root like submit (without it the same file could not be used)."""
    docs = tmp_path / "docs"
    write(docs, [], "unused.csv")
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    path = csvs / "p.csv"
    path.write_text("\n".join([HEADER, prow("ROOT-1", evidence="evidence/waybill-1.txt")]) + "\n")
    hcli("payouts", "submit", str(path), "--evidence-root", str(docs), account="plat")
    assert "evidence file evidence/waybill-1.txt not found" in refused(
        hcli, "payouts", "confirm", "--file", str(path), account="carr"
    )
    assert "--evidence-root goes with --file" in refused(
        hcli, "payouts", "confirm", pid("ROOT-1"), "--evidence-root", str(docs), account="carr"
    )
    out = hcli.json("payouts", "confirm", "--file", str(path), "--evidence-root", str(docs), account="carr")
    assert out["done"] == 1 and hcli.json("payouts", "show", pid("ROOT-1"))["status"] == "Confirmed"


def test_concurrent_submits_of_one_file_record_each_payout_once(hcli, tmp_path):
    """Three processes submit the same file at once: each ends with exit 0 or one error line saying which rows
    did not land; a rerun completes the rest and every payout is on chain exactly once."""
    path = write(tmp_path, [prow(f"CC-{i}") for i in range(12)])
    argv = [CREDITSHARE, "payouts", "submit", str(path), "--account", "plat", "--batch-size", "4"]
    procs = [
        subprocess.Popen(argv, env=hcli.subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1) and "Traceback" not in err, err
        assert proc.returncode == 0 or err.startswith("error: "), err
    again = hcli.json("payouts", "submit", str(path), account="plat")
    assert again["recorded"] + again["already_on_chain"] == 12
    assert hcli.json("payouts", "submit", str(path), account="plat")["already_on_chain"] == 12
    assert len(hcli.json("payouts", "show", "driver:D1")["payouts"]) >= 12
    ids = [p["id"] for p in hcli.json("payouts", "show", "uscc:PLAT1")["payouts"]]
    assert len(ids) == len(set(ids)) and {pid(f"CC-{i}") for i in range(12)} <= set(ids)


def test_evidence_put_refuses_a_file_over_the_limit_before_reading_it(hcli, tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_FILE_BYTES + 1)
    assert "the limit is" in refused(hcli, "evidence", "put", str(big))


@pytest.mark.ipfs
def test_ipfs_init_refuses_to_drop_a_running_node(hcli):
    from creditshare.core import ipfs
    from creditshare.core.errors import ConfigError

    try:
        ipfs.kubo_binary()
    except ConfigError as err:
        pytest.skip(str(err))
    hcli("ipfs", "init", "--nodes", "2")
    hcli("ipfs", "up", "--node", "1")
    try:
        assert "node(s) 1 of the network run and --nodes 1 would leave them out" in refused(
            hcli, "ipfs", "init", "--nodes", "1"
        )
        assert len(ipfs.load_network(hcli.data_dir)) == 2
    finally:
        hcli("ipfs", "down")
    assert len(hcli.json("ipfs", "init", "--nodes", "1")["nodes"]) == 1  # stopped: shrinking is fine
    import shutil

    shutil.rmtree(hcli.data_dir / "ipfs")


def test_serve_on_a_port_that_is_taken_is_one_error_line(hcli):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = refused(hcli, "serve", "--port", str(port), account="bank")
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "cannot listen on" in refused(hcli, "serve", "--host", "no-such-host.invalid", "--public", account="bank")
