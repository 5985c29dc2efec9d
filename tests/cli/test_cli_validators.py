"""Validators through the CLI: the committee admits, suspends and reinstates a validator organisation with
its node's Clique signer address (flags or a CSV), and `members validators` lists them."""

from __future__ import annotations

from eth_utils import to_checksum_address

SIGNER = to_checksum_address("0x" + "5a" * 20)
SIGNER2 = to_checksum_address("0x" + "5b" * 20)


def proposed(cli, *args: str) -> dict:
    """Opens a proposal with c1 and executes it with c2's approval (2 of 3)."""
    p = cli.json("members", "propose", *args, account="c1")
    cli("members", "approve", str(p["id"]), account="c2")
    return p


def test_admit_validator_for_a_member_then_suspend_and_reinstate(cli):
    assert cli.json("members", "validators") == []
    p = proposed(cli, "admit-validator", "--member", "plat", "--signer", SIGNER.lower())
    assert p["kind"] == "admit-validator" and int(p["value"]) == int(SIGNER, 16)
    plat = cli.json("members", "show", "plat")["address"]
    assert cli.json("members", "validators") == [{"member": plat, "signer": SIGNER, "active": True}]
    proposed(cli, "suspend-validator", "--member", "plat")
    assert cli.json("members", "validators")[0]["active"] is False
    assert cli.json("members", "show", "plat")["active"] is True  # the member stays; its node stops sealing
    proposed(cli, "reinstate-validator", "--member", "plat")
    assert cli.json("members", "validators")[0]["active"] is True
    text = cli("members", "validators").stdout
    assert "Validators" in text and SIGNER[:12] in text and "active" in text  # the table may shorten addresses


def test_admit_validator_admits_a_new_organisation_with_org_and_role(cli):
    cli("keys", "new", "node5")
    proposed(
        cli, "admit-validator", "--member", "node5", "--signer", SIGNER, "--org", "uscc:NODE5", "--role", "PLATFORM"
    )
    member = cli.json("members", "show", "uscc:NODE5")
    assert member["roles"] == ["PLATFORM"] and member["active"] is True
    assert cli.json("members", "validators")[0]["member"] == member["address"]


def test_a_bad_signer_address_is_refused_before_sending(cli):
    before = len(cli.json("members", "proposals"))
    for bad in ("0x1234", "not-an-address", "0x" + "00" * 20, "0x" + "zz" * 20):
        result = cli(
            "members", "propose", "admit-validator", "--member", "plat", "--signer", bad, account="c1", ok=False
        )
        assert result.exit_code == 1
        assert result.stderr.startswith("error: signer") and "is not a 20-byte hex address" in result.stderr
        assert "Traceback" not in result.stderr
    missing = cli("members", "propose", "admit-validator", "--member", "plat", account="c1", ok=False)
    assert "admit-validator needs --signer" in missing.stderr
    stray = cli("members", "propose", "suspend", "--member", "plat", "--signer", SIGNER, account="c1", ok=False)
    assert "--signer goes with admit-validator only" in stray.stderr
    assert len(cli.json("members", "proposals")) == before


def test_a_signer_already_used_is_refused_before_sending(cli):
    proposed(cli, "admit-validator", "--member", "plat", "--signer", SIGNER)
    before = len(cli.json("members", "proposals"))
    result = cli(
        "members", "propose", "admit-validator", "--member", "bank", "--signer", SIGNER, account="c1", ok=False
    )
    assert result.exit_code == 1
    assert f"signer {SIGNER} is registered already, to validator" in result.stderr
    again = cli(
        "members", "propose", "admit-validator", "--member", "plat", "--signer", SIGNER2, account="c1", ok=False
    )
    assert "is a validator already" in again.stderr
    assert len(cli.json("members", "proposals")) == before


def test_validator_proposals_of_a_non_committee_member_are_refused(cli):
    result = cli(
        "members", "propose", "admit-validator", "--member", "plat", "--signer", SIGNER, account="plat", ok=False
    )
    assert result.exit_code == 1 and "ConsortiumNotCommittee(caller=" in result.stderr
    proposed(cli, "admit-validator", "--member", "plat", "--signer", SIGNER)
    result = cli("members", "propose", "suspend-validator", "--member", "plat", account="bank", ok=False)
    assert result.exit_code == 1 and "ConsortiumNotCommittee(caller=" in result.stderr


