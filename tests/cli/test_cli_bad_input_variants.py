"""Neighbours of issue #13's findings, tried by hand through the real CLI and fixed: integers past a uint256, non-ASCII
digits, a consent expiry no date can print, keystore names and work factors that slipped through, and admission
files whose repeated rows were refused without their line. Each refusal is one `error:` line (or typer's usage
error, exit 2), no traceback, and the chain does not move (block number and the state concerned)."""

from __future__ import annotations

import pandas as pd
import pytest

from creditshare.core.keys import load_account
from creditshare.domain.training_data import read_settlement_history
from scoring.model_card import ModelCard
from scoring.synthetic import market_profile
from tests.cli.helpers import Cli, refused, row, stored, write_csv

BIG = str(2**256)  # one more than a uint256 holds


# -- integers: bounded where they are read ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "account"),
    [
        (("members", "approve", BIG), "c2"),
        (("members", "approve", "1", BIG), "c2"),
        (("token", "mint", "plat", BIG), "c1"),
        (("members", "propose", "set-threshold", "--value", BIG), "c1"),
        (("audit", "uscc:SHIP1", "--as", "ship", "--offset", BIG), None),
        (("audit", "uscc:SHIP1", "--as", "ship", "--limit", BIG), None),
    ],
    ids=["approve", "approve-second", "mint", "set-threshold", "audit-offset", "audit-limit"],
)
def test_an_integer_past_uint256_is_a_usage_error_not_an_encoding_bug(cli, args, account):
    # before: "unexpected ValueOutOfBounds ... this is a bug in creditshare" once every check had passed
    stderr = refused(cli, *args, account=account, code=2)
    assert "Invalid value" in stderr


def test_the_largest_uint256_is_still_read_by_the_contract(cli):
    stderr = refused(cli, "members", "approve", str(2**256 - 1), account="c2")
    assert "ConsortiumUnknownProposal" in stderr and "nothing was sent" in stderr


@pytest.mark.parametrize("what", ["²", "١٢", "１２"])
def test_list_show_of_non_ascii_digits_is_read_as_a_subject(cli, what):
    # before: int("²") raised ValueError ("this is a bug"); "١٢" and "１２" were read as entry 12
    stderr = refused(cli, "list", "show", what)
    assert "subject must be 'namespace:registration'" in stderr


# -- consent: an expiry past what can be printed is refused before the grant --------------------------------


def consents_of_ship(cli: Cli) -> list:
    return cli.json("consent", "show", "uscc:SHIP1")["consents"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--days", str(10**12), "--days must be at most 36500 (100 years); got 1000000000000."),
        ("--days", "36501", "--days must be at most 36500 (100 years)"),
        ("--until", "9999-12-31", "--until must be at most 36500 days (100 years) ahead; got 9999-12-31."),
    ],
)
def test_a_consent_beyond_a_hundred_years_is_refused_before_it_is_granted(cli, option, value, message):
    # before: --days 10^12 granted consent on chain (uint64 expiry), then failed printing its date (OSError)
    before = consents_of_ship(cli)
    args = ("consent", "grant", "--lender", "bank", "--purpose", "credit-assessment", "--scope", "score")
    stderr = refused(cli, *args, option, value, account="ship")
    assert message in stderr
    assert consents_of_ship(cli) == before


def test_a_consent_of_a_hundred_years_is_granted_and_printed(cli):
    args = ("consent", "grant", "--lender", "bank", "--purpose", "credit-assessment", "--scope", "score")
    result = cli(*args, "--days", "36500", account="ship")
    assert "granted consent" in result.stdout
    (consent,) = consents_of_ship(cli)
    assert consent["expires"].startswith(str(int(consent["expires"][:4])))  # a printable date, year 21xx
    assert 2100 < int(consent["expires"][:4]) < 2200


# -- keystores -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plat2\n", "plat2\r", " plat2", "plat2/x", "ş"])
def test_a_keystore_name_with_a_newline_or_other_character_is_refused_and_nothing_is_written(cli, name):
    # before: "plat2\n" passed the name check (re.match with $) and wrote keystore/"plat2\n.json"
    files = sorted((cli.data_dir / "keystore").iterdir())
    stderr = refused(cli, "keys", "new", name)
    assert "account name must be 1-64 letters, digits" in stderr
    assert sorted((cli.data_dir / "keystore").iterdir()) == files


