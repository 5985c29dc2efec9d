"""Bad input through the real CLI (issue #13, findings 2, 3, 4): every malformed file or environment fault is
one `error:` line naming the file (and the line where known), exit code 1, no traceback, and nothing is
sent (the block number does not move)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from brownie import web3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from creditshare.cli import _Root
from tests.cli.helpers import EXAMPLES, row, write_csv

CREDITSHARE = str(Path(sys.executable).parent / "creditshare")
HEADER = "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence"


def refused(cli, *args: str, account: str | None = "plat") -> str:
    """Runs a command that must fail cleanly without sending anything; returns its stderr."""
    block = web3.eth.block_number
    result = cli(*args, account=account, ok=False)
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert web3.eth.block_number == block
    return result.stderr


# -- settlement files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evidence", "message"),
    [
        ("../../../etc/passwd", "line 3: evidence '../../../etc/passwd' climbs out of"),
        ("/etc/passwd", "line 3: evidence '/etc/passwd' is an absolute path"),
        ("evidence/../../outside.txt", "line 3: evidence 'evidence/../../outside.txt' climbs out of"),
        ("leak.txt", "line 3: evidence 'leak.txt': leak.txt is a symlink that leads out of"),
        ("evidence/up/outside.txt", "line 3: evidence 'evidence/up/outside.txt': up is a symlink that leads out of"),
        ("evidence", "line 3: evidence 'evidence' is not a regular file"),
    ],
)
def test_evidence_outside_the_csv_folder_is_refused(cli, tmp_path, evidence, message):
    folder = tmp_path / "batch"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("someone else's file")
    path = write_csv(folder, [row("EV-OK"), row("EV-BAD", evidence=evidence)])
    (folder / "leak.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "evidence" / "up").symlink_to("../..")
    stderr = refused(cli, "settlements", "submit", str(path))
    assert message in stderr and "nothing was sent" in stderr


def test_a_symlink_inside_the_folder_is_accepted(cli, tmp_path):
    path = write_csv(tmp_path, [row("EV-LINK", evidence="waybill.txt")])
    (tmp_path / "waybill.txt").symlink_to(tmp_path / "evidence" / "waybill-2.txt")
    assert cli.json("settlements", "submit", str(path), account="plat")["submitted"] == 1


def test_evidence_root_confines_paths_to_another_folder(cli, tmp_path):
    """--evidence-root DIR: evidence names resolve inside DIR instead of the CSV's folder, and may not leave it."""
    docs = tmp_path / "docs"
    shutil.copytree(EXAMPLES / "evidence", docs)
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    path = csvs / "s.csv"
    path.write_text("\n".join([HEADER, row("ROOT-1", evidence="waybill-1.txt")]) + "\n")
    stderr = refused(cli, "settlements", "submit", str(path))  # relative to the CSV's folder: not there
    assert "line 2: evidence file waybill-1.txt not found in" in stderr
    out = cli.json("settlements", "submit", str(path), "--evidence-root", str(docs), account="plat")
    assert out["submitted"] == 1
    path.write_text("\n".join([HEADER, row("ROOT-2", evidence="../csvs/s.csv")]) + "\n")
    stderr = refused(cli, "settlements", "submit", str(path), "--evidence-root", str(docs))
    assert "line 2: evidence '../csvs/s.csv' climbs out of" in stderr


def test_bom_and_crlf_are_accepted(cli, tmp_path):
    write_csv(tmp_path, [])
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + row("BOM-1") + "\r\n").encode())
    assert cli.json("settlements", "submit", str(path), account="plat")["submitted"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((HEADER + "\n" + row("LAT-1", carrier="driver:Jos\xe9")).encode("latin-1"), "line 2: byte 0xE9 is not UTF-8"),
        ((HEADER + ",amount_fen\n" + row("DUP-COL") + ",5\n").encode(), "column(s) named twice: amount_fen"),
        ((HEADER + "\r" + row("CR-1") + "\r").encode(), "line 1: a carriage return without a line feed"),
        ((HEADER + "\n" + row("NUL-1") + "\x00\n").encode(), "line 2: NUL byte"),
        ((HEADER + "\n" + row("Q-1", carrier='driver:"D1"') + "\n").encode(), "line 2: a quote inside an unquoted"),
        ((HEADER + "\n" + row("D-1", invoice="20260105") + "\n").encode(), "got '20260105'"),
        ((HEADER + "\n" + row("D-2", due="2026-W02-1") + "\n").encode(), "got '2026-W02-1'"),
        (b"", "is empty; the first line must be the header"),
    ],
    ids=["latin1", "duplicate-column", "lone-cr", "nul", "quote", "basic-date", "week-date", "empty"],
)
def test_malformed_settlement_files_are_one_error(cli, tmp_path, data, message):
    write_csv(tmp_path, [])
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    stderr = refused(cli, "settlements", "submit", str(path))
    assert str(path) in stderr and message in stderr


def test_a_stray_quote_in_a_large_file_names_its_line(cli, tmp_path):
    rows = [row(f"BIG-{i:05d}", carrier=f"driver:D{i % 50}") for i in range(2900)]  # ~275 KB
    rows[1450] = rows[1450].replace("driver:", '"driver:')
    path = write_csv(tmp_path, rows, "big.csv")
    assert path.stat().st_size > 250_000
    stderr = refused(cli, "settlements", "submit", str(path))
    assert f"{path}: line 1452: a quoted field is never closed" in stderr


def test_lifecycle_files_go_through_the_same_checks(cli, tmp_path):
    path = write_csv(tmp_path, [row("LC-1", evidence="/etc/passwd")])
    stderr = refused(cli, "settlements", "confirm", "--file", str(path), account="ship")
    assert "line 2: evidence '/etc/passwd' is an absolute path" in stderr


