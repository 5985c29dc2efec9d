"""Keys, deployment and governance through the CLI."""

from __future__ import annotations

from brownie import web3

from creditshare.core.ids import subject_id, to_hex


def test_keys_list_shows_names_and_addresses_only(cli):
    keys = cli.json("keys", "list")
    names = {k["name"] for k in keys}
    assert {"c1", "plat", "ship", "bank"} <= names
    assert all(k["address"].startswith("0x") and len(k["address"]) == 42 for k in keys)
    assert "crypto" not in cli("keys", "list").stdout


def test_keys_new_refuses_an_existing_name(cli):
    result = cli("keys", "new", "plat", ok=False)
    assert result.exit_code == 1
    assert "exists already" in result.stderr


def test_keys_import_reads_the_key_from_stdin(cli):
    key = "0x" + "11" * 32
    out = cli("--json", "keys", "import", "imported", input=key + "\n")
    assert '"address": "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"' in out.stdout


def test_deploy_is_idempotent(cli):
    first = cli.json("deploy", "--committee", "c1=uscc:C1", "--threshold", "1", account="c1")
    second = cli.json("deploy", "--committee", "c1=uscc:C1", "--threshold", "1", account="c1")
    assert first["contracts"] == second["contracts"]
    assert set(first["contracts"]) == {
        "Consortium",
        "SettlementLedger",
        "ModelRegistry",
        "MpcJobLog",
        "ScoreOracle",
        "SettlementToken",
        "DataBus",
        "CreditList",
        "PayoutLedger",
        "TripRegistry",
    }


def test_deploy_rejects_bad_threshold(cli):
    result = cli("deploy", "--committee", "c1=uscc:C1", "--threshold", "2", "--force", account="c1", ok=False)
    assert result.exit_code == 1 and "threshold must be between 1 and the committee size 1" in result.stderr


def test_deploy_rejects_a_proposal_ttl_out_of_bounds(cli):
    for ttl in ("0", str(2**64 - 1)):
        result = cli(
            "deploy",
            "--committee",
            "c1=uscc:C1",
            "--threshold",
            "1",
            "--proposal-ttl",
            ttl,
            "--force",
            account="c1",
            ok=False,
        )
        assert result.exit_code == 1
        assert f"error: consortium.proposalTtl must be between 3600 and 7776000; got {ttl}." in result.stderr


def test_members_list_and_show(cli):
    members = cli.json("members", "list")
    by_org = {m["org_id"]: m for m in members}
    plat = by_org[to_hex(subject_id("uscc:PLAT1"))]
    assert plat["roles"] == ["PLATFORM"] and plat["active"] is True
    shown = cli.json("members", "show", "uscc:PLAT1")
    assert shown["address"] == plat["address"]
    assert cli.json("members", "show", "plat")["address"] == plat["address"]


def test_unknown_member_show_is_a_clear_error(cli):
    result = cli("members", "show", "uscc:NOBODY", ok=False)
    assert result.exit_code == 1 and "not a consortium member" in result.stderr


def test_proposal_needs_two_approvals_and_refuses_a_third(cli):
    proposal = cli.json("members", "propose", "set-threshold", "--value", "3", account="c1")
    assert proposal["executed"] is False and proposal["kind"] == "set-threshold"
    approved = cli.json("members", "approve", str(proposal["id"]), account="c3")
    assert approved["executed"] is True
    again = cli("members", "approve", str(proposal["id"]), account="c2", ok=False)
    assert again.exit_code == 1
    assert "ConsortiumProposalAlreadyExecuted(proposalId=" in again.stderr
    assert "Traceback" not in again.stderr


def test_non_committee_proposal_is_refused_readably(cli):
    result = cli("members", "propose", "set-threshold", "--value", "1", account="plat", ok=False)
    assert result.exit_code == 1 and "ConsortiumNotCommittee(caller=" in result.stderr


def test_bad_proposal_arguments_are_refused_before_sending(cli):
    result = cli("members", "propose", "admit", "--member", "outsider", "--role", "LENDER", account="c1", ok=False)
    assert "needs its organisation" in result.stderr
    result = cli(
        "members",
        "propose",
        "admit",
        "--member",
        "outsider",
        "--org",
        "uscc:X",
        "--role",
        "KING",
        account="c1",
        ok=False,
    )
    assert "unknown role 'KING'" in result.stderr
    result = cli("members", "propose", "crown", account="c1", ok=False)
    assert "unknown proposal kind 'crown'" in result.stderr