@pytest.mark.parametrize("value", ["²", "１６", "1073741824", "524288", "0", "3", "16x", "9" * 5000])
def test_a_scrypt_work_factor_that_is_not_a_small_power_of_two_is_one_error(cli, value):
    # before: "²" was int()'s ValueError and 2^30 hashlib's "Error 2 while running scrypt", both "a bug";
    # 2^19 wrote a keystore that read_keystore then refused to unlock (n * r > 2^21)
    files = sorted((cli.data_dir / "keystore").iterdir())
    stderr = refused(cli, "keys", "new", "fresh", CREDITSHARE_SCRYPT_N=value)
    assert "CREDITSHARE_SCRYPT_N must be a power of two from 2 to 262144" in stderr
    assert sorted((cli.data_dir / "keystore").iterdir()) == files


def test_the_largest_scrypt_work_factor_writes_a_keystore_that_unlocks(cli, monkeypatch):
    cli.env["CREDITSHARE_SCRYPT_N"] = str(2**18)
    try:
        created = cli.json("keys", "new", "slowkey")
    finally:
        cli.env["CREDITSHARE_SCRYPT_N"] = "16"
    monkeypatch.setenv("CREDITSHARE_PASSWORD", cli.env["CREDITSHARE_PASSWORD"])
    assert load_account(cli.data_dir / "keystore", "slowkey").address == created["address"]


@pytest.mark.parametrize("value", ["²", "１", "99999999999999999999", "-1"])
def test_a_bad_index_confirmation_depth_is_one_error(cli, value):
    stderr = refused(cli, "index", "status", CREDITSHARE_INDEX_CONFIRMATIONS=value)
    assert "CREDITSHARE_INDEX_CONFIRMATIONS must be a whole number of blocks from 0 to 10000" in stderr


# -- admission files: a repeated member or organisation is named at its line ---------------------------------


def open_proposals(cli: Cli) -> int:
    return len(cli.json("members", "proposals"))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["{a},uscc:NEW1,LENDER", "{a},uscc:NEW2,LENDER"], "line 3: member {a} is listed twice (first on line 2)."),
        (["{a},uscc:NEW1,LENDER", "{b},uscc:NEW1,LENDER"], "line 3: organisation uscc:NEW1 is listed twice"),
        (["{a},uscc:NEW1,"], "line 2: roles is empty: admitting a member needs at least one role."),
        (["{a},uscc:NEW1,;;"], "line 2: roles is empty"),
    ],
    ids=["member-twice", "org-twice", "no-roles", "only-separators"],
)
def test_an_admission_file_with_a_repeated_or_empty_row_names_its_line_and_sends_nothing(cli, tmp_path, rows, message):
    # before: "0x… is listed twice." / "0x…: admitting a member needs at least one role." without file or line
    for name in ("newa", "newb"):
        if not (cli.data_dir / "keystore" / f"{name}.json").exists():
            cli("keys", "new", name)
    path = tmp_path / "admit.csv"
    path.write_text("\n".join(["member,org,roles", *(r.format(a="newa", b="newb") for r in rows)]) + "\n")
    before = open_proposals(cli)
    stderr = refused(cli, "members", "propose", "admit", "--file", str(path), account="c1")
    assert stderr.startswith(f"error: {path}: ") and message.format(a="newa") in stderr
    assert open_proposals(cli) == before


def test_a_role_named_twice_in_one_row_is_one_role(cli, tmp_path):
    cli("keys", "new", "twice")
    path = tmp_path / "admit.csv"
    path.write_text("member,org,roles\ntwice,uscc:TWICE1,LENDER;lender\n")
    assert "1 proposed" in cli("members", "propose", "admit", "--file", str(path), account="c1").stdout


# -- model register: the registry's refusal comes before the card is stored -----------------------------------


def test_a_registration_the_registry_refuses_stores_nothing_not_even_the_card(cli, tmp_path):
    # before: the card went to the evidence store (with IPFS, pinned on the members' nodes) and then the
    # registry refused the account (ModelRegistryNotRegistrar)
    card = tmp_path / "card.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(card))
    docs = stored(cli)
    for account in ("outsider", "ship"):
        stderr = refused(cli, "model", "register", str(card), account=account)
        assert "ModelRegistryNotRegistrar" in stderr and "nothing was sent" in stderr
        assert stored(cli) == docs
    assert cli.json("model", "show")["models"] == []
    registered = cli.json("model", "register", str(card), account="c1")
    assert registered["done"] == "registered" and len(stored(cli)) > len(docs)


