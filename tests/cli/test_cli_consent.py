"""Consent and the audit trail through the real CLI on Anvil: grant (idempotent), revoke, expiry, consented
reads recorded on chain and listed by `audit`, and every refusal (no consent, wrong scope, wrong role)."""

from __future__ import annotations

import re

from brownie import chain

from creditshare.core.ids import subject_id, to_hex

PURPOSE = "receivable-financing"


def words(text: str) -> str:
    """Help text with rich's box and line wrapping undone."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def address(cli, name: str) -> str:
    return next(k["address"] for k in cli.json("keys", "list") if k["name"] == name)


def grant(cli, who: str = "ship", *, scope: str = "score,list", days: str = "30", purpose: str = PURPOSE):
    return cli.json(
        "consent", "grant", "--lender", "bank", "--purpose", purpose, "--scope", scope, "--days", days, account=who
    )


def test_grant_is_recorded_and_granting_again_changes_nothing(cli):
    first = grant(cli)
    assert first["granted"] and first["state"] == "valid" and first["scope"] == ["score", "list"]
    assert first["subject"] == to_hex(subject_id("uscc:SHIP1")) and first["lender"] == address(cli, "bank")
    assert first["purpose"] == PURPOSE and first["expires_at"] % 86_400 == 0
    again = grant(cli)
    assert again["granted"] is False and again["already"] and again["id"] == first["id"]
    shown = cli.json("consent", "show", "uscc:SHIP1")["consents"]
    assert [c["id"] for c in shown] == [first["id"]] and shown[0]["state"] == "valid"
    # a wider scope is a new grant that replaces the earlier one
    wider = grant(cli, scope="all")
    assert wider["granted"] and wider["id"] == first["id"] + 1


def test_consented_read_is_logged_and_audit_lists_it(cli):
    c1 = grant(cli, "ship")
    c2 = grant(cli, "ship2")
    read = cli.json(
        "consent", "access", "uscc:SHIP1", "uscc:SHIP2", "--purpose", PURPOSE, "--scope", "score,list", account="bank"
    )
    assert read["accesses"] == 2 and read["lender"] == address(cli, "bank")
    by_subject = {s["subject"]: s for s in read["subjects"]}
    s1 = by_subject[to_hex(subject_id("uscc:SHIP1"))]
    assert s1["consent_id"] == c1["id"] and s1["score"]["scored"] is False and s1["list_entries"] == []
    assert by_subject[to_hex(subject_id("uscc:SHIP2"))]["consent_id"] == c2["id"]
    assert s1["tx"] == by_subject[to_hex(subject_id("uscc:SHIP2"))]["tx"]  # one batched transaction
    log = cli.json("audit", "uscc:SHIP1", "--as", "ship")["accesses"]
    assert len(log) == 1
    assert (log[0]["lender"], log[0]["purpose"], log[0]["consent_id"], log[0]["scope"]) == (
        address(cli, "bank"),
        PURPOSE,
        c1["id"],
        ["score", "list"],
    )
    assert cli.json("audit", "uscc:SHIP1", "--as", "c1")["accesses"] == log  # the committee may read it too
    assert "Accesses to the data of uscc:SHIP1 (1)" in cli("audit", "uscc:SHIP1", "--as", "ship").stdout


def test_audit_reads_the_log_in_pages_and_access_says_what_each_scope_releases(cli):
    grant(cli, "ship")
    reads = [
        cli.json("consent", "access", "uscc:SHIP1", "--purpose", PURPOSE, "--scope", "score", account="bank")
        for _ in range(3)
    ]
    assert reads[0]["releases"] == {"score": "public to every member"}
    assert "sealed details" in words(cli("consent", "access", "--help").stdout)
    whole = cli.json("audit", "uscc:SHIP1", "--as", "ship")["accesses"]
    page = cli.json("audit", "uscc:SHIP1", "--as", "ship", "--offset", str(len(whole) - 2), "--limit", "1")
    assert page["offset"] == len(whole) - 2 and page["accesses"] == whole[-2:-1]
    assert cli.json("audit", "uscc:SHIP1", "--as", "ship", "--offset", str(len(whole)))["accesses"] == []
    bad = cli("audit", "uscc:SHIP1", "--as", "ship", "--limit", "0", ok=False)
    assert bad.exit_code != 0
    assert "not authentication" in words(cli("audit", "--help").stdout)


def test_audit_is_refused_to_anyone_else(cli):
    for who in ("bank", "ship2", "outsider"):
        result = cli("audit", "uscc:SHIP1", "--as", who, ok=False)
        assert result.exit_code == 1 and "DataBusNotAuthorised" in result.stderr


def test_access_without_consent_is_refused_and_records_nothing(cli):
    grant(cli, "ship", scope="score")
    refused = cli("consent", "access", "uscc:SHIP1", "uscc:SHIP2", "--purpose", PURPOSE, account="bank", ok=False)
    assert refused.exit_code == 1 and "no valid consent of 1 subject(s)" in refused.stderr
    assert to_hex(subject_id("uscc:SHIP2")) in refused.stderr and "nothing was read" in refused.stderr
    beyond = cli(
        "consent", "access", "uscc:SHIP1", "--purpose", PURPOSE, "--scope", "settlements", account="bank", ok=False
    )
    assert beyond.exit_code == 1 and "no valid consent" in beyond.stderr
    other = cli("consent", "access", "uscc:SHIP1", "--purpose", "marketing", account="bank", ok=False)
    assert other.exit_code == 1 and "no valid consent" in other.stderr
    assert cli.json("audit", "uscc:SHIP1", "--as", "ship")["accesses"] == []


def test_only_lenders_read_through_the_bus(cli):
    grant(cli, "ship")
    for who in ("plat", "outsider"):
        result = cli("consent", "access", "uscc:SHIP1", "--purpose", PURPOSE, account=who, ok=False)
        assert result.exit_code == 1 and "not an active LENDER member" in result.stderr


def test_revoked_consent_stops_access_and_only_the_subject_revokes(cli):
    c = grant(cli, "ship")
    cli("consent", "access", "uscc:SHIP1", "--purpose", PURPOSE, account="bank")
    wrong = cli("consent", "revoke", str(c["id"]), account="ship2", ok=False)
    assert wrong.exit_code == 1 and "DataBusNotSubject" in wrong.stderr
    assert cli.json("consent", "revoke", str(c["id"]), account="ship")["revoked"] is True
    assert cli.json("consent", "revoke", str(c["id"]), account="ship")["already"] is True
    assert cli.json("consent", "show", "uscc:SHIP1")["consents"][-1]["state"] == "revoked"
    refused = cli("consent", "access", "uscc:SHIP1", "--purpose", PURPOSE, account="bank", ok=False)
    assert refused.exit_code == 1 and "no valid consent" in refused.stderr
    assert len(cli.json("audit", "uscc:SHIP1", "--as", "ship")["accesses"]) == 1  # only the access before


def test_expired_consent_stops_access(cli):
    grant(cli, "ship2", days="1")
    cli("consent", "access", "uscc:SHIP2", "--purpose", PURPOSE, account="bank")
    chain.sleep(3 * 86_400)
    chain.mine()
    assert cli.json("consent", "show", "uscc:SHIP2")["consents"][-1]["state"] == "expired"
    refused = cli("consent", "access", "uscc:SHIP2", "--purpose", PURPOSE, account="bank", ok=False)
    assert refused.exit_code == 1 and "no valid consent" in refused.stderr
    assert len(cli.json("audit", "uscc:SHIP2", "--as", "ship2")["accesses"]) == 1


def test_grant_refusals(cli):
    to_non_lender = cli(
        "consent",
        "grant",
        "--lender",
        "plat",
        "--purpose",
        PURPOSE,
        "--scope",
        "score",
        "--days",
        "5",
        account="ship",
        ok=False,
    )
    assert to_non_lender.exit_code == 1 and "DataBusNotLender" in to_non_lender.stderr
    by_outsider = cli(
        "consent",
        "grant",
        "--lender",
        "bank",
        "--purpose",
        PURPOSE,
        "--scope",
        "score",
        "--days",
        "5",
        account="outsider",
        ok=False,
    )
    assert by_outsider.exit_code == 1 and "not an active consortium member" in by_outsider.stderr
    bad_scope = cli(
        "consent",
        "grant",
        "--lender",
        "bank",
        "--purpose",
        PURPOSE,
        "--scope",
        "everything",
        "--days",
        "5",
        account="ship",
        ok=False,
    )
    assert bad_scope.exit_code == 1 and "scope must be a comma-separated subset" in bad_scope.stderr
    no_expiry = cli(
        "consent", "grant", "--lender", "bank", "--purpose", PURPOSE, "--scope", "score", account="ship", ok=False
    )
    assert no_expiry.exit_code == 1 and "either --days N or --until" in no_expiry.stderr
    past = cli(
        "consent",
        "grant",
        "--lender",
        "bank",
        "--purpose",
        PURPOSE,
        "--scope",
        "score",
        "--until",
        "2020-01-01",
        account="ship",
        ok=False,
    )
    assert past.exit_code == 1 and "would expire" in past.stderr
    assert (
        "--days must be a positive"
        in cli(
            "consent",
            "grant",
            "--lender",
            "bank",
            "--purpose",
            PURPOSE,
            "--scope",
            "score",
            "--days",
            "0",
            account="ship",
            ok=False,
        ).stderr
    )
    unknown = cli("consent", "revoke", "999", account="ship", ok=False)
    assert unknown.exit_code == 1 and "consent 999 does not exist" in unknown.stderr
    assert cli.json("consent", "show", "uscc:SHIP1")["consents"] == []  # nothing was granted


def test_the_key_release_gate_needs_a_logged_list_read_at_or_before_the_view_under_a_valid_consent(cli, monkeypatch):
    """DataBus.consented_list_access, the check a maintainer makes before it wraps a member subject's content key
    to a paying viewer: a DataAccessed record of that viewer for that subject, in scope list, in a block up to the
    view's, under a consent that still covers the list scope."""
    from brownie import web3

    from creditshare.bindings.data_bus import SCOPES, DataBus, purpose_id
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from creditshare.core.keys import load_account

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("development", cli.data_dir)
    bus = DataBus(ChainClient(settings))
    bank_account = load_account(settings.keystore_dir, "bank")
    sid, bank = subject_id("uscc:SHIP1"), address(cli, "bank")
    c = grant(cli, "ship", scope="score,list")
    bus.access(bank_account, [sid], SCOPES["score"], purpose_id(PURPOSE))
    assert bus.consented_list_access(sid, bank, web3.eth.block_number) is None  # a score read releases nothing
    bus.access(bank_account, [sid], SCOPES["list"], purpose_id(PURPOSE))
    logged = web3.eth.block_number
    found = bus.consented_list_access(sid, bank, logged)
    assert found is not None and found["consent_id"] == c["id"] and found["block"] == logged
    assert bus.consented_list_access(sid, bank, logged - 1) is None  # a view before the read gets no key
    assert bus.consented_list_access(sid, address(cli, "ship2"), logged) is None  # nor another lender
    assert bus.consented_list_access(subject_id("uscc:SHIP2"), bank, logged) is None  # nor another subject
    cli("consent", "revoke", str(c["id"]), account="ship")
    assert bus.consented_list_access(sid, bank, logged) is None  # nor a read under a revoked consent
