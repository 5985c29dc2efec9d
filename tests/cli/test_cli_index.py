"""`creditshare index status|rebuild` through the real CLI on the test Anvil."""

from __future__ import annotations

from tests.cli.helpers import Cli, row, write_csv


def test_status_then_rebuild_reads_the_ledger_and_counts_its_rows(cli, tmp_path):
    path = write_csv(tmp_path, [row("IX-1"), row("IX-2", amount="5000")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    before = cli.json("index", "status")
    assert before["behind"] > 0  # status reads nothing new: the blocks just mined are not indexed yet
    assert before["path"].endswith(f"{before['chain_id']}-{before['ledger'].lower()}.sqlite3")
    rebuilt = cli.json("index", "rebuild")
    assert rebuilt["rows"]["settlements"] >= 2 and rebuilt["rows"]["changes"] >= 2
    assert rebuilt["last_block"] == rebuilt["head"] and rebuilt["behind"] == 0
    assert rebuilt["events"] >= 4 and rebuilt["events_per_second"] > 0
    after = cli.json("index", "status", "--check")
    assert after["integrity"] == "ok" and after["rows"] == rebuilt["rows"] and after["bytes"] > 0
    text = cli("index", "status").stdout
    assert "last indexed block" in text and "settlements" in text


def test_status_with_confirmations_reports_how_far_behind_it_may_read(cli):
    info = cli.json("index", "status", "--confirmations", "3")
    assert info["confirmations"] == 3


def test_negative_confirmations_are_a_usage_error(cli):
    result = cli("index", "status", "--confirmations", "-1", ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_index_without_a_deployment_is_one_error_line(tmp_path):
    bare = Cli(tmp_path / "empty")
    result = bare("index", "status", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error:") and "not deployed" in result.stderr
    assert "Traceback" not in result.stderr


def test_confirmations_come_from_the_environment_and_a_bad_value_is_one_error_line(cli):
    env = cli.env
    try:
        cli.env = {**env, "CREDITSHARE_INDEX_CONFIRMATIONS": "2"}
        assert cli.json("index", "status")["confirmations"] == 2
        assert cli.json("index", "status", "--confirmations", "0")["confirmations"] == 0
        cli.env = {**env, "CREDITSHARE_INDEX_CONFIRMATIONS": "two"}
        result = cli("index", "status", ok=False)
        assert result.exit_code == 1 and result.stderr.startswith("error: CREDITSHARE_INDEX_CONFIRMATIONS must be")
        assert "Traceback" not in result.stderr
    finally:
        cli.env = env
