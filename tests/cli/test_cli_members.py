"""Keys, deployment and governance through the CLI."""

from __future__ import annotations

from creditshare.ids import subject_id, to_hex


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
    assert set(first["contracts"]) == {"Consortium", "SettlementLedger"}


def test_deploy_rejects_bad_threshold(cli):
    result = cli("deploy", "--committee", "c1=uscc:C1", "--threshold", "2", "--force", account="c1", ok=False)
    assert result.exit_code == 1 and "threshold must be between 1 and the committee size 1" in result.stderr


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
    result = cli("members", "propose", "admit", "--member", "outsider", "--org", "uscc:X", "--role", "KING",
                 account="c1", ok=False)
    assert "unknown role 'KING'" in result.stderr
    result = cli("members", "propose", "crown", account="c1", ok=False)
    assert "unknown proposal kind 'crown'" in result.stderr


def test_missing_password_is_a_clear_error(cli):
    env = {**cli.env, "CREDITSHARE_PASSWORD": None, "CREDITSHARE_PASSWORD_FILE": None}
    result = cli.runner.invoke(__import__("creditshare.cli", fromlist=["app"]).app,
                               ["members", "approve", "1", "--account", "c1"], env=env)
    assert result.exit_code == 1 and "CREDITSHARE_PASSWORD" in result.stderr


def test_wrong_password_is_a_clear_error(cli):
    env = {**cli.env, "CREDITSHARE_PASSWORD": "wrong"}
    result = cli.runner.invoke(__import__("creditshare.cli", fromlist=["app"]).app,
                               ["members", "approve", "1", "--account", "c1"], env=env)
    assert result.exit_code == 1 and "wrong password" in result.stderr
