"""Multi-batch commands are all or nothing (issue #13, finding 1): every batch is checked against the chain
before the first transaction, and a refusal names its rows; if the chain changes between the check and the
send, the command names the rows that landed and those that did not, and a rerun completes the rest."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brownie import web3

from creditshare.bindings.data_bus import DataBus, purpose_id
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import settlement_id, subject_id, to_hex
from creditshare.core.keys import load_account
from tests.cli.helpers import Cli, row, write_csv

ZERO = "0x" + "00" * 32


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def status_of(cli: Cli, ref: str) -> str | None:
    result = cli("--json", "settlements", "show", sid(ref), ok=False)
    return json.loads(result.stdout)["status"] if result.exit_code == 0 else None


def rows(prefix: str, count: int, **fields: str) -> list[str]:
    return [row(f"{prefix}-{i:04d}", **fields) for i in range(count)]


@pytest.fixture(scope="module")
def big(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """On chain, submitted by the platform: 400 settlements of SHIP1 (first.csv) and 1 of SHIP2 (last.csv);
    all.csv holds the 401."""
    folder = tmp_path_factory.mktemp("big")
    first, last = rows("BIG", 400), [row("BIG-LAST", shipper="uscc:SHIP2")]
    paths = {
        "all": write_csv(folder, first + last, "all.csv"),
        "first": write_csv(folder, first, "first.csv"),
        "last": write_csv(folder, last, "last.csv"),
    }
    cli("settlements", "submit", str(paths["all"]), account="plat")
    return paths


def refused(cli: Cli, *args: str, account: str) -> str:
    """Runs a command that must be refused whole: exit 1, one error, no traceback, no new block."""
    before = web3.eth.block_number
    result = cli(*args, account=account, ok=False)
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    assert web3.eth.block_number == before, "a refused command sent a transaction"
    return str(result.stderr)


def test_submit_of_401_rows_with_a_bad_last_row_sends_nothing(cli, tmp_path):
    path = write_csv(tmp_path, [*rows("S401", 400), row("S401-BAD", carrier=ZERO)])
    err = refused(cli, "settlements", "submit", str(path), account="plat")
    assert "line 402: SettlementLedgerMissingSubject" in err and "nothing was sent" in err
    assert "line 2:" not in err  # only the bad row is named
    assert status_of(cli, "S401-0000") is None and status_of(cli, "S401-0399") is None


def test_a_dry_run_of_submit_runs_the_contracts_checks_too(cli, tmp_path):
    path = write_csv(tmp_path, [*rows("DRY", 3), row("DRY-BAD", carrier=ZERO)])
    err = refused(cli, "settlements", "submit", str(path), "--dry-run", account="plat")
    assert "line 5: SettlementLedgerMissingSubject" in err
    good = write_csv(tmp_path, rows("DRY", 3), "good.csv")
    before = web3.eth.block_number
    assert cli.json("settlements", "submit", str(good), "--dry-run", account="plat")["would_submit"] == 3
    assert web3.eth.block_number == before


def test_submit_in_batches_of_one_sends_nothing_when_the_second_would_fail(cli, tmp_path):
    path = write_csv(tmp_path, [row("B1-OK"), row("B1-BAD", carrier=ZERO)])
    err = refused(cli, "settlements", "submit", str(path), "--batch-size", "1", account="plat")
    assert "line 3: SettlementLedgerMissingSubject" in err
    assert status_of(cli, "B1-OK") is None
    # fixed, the file goes through whole
    fixed = write_csv(tmp_path, [row("B1-OK"), row("B1-BAD", carrier="driver:D2")], "fixed.csv")
    out = cli.json("settlements", "submit", str(fixed), "--batch-size", "1", account="plat")
    assert out["submitted"] == 2 and status_of(cli, "B1-BAD") == "Invoiced"


def test_confirm_of_400_plus_1_rows_of_another_shipper_confirms_nothing(cli, big):
    err = refused(cli, "settlements", "confirm", "--file", str(big["all"]), account="ship")
    assert "line 402: SettlementLedgerNotParty" in err and sid("BIG-LAST")[2:] in err
    assert status_of(cli, "BIG-0000") == "Invoiced" and status_of(cli, "BIG-0399") == "Invoiced"


def test_multi_batch_pay_and_dispute_are_refused_whole(cli, big):
    cli("settlements", "confirm", "--file", str(big["first"]), account="ship")
    cli("settlements", "confirm", "--file", str(big["last"]), account="ship2")
    err = refused(cli, "settlements", "pay", "--file", str(big["all"]), account="ship")
    assert "line 402: SettlementLedgerNotParty" in err
    err = refused(cli, "settlements", "dispute", "--file", str(big["all"]), "--reason", "short", account="ship")
    assert "line 402: SettlementLedgerNotParty" in err
    assert {status_of(cli, r) for r in ("BIG-0000", "BIG-0399", "BIG-LAST")} == {"Confirmed"}
    # the payer of each part declares its own
    assert cli.json("settlements", "pay", "--file", str(big["first"]), account="ship")["done"] == 400
    assert cli.json("settlements", "pay", "--file", str(big["last"]), account="ship2")["done"] == 1
    assert status_of(cli, "BIG-LAST") == "PaymentDeclared"


def test_members_admit_file_with_a_row_the_contract_refuses_sends_nothing(cli, tmp_path):
    count = len(cli.json("members", "proposals"))
    path = tmp_path / "admit.csv"
    path.write_text(
        "member,org,roles\n"
        "0x00000000000000000000000000000000000000a1,uscc:NEW1,SHIPPER\n"
        "0x0000000000000000000000000000000000000000,uscc:NEW2,SHIPPER\n"
        "0x00000000000000000000000000000000000000a3,uscc:NEW3,CARRIER\n"
    )
    err = refused(cli, "members", "propose", "admit", "--file", str(path), account="c1")
    assert "line 3: ConsortiumZeroAddress" in err and "nothing was sent" in err
    assert len(cli.json("members", "proposals")) == count


def test_members_approve_of_several_with_one_refused_sends_nothing(cli):
    first = cli.json(
        "members",
        "propose",
        "admit",
        "--member",
        "0x" + "b1" * 20,
        "--org",
        "uscc:AP1",
        "--role",
        "SHIPPER",
        account="c1",
    )["id"]
    second = cli.json(
        "members",
        "propose",
        "admit",
        "--member",
        "0x" + "b2" * 20,
        "--org",
        "uscc:AP2",
        "--role",
        "SHIPPER",
        account="c1",
    )["id"]
    # the outsider is no committee member: every approval would be refused
    err = refused(cli, "members", "approve", str(first), str(second), account="outsider")
    assert f"proposal {first}: ConsortiumNotCommittee" in err and f"proposal {second}: ConsortiumNotCommittee" in err
    assert not any(p["executed"] for p in cli.json("members", "proposals") if p["id"] in (first, second))


def test_consented_access_in_batches_records_nothing_when_one_subject_lacks_consent(cli, monkeypatch):
    """`consent access` in batches (of one here, through the binding: the CLI's are 200): one subject without
    consent stops every batch before the first is sent."""
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    purpose = "credit-line"
    cli(
        "consent", "grant", "--lender", "bank", "--purpose", purpose, "--scope", "score", "--days", "30", account="ship"
    )
    settings = load_settings("development", cli.data_dir)
    client = ChainClient(settings)
    bank = load_account(settings.keystore_dir, "bank")
    before = web3.eth.block_number
    with pytest.raises(InvalidInput, match="no valid consent of 1 subject"):
        DataBus(client).access(
            bank, [subject_id("uscc:SHIP1"), subject_id("uscc:SHIP2")], 1, purpose_id(purpose), batch=1
        )
    assert web3.eth.block_number == before


def address_of(cli: Cli, org: str) -> str:
    return str(next(m["address"] for m in cli.json("members", "list") if m["org_id"] == to_hex(subject_id(org))))


@contextlib.contextmanager
def suspended_before_the_second_call(
    cli: Cli, org: str, proposer: str = "c1", approver: str = "c2"
) -> Iterator[list[int]]:
    """Before the second transaction of the next batched command, the committee suspends the member of `org`
    (two real CLI processes, from the committee's accounts): that transaction and the later ones fail."""
    exe = Path(sys.executable).parent / "creditshare"
    member = address_of(cli, org)
    fired: list[int] = []

    def run(account: str, *args: str) -> dict:
        env = {**cli.subprocess_env(), "CREDITSHARE_ACCOUNT": account}
        done = subprocess.run([str(exe), "--json", *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def hook(index: int) -> None:
        if index == 1 and not fired:
            fired.append(index)
            proposal = run(proposer, "members", "propose", "suspend", "--member", member)
            run(approver, "members", "approve", str(proposal["id"]))

    ChainClient.before_send = hook
    try:
        yield fired
    finally:
        ChainClient.before_send = None


@pytest.fixture
def suspend_plat_before_the_second_batch(cli: Cli) -> Iterator[list[int]]:
    with suspended_before_the_second_call(cli, "uscc:PLAT1") as fired:
        yield fired


def test_a_chain_change_between_check_and_send_names_the_landed_rows_and_a_rerun_completes(
    cli, tmp_path, suspend_plat_before_the_second_batch
):
    path = write_csv(tmp_path, [row("CC-1"), row("CC-2"), row("CC-3")])
    result = cli("settlements", "submit", str(path), "--batch-size", "1", account="plat", ok=False)
    assert suspend_plat_before_the_second_batch == [1]
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    err = result.stderr
    assert "the chain changed after the check: 1 row(s) submitted and 2 not" in err
    assert "submitted: line 2\n" in err and "not submitted: lines 3-4" in err
    assert "SettlementLedgerNotActiveMember" in err or "SettlementLedgerWrongRole" in err
    assert "nothing was sent" not in err
    assert [status_of(cli, r) for r in ("CC-1", "CC-2", "CC-3")] == ["Invoiced", None, None]
    # the committee reinstates the platform; the same command completes the rest, without duplicates
    plat = next(m["address"] for m in cli.json("members", "list") if m["org_id"] == to_hex(subject_id("uscc:PLAT1")))
    proposal = cli.json("members", "propose", "reinstate", "--member", plat, account="c1")
    cli("members", "approve", str(proposal["id"]), account="c2")
    out = cli.json("settlements", "submit", str(path), "--batch-size", "1", account="plat")
    assert out["submitted"] == 2 and out["already_on_chain"] == 1
    assert [status_of(cli, r) for r in ("CC-1", "CC-2", "CC-3")] == ["Invoiced"] * 3


def test_a_lifecycle_step_cut_by_a_chain_change_names_its_lines_and_a_rerun_completes(
    cli, big, suspend_plat_before_the_second_batch
):
    """A dispute of 401 settlements is two batches (400 + 1); the platform is suspended before the second."""
    result = cli("settlements", "dispute", "--file", str(big["all"]), "--reason", "short", account="plat", ok=False)
    assert suspend_plat_before_the_second_batch == [1]
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    err = result.stderr
    assert "the chain changed after the check: 400 row(s) disputed and 1 not" in err
    assert "disputed: lines 2-401\n" in err and "not disputed: line 402" in err
    assert status_of(cli, "BIG-0399") == "Disputed" and status_of(cli, "BIG-LAST") == "Invoiced"
    plat = next(m["address"] for m in cli.json("members", "list") if m["org_id"] == to_hex(subject_id("uscc:PLAT1")))
    proposal = cli.json("members", "propose", "reinstate", "--member", plat, account="c1")
    cli("members", "approve", str(proposal["id"]), account="c2")
    out = cli.json("settlements", "dispute", "--file", str(big["all"]), "--reason", "short", account="plat")
    assert (out["done"], out["already"]) == (1, 400)
    assert status_of(cli, "BIG-LAST") == "Disputed"


@pytest.fixture
def without_simulate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client as on a node without eth_simulateV1 (an older Besu or geth): each call is checked alone
    against the latest state (ChainClient.check_calls); the calls still go to the real Anvil."""
    monkeypatch.setattr(ChainClient, "_simulate", lambda self, calls, account: None)


def test_without_eth_simulate_every_batch_is_still_checked_before_the_first_is_sent(
    cli, big, tmp_path, without_simulate
):
    path = write_csv(tmp_path, [*rows("NS", 400), row("NS-BAD", carrier=ZERO)])
    err = refused(cli, "settlements", "submit", str(path), account="plat")
    assert "line 402: SettlementLedgerMissingSubject" in err and status_of(cli, "NS-0000") is None
    err = refused(cli, "settlements", "confirm", "--file", str(big["all"]), account="ship")
    assert "line 402: SettlementLedgerNotParty" in err and status_of(cli, "BIG-0000") == "Invoiced"
    # and a good file goes through, with the gas of the first batch's estimate scaled to the others
    good = write_csv(tmp_path, [row("NS-A"), row("NS-B")], "good.csv")
    assert cli.json("settlements", "submit", str(good), "--batch-size", "1", account="plat")["submitted"] == 2
    assert cli.json("settlements", "confirm", "--file", str(big["first"]), account="ship")["done"] == 400


def test_every_lifecycle_step_run_twice_sends_nothing_the_second_time(cli, tmp_path):
    """What makes a rerun after a partial write safe: each step skips the records already at its target."""
    from brownie import chain

    def twice(*args: str, account: str) -> None:
        first = cli.json("settlements", *args, account=account)
        assert first["done"] == 2, first
        before = web3.eth.block_number
        again = cli.json("settlements", *args, account=account)
        assert (again["done"], again["already"]) == (0, 2), again
        assert web3.eth.block_number == before

    files = {
        name: write_csv(tmp_path, [row(f"TW-{name}-1"), row(f"TW-{name}-2")], f"{name}.csv")
        for name in ("paid", "final", "late", "fight")
    }
    for path in files.values():
        cli("settlements", "submit", str(path), account="plat")
        twice("confirm", "--file", str(path), account="ship")
    twice("pay", "--file", str(files["paid"]), account="ship")
    twice("confirm-payment", "--file", str(files["paid"]), account="plat")
    twice("overdue", "--file", str(files["late"]), account="plat")
    twice("resolve", "--defaulted", "--file", str(files["late"]), account="c1")
    twice("dispute", "--file", str(files["fight"]), "--reason", "short", account="plat")
    twice("resolve", "--file", str(files["fight"]), account="c1")
    cli("settlements", "pay", "--file", str(files["final"]), account="ship")
    chain.sleep(8 * 86_400)
    chain.mine()
    twice("finalize", "--file", str(files["final"]), account="bank")


def test_members_admit_cut_by_a_chain_change_names_its_lines_and_a_rerun_completes(cli, tmp_path):
    """Committee member c1 opens three admit proposals; c2 and c3 suspend c1 before its second is sent."""
    path = tmp_path / "admit.csv"
    path.write_text("member,org,roles\n" + "".join(f"0x{'c' + str(i) * 39},uscc:CUT{i},SHIPPER\n" for i in range(1, 4)))
    with suspended_before_the_second_call(cli, "uscc:C1", proposer="c2", approver="c3") as fired:
        result = cli("members", "propose", "admit", "--file", str(path), account="c1", ok=False)
    assert fired == [1] and result.exit_code == 1 and "Traceback" not in result.stderr
    err = result.stderr
    assert "the chain changed after the check: 1 proposed and 2 not" in err and "ConsortiumNotCommittee" in err
    assert "proposed: line 2\n" in err and "not proposed: lines 3-4" in err
    proposal = cli.json("members", "propose", "reinstate", "--member", address_of(cli, "uscc:C1"), account="c2")
    cli("members", "approve", str(proposal["id"]), account="c3")
    again = cli.json("members", "propose", "admit", "--file", str(path), account="c1")
    assert [r["status"] for r in again] == ["open already", "proposed", "proposed"]