# -- keystores and other files ---------------------------------------------------------------------------


@pytest.fixture
def broken_keystores(cli):
    keystore = cli.data_dir / "keystore"
    good = json.loads((keystore / "plat.json").read_text())
    made = {
        "truncated": (keystore / "truncated.json", (keystore / "plat.json").read_text()[:80]),
        "nocrypto": (keystore / "nocrypto.json", json.dumps({k: v for k, v in good.items() if k != "crypto"})),
    }
    for path, text in made.values():
        path.write_text(text)
    yield {name: path for name, (path, _) in made.items()}
    for path, _ in made.values():
        path.unlink()


@pytest.mark.parametrize(("name", "message"), [("truncated", "not JSON"), ("nocrypto", "no 'crypto' section")])
def test_a_damaged_keystore_is_one_error_in_account_and_keys_list(cli, tmp_path, broken_keystores, name, message):
    path = write_csv(tmp_path, [row("KS-1")])
    stderr = refused(cli, "settlements", "submit", str(path), account=name)
    assert f"keystore {broken_keystores[name]} is damaged: {message}" in stderr
    assert message in refused(cli, "keys", "list", account=None)


def test_a_malformed_model_card_is_one_error(cli, tmp_path):
    card = tmp_path / "card.json"
    card.write_text('{"schema": "creditshare.scorecard/1", "features": [')
    stderr = refused(cli, "model", "register", str(card), account="c1")
    assert f"{card}: model card is not valid JSON" in stderr


# -- environment faults ----------------------------------------------------------------------------------


def test_a_data_folder_that_cannot_be_written_is_one_error(cli, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    result = cli("--data-dir", str(blocker), "keys", "new", "someone", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: the data folder {blocker} is not a folder")
    data = tmp_path / "data"
    data.mkdir()
    (data / "keystore").write_text("a file where the keystore folder should be")
    result = cli("--data-dir", str(data), "keys", "new", "someone", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write keystore {data}/keystore/someone.json")


def test_an_unreachable_node_is_one_error(cli, tmp_path):
    env = {**cli.subprocess_env(), "CREDITSHARE_NETWORK": "local", "CREDITSHARE_LOCAL_PORT": "9"}
    done = subprocess.run([CREDITSHARE, "members", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot reach the local chain")


# -- the boundary itself ---------------------------------------------------------------------------------

probe = typer.Typer(cls=_Root)


@probe.callback()
def _probe_root(ctx: typer.Context, debug: bool = typer.Option(False, "--debug")) -> None:
    from creditshare.cli.context import State

    ctx.obj = State(network=None, data_dir=None, json=False, debug=debug)


@probe.command("fail")
def _probe_fail(kind: str) -> None:
    if kind == "oserror":
        open("/nonexistent/creditshare/file")  # noqa: SIM115
    if kind == "unicode":
        b"caf\xe9".decode("utf-8")
    if kind == "json":
        json.loads('{"a": ')
    if kind == "url":
        raise ConnectionError("cannot connect to http://user:secret@node:8545/?apikey=123")
    if kind == "exit":
        raise typer.Exit(3)
    raise KeyError("a bug")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("oserror", "error: /nonexistent/creditshare/file: No such file or directory\n"),
        ("unicode", "error: an input is not UTF-8 text: byte 0xE9 at offset 3\n"),
        ("json", "error: an input is not valid JSON: Expecting value (line 1, column 7)\n"),
        ("url", "error: cannot connect to http://***@node:8545/?*** (ConnectionError)\n"),
        ("bug", "error: unexpected KeyError: 'a bug' -- this is a bug in creditshare; run again with --debug"),
    ],
)
def test_the_cli_boundary_turns_escaped_errors_into_one_line(kind, message):
    result = CliRunner().invoke(probe, ["fail", kind], catch_exceptions=False)
    assert result.exit_code == 1 and result.stderr.startswith(message) and result.stderr.count("\n") == 1
    with pytest.raises(Exception) as info:  # noqa: PT011 - whichever the probe raised
        CliRunner().invoke(probe, ["--debug", "fail", kind], catch_exceptions=False)
    assert not isinstance(info.value, SystemExit)


def test_the_real_cli_process_has_no_traceback_on_a_bad_file(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe" + HEADER.encode("utf-16-le"))
    shutil.copytree(EXAMPLES / "evidence", tmp_path / "evidence")
    done = subprocess.run(
        [CREDITSHARE, "settlements", "submit", str(path), "--account", "plat"],
        env=cli.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr == f"error: {path}: line 1: NUL byte; this is not a text file\n"


def test_the_cli_boundary_keeps_exit_codes_and_usage_errors():
    assert CliRunner().invoke(probe, ["fail", "exit"], catch_exceptions=False).exit_code == 3
    assert CliRunner().invoke(probe, ["fail"], catch_exceptions=False).exit_code == 2  # missing argument


VALID_FILE = (
    "\ufeff" + HEADER + "\r\n" + row("FZ-1") + "\r\n" + row("FZ-2", evidence="evidence/waybill-2.txt") + "\r\n"
).encode()


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID_FILE)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'\x00\r\n",./:-019aZ\xe9\xff'))
        if draw(st.booleans()):
            data[at] = byte
        else:
            data[at:at] = bytes([byte])
    return bytes(data)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(mutated_file(), st.binary(max_size=200)))
def test_any_settlement_file_is_sent_or_refused_in_one_line(cli, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    write_csv(folder, [])
    path = folder / "f.csv"
    path.write_bytes(data)
    block = web3.eth.block_number
    result = cli("settlements", "submit", str(path), "--dry-run", account="plat", ok=False)
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr and "unexpected" not in result.stderr
    if result.exit_code:
        assert result.stderr.startswith("error: ")
    assert web3.eth.block_number == block