@pytest.mark.parametrize(
    "args",
    [
        ("model", "train", "--synthetic", "1500", "--seed", "-1"),
        ("model", "train", "--synthetic", "1500", "--version", str(2**32)),
        ("report", "--html", "out", "--synthetic", "1500", "--seed", "-1"),
        ("model", "train", "--synthetic", str(10**9)),
        ("report", "--html", "out", "--synthetic", str(10**9)),
    ],
    ids=["seed-negative", "version-past-uint32", "report-seed-negative", "market-too-large", "report-market-too-large"],
)
def test_a_seed_or_version_out_of_range_is_a_usage_error(cli, tmp_path, args):
    # before: --seed -1 was numpy's "expected non-negative integer" ("a bug"); --version 2^40 wrote a card that
    # model register then failed to encode (uint32) with "unexpected ValueOutOfBounds"; --synthetic 10^9 set out
    # to draw a market no memory holds
    stderr = refused(cli, *args, "--out" if args[0] == "model" else "--gas", str(tmp_path / "x.json"), code=2)
    assert "Invalid value" in stderr and not (tmp_path / "x.json").exists()


def test_the_demo_refuses_a_negative_seed_before_it_starts(cli):
    # before: the demo set up its chain and only then failed in numpy ("a bug")
    stderr = refused(cli, "demo", "--seed", "-1", code=2)
    assert "Invalid value for '--seed'" in stderr


def test_a_card_whose_version_the_registry_cannot_hold_is_refused_before_anything_is_stored(cli, tmp_path):
    card = tmp_path / "card.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(card))
    big = tmp_path / "big.json"
    ModelCard({**ModelCard.load(card).to_dict(), "version": 2**40, "model_hash": None}).save(big)
    docs = stored(cli)
    stderr = refused(cli, "model", "register", str(big), account="c1")
    assert f"{big}: the card's version must be 1 to 4294967295; got 1099511627776." in stderr
    assert stored(cli) == docs and cli.json("model", "show")["models"] == []


# -- model train --settlements FILE: the one CSV reader ------------------------------------------------------

HISTORY = "settlement_id,shipper,platform,carrier,amount,invoice_date,due_date,paid_date,status,status_date"
GOOD = "s1,uscc:A,uscc:P,driver:D,100,1735689600,1738368000,1737331200,Paid,1737331200"


def test_a_settlement_history_reads_as_pandas_read_it_bom_crlf_and_evidence_included(tmp_path):
    market = market_profile("standard", n_subjects=200, seed=1).settlements
    path = tmp_path / "h.csv"
    market.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_settlement_history(path), market)
    path.write_bytes(
        b"\xef\xbb\xbf" + market.assign(evidence="0x" + "ab" * 32).to_csv(index=False, lineterminator="\r\n").encode()
    )
    read = read_settlement_history(path)
    pd.testing.assert_frame_equal(read.drop(columns="evidence"), market)
    assert (read["evidence"] == "0x" + "ab" * 32).all()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((HISTORY + ",amount\n" + GOOD + ",5\n").encode(), "line 1: column(s) named twice: amount"),
        ((HISTORY + ",colour\n" + GOOD + ",red\n").encode(), "line 1: unknown column(s) colour"),
        (
            (HISTORY + "\n" + GOOD.replace("uscc:A", "uscc:\xe9") + "\n").encode("latin-1"),
            "line 2: byte 0xE9 is not UTF-8",
        ),
        (
            (HISTORY + "\n" + GOOD.replace("uscc:A", 'uscc:"A') + "\n").encode(),
            "line 2: a quote inside an unquoted field",
        ),
        (
            (HISTORY + "\n" + GOOD.replace("uscc:A", '"uscc:A') + "\n" + GOOD + "\n").encode(),
            "line 2: a quoted field is never closed",
        ),
        ((HISTORY + "\n" + GOOD + "\n").encode().replace(b"uscc:A", b"uscc:\x00A"), "line 2: NUL byte"),
        ((HISTORY + "\n" + GOOD.replace(",100,", ",12.5,") + "\n").encode(), "line 2: amount must be a whole number"),
        ((HISTORY + "\n" + GOOD.replace(",100,", ",-100,") + "\n").encode(), "line 2: amount must be a whole number"),
        ((HISTORY + "\n" + GOOD.replace(",100,", ",1e400,") + "\n").encode(), "line 2: amount must be a whole number"),
        (
            (HISTORY + "\n" + GOOD.replace(",100,", f",{10**18},") + "\n").encode(),
            "line 2: amount must be a whole number below 10^18",
        ),
        (
            (HISTORY + "\n" + GOOD.replace("1735689600", "2025-01-01") + "\n").encode(),
            "line 2: invoice_date must be a whole number",
        ),
        ((HISTORY + "\n" + GOOD.replace(",100,", ",,") + "\n").encode(), "line 2: amount must be a whole number"),
    ],
    ids=[
        "dup-column",
        "unknown-column",
        "latin1",
        "stray-quote",
        "unclosed-quote",
        "nul",
        "decimal",
        "negative",
        "overflow",
        "past-int64",
        "iso-date",
        "empty",
    ],
)
def test_a_malformed_settlement_history_is_one_error_naming_the_file_and_line(cli, tmp_path, content, message):
    # before: pandas read it: a repeated column became `amount.1`, a stray quote or a NUL byte was text, and the
    # errors that did come named no line
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    stderr = refused(
        cli, "model", "train", "--settlements", str(path), "--as-of", "2025-06-01", "--out", str(tmp_path / "c.json")
    )
    assert stderr.startswith(f"error: {path}") and message in stderr, stderr
    assert not (tmp_path / "c.json").exists()