def test_out_of_range_parameter_is_refused_before_sending(cli):
    before = len(cli.json("members", "proposals"))
    for name, value, message in (
        ("consortium.proposalTtl", 2**64 - 1, "consortium.proposalTtl must be between 3600 and 7776000; got"),
        ("consortium.proposalTtl", 0, "consortium.proposalTtl must be between 3600 and 7776000; got 0."),
        ("creditList.reciprocityDiscountBps", 10_001, "creditList.reciprocityDiscountBps must be between 0 and 10000"),
        ("oracle.threshold", 1, "oracle.threshold must be between 2 and"),
        ("creditlist.viewFee", 1, "unknown governed parameter 'creditlist.viewFee'"),
    ):
        result = cli(
            "members", "propose", "set-parameter", "--parameter", name, "--value", str(value), account="c1", ok=False
        )
        assert result.exit_code == 1 and "error:" in result.stderr and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert len(cli.json("members", "proposals")) == before


def test_oracle_threshold_above_the_active_oracles_is_refused_before_sending(cli):
    oracles = sum("ORACLE" in m["roles"] and m["active"] for m in cli.json("members", "list"))
    before = len(cli.json("members", "proposals"))
    result = cli(
        "members",
        "propose",
        "set-parameter",
        "--parameter",
        "oracle.threshold",
        "--value",
        str(oracles + 1),
        account="c1",
        ok=False,
    )
    assert result.exit_code == 1
    assert f"oracle.threshold must be between 2 and {oracles} (the active ORACLE members)" in result.stderr
    assert len(cli.json("members", "proposals")) == before


def test_parameter_within_bounds_is_proposed(cli):
    proposal = cli.json(
        "members",
        "propose",
        "set-parameter",
        "--parameter",
        "creditList.reciprocityDiscountBps",
        "--value",
        "10000",
        account="c1",
    )
    assert proposal["kind"] == "set-parameter" and proposal["value"] == 10_000


def test_missing_password_is_a_clear_error(cli):
    env = {**cli.env, "CREDITSHARE_PASSWORD": None, "CREDITSHARE_PASSWORD_FILE": None}
    result = cli.runner.invoke(
        __import__("creditshare.cli", fromlist=["app"]).app, ["members", "approve", "1", "--account", "c1"], env=env
    )
    assert result.exit_code == 1 and "CREDITSHARE_PASSWORD" in result.stderr


def test_wrong_password_is_a_clear_error(cli):
    env = {**cli.env, "CREDITSHARE_PASSWORD": "wrong"}
    result = cli.runner.invoke(
        __import__("creditshare.cli", fromlist=["app"]).app, ["members", "approve", "1", "--account", "c1"], env=env
    )
    assert result.exit_code == 1 and "wrong password" in result.stderr


def test_mpc_job_recorded_then_attested_through_the_cli(cli, tmp_path):
    import json as _json

    from eth_utils import keccak

    from privacy.record import job_record

    members = {m["org_id"]: m["address"] for m in cli.json("members", "list")}
    plat, ship = members[to_hex(subject_id("uscc:PLAT1"))], members[to_hex(subject_id("uscc:SHIP1"))]
    record = job_record(
        job_id="xp-cli-test",
        participants=[plat, ship],
        purpose="nightly features",
        input_commitments=["0x" + keccak(text="a").hex(), "0x" + keccak(text="b").hex()],
        output_hash="0x" + keccak(text="out").hex(),
    )
    path = tmp_path / "record.json"
    path.write_text(_json.dumps(record))
    first = cli.json("mpc", "record", str(path), account="plat")
    assert first["done"] == "recorded" and first["job"]["attested_by"] == [plat]
    second = cli.json("mpc", "record", str(path), account="ship")
    assert second["done"] == "attested" and len(second["job"]["attested_by"]) == 2
    assert cli.json("mpc", "record", str(path), account="ship")["done"] == "already attested"
    outsider = cli("mpc", "record", str(path), account="bank", ok=False)
    assert outsider.exit_code == 1 and "MpcJobLogNotParticipant" in outsider.stderr
    assert cli.json("mpc", "show", record["jobId"])["output_hash"] == record["outputHash"]


def test_mpc_record_rejects_a_bad_file(cli, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"jobId": "0x12"}')
    result = cli("mpc", "record", str(path), account="plat", ok=False)
    assert result.exit_code == 1 and "lacks purposeHash" in result.stderr


def test_keys_new_creates_several_with_one_password_and_checks_names_first(cli):
    made = cli.json("keys", "new", "many1", "many2")
    assert [m["name"] for m in made] == ["many1", "many2"]
    result = cli("keys", "new", "many3", "many1", ok=False)
    assert result.exit_code == 1 and "'many1' exists already" in result.stderr
    assert "many3" not in {k["name"] for k in cli.json("keys", "list")}  # nothing created
    assert "given twice" in cli("keys", "new", "many4", "many4", ok=False).stderr