def test_suspend_or_reinstate_refuses_a_non_validator_and_a_wrong_state(cli):
    result = cli("members", "propose", "suspend-validator", "--member", "bank", account="c1", ok=False)
    assert result.exit_code == 1 and "is not a validator" in result.stderr
    proposed(cli, "admit-validator", "--member", "plat", "--signer", SIGNER)
    result = cli("members", "propose", "reinstate-validator", "--member", "plat", account="c1", ok=False)
    assert result.exit_code == 1 and "ConsortiumValidatorNotSuspended" in result.stderr
    extra = cli(
        "members", "propose", "suspend-validator", "--member", "plat", "--role", "LENDER", account="c1", ok=False
    )
    assert "suspend-validator takes --member only" in extra.stderr


def test_admit_validator_of_a_stranger_needs_org_and_role(cli):
    result = cli(
        "members", "propose", "admit-validator", "--member", "outsider", "--signer", SIGNER, account="c1", ok=False
    )
    assert "is not a member: admitting it as a validator needs --org and --role" in result.stderr
    half = cli(
        "members",
        "propose",
        "admit-validator",
        "--member",
        "outsider",
        "--signer",
        SIGNER,
        "--org",
        "uscc:O",
        account="c1",
        ok=False,
    )
    assert "--org and --role together" in half.stderr


def test_validators_from_a_file_are_pipelined_and_idempotent(cli, tmp_path):
    cli("keys", "new", "node6")
    rows = tmp_path / "validators.csv"
    rows.write_text(f"member,signer,org,roles\nplat,{SIGNER},,\nnode6,{SIGNER2},uscc:NODE6,PLATFORM\n")
    opened = cli.json("members", "propose", "admit-validator", "--file", str(rows), account="c1")
    assert [o["status"] for o in opened] == ["proposed", "proposed"]
    again = cli.json("members", "propose", "admit-validator", "--file", str(rows), account="c1")
    assert {o["status"] for o in again} == {"open already"}
    approved = cli.json("members", "approve", *[str(o["proposal"]) for o in opened], account="c2")
    assert [a["status"] for a in approved] == ["executed", "executed"]
    assert [v["signer"] for v in cli.json("members", "validators")] == [SIGNER, SIGNER2]
    after = cli.json("members", "propose", "admit-validator", "--file", str(rows), account="c1")
    assert {o["status"] for o in after} == {"already a validator"}


def test_a_validators_file_with_bad_rows_sends_nothing(cli, tmp_path):
    before = len(cli.json("members", "proposals"))
    bad = tmp_path / "bad.csv"
    bad.write_text(f"member,signer,org,roles\nplat,0x12,,\nnosuchkey,{SIGNER},,\nbank,{SIGNER2},uscc:B,\n")
    result = cli("members", "propose", "admit-validator", "--file", str(bad), account="c1", ok=False)
    assert result.exit_code == 1 and "3 bad row(s), nothing sent" in result.stderr
    for line in ("line 2", "line 3", "line 4"):
        assert line in result.stderr
    twice = tmp_path / "twice.csv"
    twice.write_text(f"member,signer\nplat,{SIGNER}\nbank,{SIGNER}\n")
    result = cli("members", "propose", "admit-validator", "--file", str(twice), account="c1", ok=False)
    assert f"signer {SIGNER} is listed twice" in result.stderr
    proposed(cli, "admit-validator", "--member", "plat", "--signer", SIGNER)
    used = tmp_path / "used.csv"
    used.write_text(f"member,signer\nbank,{SIGNER}\n")
    result = cli("members", "propose", "admit-validator", "--file", str(used), account="c1", ok=False)
    assert result.exit_code == 1 and "nothing sent" in result.stderr and "is registered already" in result.stderr
    assert len(cli.json("members", "proposals")) == before + 1


def test_members_validators_reads_every_page(cli, tmp_path):
    """More validators than one page of the binding's reads (16): all listed, in order of admission."""
    names = [f"v{i}" for i in range(18)]
    cli("keys", "new", *names)
    signers = [to_checksum_address(f"0x{i + 1:040x}") for i in range(18)]
    rows = tmp_path / "many.csv"
    rows.write_text(
        "member,signer,org,roles\n"
        + "".join(f"{n},{s},uscc:V{i},CARRIER\n" for i, (n, s) in enumerate(zip(names, signers, strict=True)))
    )
    opened = cli.json("members", "propose", "admit-validator", "--file", str(rows), account="c1")
    cli("members", "approve", *[str(o["proposal"]) for o in opened], account="c2")
    listed = cli.json("members", "validators")
    assert [v["signer"] for v in listed] == signers and all(v["active"] for v in listed)