def test_a_subjects_file_that_is_not_utf8_is_one_error_with_its_line(cli, tmp_path):
    path = tmp_path / "subjects.txt"
    path.write_bytes(b"uscc:SHIP1\n\xe9\n")
    assert f"error: {path}: line 2: byte 0xE9 is not UTF-8" in refused(cli, "score", "batch", str(path))
    path.write_bytes(b"uscc:SHIP1\x00\n")
    assert f"error: {path}: line 1: NUL byte" in refused(cli, "score", "batch", str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000, "cannot read the gas figures"),
        (b"\xe9", "cannot read the gas figures"),
        (b'{"submit": 1e400}', "gas figure 'submit' must be a finite number, 0 or more; got inf."),
        (b'{"submit": NaN}', "gas figure 'submit' must be a finite number, 0 or more; got nan."),
        (b'{"submit": -Infinity}', "gas figure 'submit' must be a finite number"),
        (b'{"submit": -1}', "gas figure 'submit' must be a finite number, 0 or more; got -1."),
        (b'{"submit": "51,000"}', "gas figure 'submit' must be a finite number"),
    ],
    ids=["nested", "latin1", "overflow", "nan", "minus-infinity", "negative", "text"],
)
def test_a_malformed_gas_figures_file_is_one_error_naming_it(cli, tmp_path, content, message):
    # before: a file nested too deeply was "an input is nested too deeply" (no file), and 1e400 or NaN reached
    # round() in the gas table: OverflowError / ValueError, "a bug"
    card = tmp_path / "card.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(card))
    gas = tmp_path / "gas.json"
    gas.write_bytes(content)
    stderr = refused(cli, "report", "--html", str(tmp_path / "out"), "--card", str(card), "--gas", str(gas))
    assert str(gas) in stderr and message in stderr, stderr


# -- settlements submit: the ledger's refusal comes before any document is stored ------------------------------


def test_a_file_the_ledger_refuses_stores_no_evidence(cli, tmp_path):
    # before: every row's evidence went to the evidence store (with IPFS, to the members' nodes) and then the
    # ledger refused the file (here the last row's zero carrier id) and nothing was submitted
    path = write_csv(tmp_path, [row("EV-STORE-1"), row("EV-STORE-2", carrier="0x" + "00" * 32)])
    docs = stored(cli)
    stderr = refused(cli, "settlements", "submit", str(path), account="plat")
    assert "line 3: SettlementLedgerMissingSubject" in stderr and "nothing was sent" in stderr
    assert stored(cli) == docs
    fixed = write_csv(tmp_path, [row("EV-STORE-1"), row("EV-STORE-2", carrier="driver:D2")], "fixed.csv")
    assert cli.json("settlements", "submit", str(fixed), account="plat")["submitted"] == 2
    assert len(stored(cli)) > len(docs)


@pytest.mark.parametrize("when", ["1970-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
def test_an_as_of_date_outside_the_ledgers_dates_is_refused(cli, tmp_path, when):
    # before: 1970 drew a synthetic market with negative dates ("invoice_date must not be negative") and 9999
    # trained a card on a market in the year 9999
    for source in (("--synthetic", "500"), ("--settlements", "chain")):
        stderr = refused(cli, "model", "train", *source, "--as-of", when, "--out", str(tmp_path / "c.json"))
        assert f"--as-of must be from 2000-01-01 to 2100-12-31, the ledger's dates; got {when}." in stderr
    assert not (tmp_path / "c.json").exists()


def test_the_last_as_of_date_is_taken(cli, tmp_path):
    result = cli(
        "model", "train", "--settlements", "chain", "--as-of", "2100-12-31", "--out", str(tmp_path / "c.json"), ok=False
    )
    assert "--as-of must be" not in result.stderr and "Traceback" not in result.stderr