def test_admissions_from_a_file_are_pipelined_and_idempotent(cli, tmp_path):
    cli("keys", "new", "batch1", "batch2", "batch3")
    members = tmp_path / "members.csv"
    members.write_text(
        "member,org,roles\nbatch1,uscc:BATCH1,SHIPPER\nbatch2,uscc:BATCH2,CARRIER;LENDER\nbatch3,driver:B3,CARRIER\n"
    )
    opened = cli.json("members", "propose", "admit", "--file", str(members), account="c1")
    assert [o["status"] for o in opened] == ["proposed"] * 3
    ids = [str(o["proposal"]) for o in opened]
    again = cli.json("members", "propose", "admit", "--file", str(members), account="c1")
    assert [o["proposal"] for o in again] == [o["proposal"] for o in opened]  # reused, not reopened
    assert {o["status"] for o in again} == {"open already"}
    approved = cli.json("members", "approve", *ids, account="c2")
    assert [a["status"] for a in approved] == ["executed"] * 3
    assert cli.json("members", "approve", *ids, account="c3")[0]["status"] == "executed already"
    assert set(cli.json("members", "show", "batch2")["roles"]) == {"LENDER", "CARRIER"}
    after = cli.json("members", "propose", "admit", "--file", str(members), account="c1")
    assert {o["status"] for o in after} == {"already a member"}


def test_admissions_file_with_bad_rows_sends_nothing(cli, tmp_path):
    before = len(cli.json("members", "proposals"))
    bad = tmp_path / "bad.csv"
    bad.write_text("member,org,roles\nnosuchkey,uscc:X1,SHIPPER\nplat,not-an-org,SHIPPER\nship,uscc:X3,WIZARD\n")
    result = cli("members", "propose", "admit", "--file", str(bad), account="c1", ok=False)
    assert result.exit_code == 1 and "3 bad row(s), nothing sent" in result.stderr
    for line in ("line 2", "line 3", "line 4"):
        assert line in result.stderr
    header = tmp_path / "header.csv"
    header.write_text("who,org\nplat,uscc:X\n")
    assert (
        "member,org,roles" in cli("members", "propose", "admit", "--file", str(header), account="c1", ok=False).stderr
    )
    mixed = cli("members", "propose", "admit", "--file", str(bad), "--member", "plat", account="c1", ok=False)
    assert "--file admits the members listed in it" in mixed.stderr
    assert "there is no proposal 9999" in cli("members", "approve", "1", "9999", account="c2", ok=False).stderr
    cli("keys", "new", "orgthief")
    taken = tmp_path / "taken.csv"
    taken.write_text("member,org,roles\norgthief,uscc:PLAT1,SHIPPER\n")
    result = cli("members", "propose", "admit", "--file", str(taken), account="c1", ok=False)
    assert result.exit_code == 1 and "nothing sent" in result.stderr and "organisation, not" in result.stderr
    twice = tmp_path / "twice.csv"
    twice.write_text("member,org,roles\norgthief,uscc:NEWORG,SHIPPER\nship,uscc:NEWORG,SHIPPER\n")
    assert "is listed twice" in cli("members", "propose", "admit", "--file", str(twice), account="c1", ok=False).stderr
    assert len(cli.json("members", "proposals")) == before


def test_admissions_row_contradicting_a_member_on_chain_sends_nothing(cli, tmp_path):
    plat = cli.json("members", "show", "plat")
    org, held = plat["org_id"], sorted(plat["roles"])
    cli("keys", "new", "fresh1")
    block, before = web3.eth.block_number, len(cli.json("members", "proposals"))
    other = tmp_path / "other-org.csv"
    other.write_text(f"member,org,roles\nfresh1,uscc:FRESH1,SHIPPER\nplat,uscc:NOT-PLAT,{';'.join(held)}\n")
    result = cli("members", "propose", "admit", "--file", str(other), account="c1", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("error: nothing sent: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    for part in (f"{other}: line 3", plat["address"], f"organisation {org}", to_hex(subject_id("uscc:NOT-PLAT"))):
        assert part in result.stderr
    roles = tmp_path / "roles.csv"
    roles.write_text(f"member,org,roles\nplat,{org},{';'.join([*held, 'LENDER'])}\nfresh1,uscc:FRESH1,SHIPPER\n")
    result = cli("members", "propose", "admit", "--file", str(roles), account="c1", ok=False)
    assert result.exit_code == 1 and f"{roles}: line 2" in result.stderr and "(LENDER not held)" in result.stderr
    assert web3.eth.block_number == block and len(cli.json("members", "proposals")) == before  # no row proposed
    same = tmp_path / "same.csv"
    same.write_text(f"member,org,roles\nplat,{org},{';'.join(held)}\n")
    for _ in range(2):  # the same file again, and a rerun of it: skipped, nothing sent
        assert [r["status"] for r in cli.json("members", "propose", "admit", "--file", str(same), account="c1")] == [
            "already a member"
        ]
    subset = tmp_path / "subset.csv"
    subset.write_text(f"member,org,roles\nplat,{org},{held[0]}\n")
    assert cli.json("members", "propose", "admit", "--file", str(subset), account="c1")[0]["status"] == (
        "already a member"
    )
    assert web3.eth.block_number == block
