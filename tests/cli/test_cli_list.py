"""The credit list through the real CLI on Anvil: post (details sealed), paid view with the fee split, key
release, decryption by the payer only, contests both ways, withdrawals, expiry, and every rejection path.

The chain is reverted after each test (fn_isolation) but the data folder is not: each test makes its own views."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from brownie import chain
from eth_account import Account

from creditshare.core.errors import DetailsUnavailable
from creditshare.core.ids import subject_id, to_hex
from creditshare.domain import sealing as sealed

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = 86_400
TTL = 90 * DAY
MIN_STAKE = 50_000
DEPOSIT = 20_000
VIEW_FEE = 1_001  # odd: the three-way split has a remainder
FUNDS = 10_000_000
HEADER = "subject,category,amount_fen,period_from,period_to,settlements,evidence,details,stake_fen"
DETAILS = {
    "d1": b'{"invoices": ["INV-1"], "days_overdue": 96}',
    "d2": b'{"waybill": "WB-2", "claim": "refused"}',
    "d3": b"cargo damaged in transit: photos in the evidence file",
    "d4": b"fraudulent waybill",
    "d5": b"second dispute",
}


def param(cli, name: str, value: int) -> None:
    p = cli.json("members", "propose", "set-parameter", "--parameter", name, "--value", str(value), account="c1")
    cli("members", "approve", str(p["id"]), account="c2")


@pytest.fixture(scope="module")
def book(cli, tmp_path_factory):
    """Two maintainers, the governed list parameters, and tokens for everyone who pays."""
    for name, org in (("maint", "uscc:MAINT1"), ("maint2", "uscc:MAINT2")):
        cli("keys", "new", name)
        p = cli.json(
            "members", "propose", "admit", "--member", name, "--org", org, "--role", "MAINTAINER", account="c1"
        )
        cli("members", "approve", str(p["id"]), account="c2")
    for name, value in (
        ("creditList.entryTtl", TTL),
        ("creditList.minStake", MIN_STAKE),
        ("creditList.contestDeposit", DEPOSIT),
        ("creditList.viewFee", VIEW_FEE),
        ("creditList.reciprocityWindow", 30 * DAY),
        ("creditList.reciprocityDiscountBps", 2_500),
    ):
        param(cli, name, value)
    for who in ("maint", "maint2", "bank", "ship", "outsider"):
        cli("token", "mint", who, str(FUNDS), account="c1")
    folder = tmp_path_factory.mktemp("entries")
    shutil.copytree(EXAMPLES / "evidence", folder / "evidence")
    (folder / "details").mkdir()
    for name, body in DETAILS.items():
        (folder / "details" / f"{name}.txt").write_bytes(body)
    return folder


def entry_row(
    subject: str,
    details: str,
    *,
    category: str = "payment-default",
    amount: str = "3250000",
    start: str = "2025-10-01",
    end: str = "2025-12-31",
    settlements: str = "",
    evidence: str = "evidence/waybill-1.txt",
    stake: str = str(MIN_STAKE),
) -> str:
    return ",".join([subject, category, amount, start, end, settlements, evidence, f"details/{details}.txt", stake])


def write(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def address(cli, name: str) -> str:
    return next(k["address"] for k in cli.json("keys", "list") if k["name"] == name)


def entry_count(cli) -> int:
    return len(
        [
            e
            for s in ("uscc:DEBTOR1", "uscc:DEBTOR2", "uscc:SHIP1", "uscc:SHIP2")
            for e in cli.json("list", "show", s)["entries"]
        ]
    )


@pytest.fixture(scope="module")
def posted(cli, book):
    """DEBTOR1: entries 1, 2 by maint and 3 by maint2. DEBTOR2: 4 (maint), 5 (maint2)."""
    first = cli.json(
        "list",
        "post",
        str(
            write(
                book,
                "m1.csv",
                [
                    entry_row("uscc:DEBTOR1", "d1"),
                    entry_row("uscc:DEBTOR1", "d2", category="freight-dispute", amount="480000"),
                    entry_row("uscc:DEBTOR2", "d4", category="fraud", amount="150000000"),
                ],
            )
        ),
        account="maint",
    )
    second = cli.json(
        "list",
        "post",
        str(
            write(
                book,
                "m2.csv",
                [
                    entry_row(
                        "uscc:DEBTOR1",
                        "d3",
                        category="cargo-damage",
                        amount="999999",
                        evidence="evidence/waybill-2.txt",
                    ),
                    entry_row("uscc:DEBTOR2", "d5", category="freight-dispute", amount="2000"),
                ],
            )
        ),
        account="maint2",
    )
    ids = {p["line"]: p["id"] for p in first["posted"]}, {p["line"]: p["id"] for p in second["posted"]}
    return {"d1": ids[0][2], "d2": ids[0][3], "d4": ids[0][4], "d3": ids[1][2], "d5": ids[1][3]}


def test_post_seals_details_and_shows_public_facts_only(cli, book, posted):
    shown = cli.json("list", "show", "uscc:DEBTOR1")
    assert shown["subject"] == to_hex(subject_id("uscc:DEBTOR1")) and shown["active"] == 3
    by_id = {e["id"]: e for e in shown["entries"]}
    e1 = by_id[posted["d1"]]
    assert (e1["category"], e1["amount_fen"], e1["band"], e1["status"], e1["stake_fen"]) == (
        "payment-default",
        3_250_000,
        "under-100k-yuan",
        "active",
        MIN_STAKE,
    )
    assert by_id[posted["d3"]]["band"] == "under-10k-yuan"
    # the sealed blob is public in the evidence store, and holds no plaintext
    blob = sealed.SealedStore(cli.data_dir / "evidence").blob(bytes.fromhex(e1["details_commitment"][2:]))
    assert DETAILS["d1"] not in blob and b"INV-1" not in blob
    assert cli.json("token", "balance", "maint")["balance_fen"] == FUNDS - 3 * MIN_STAKE


def test_posting_the_same_file_again_posts_nothing(cli, book, posted):
    again = cli.json("list", "post", str(book / "m1.csv"), account="maint")
    assert again["posted"] == [] and sorted(a["id"] for a in again["already_posted"]) == sorted(
        [posted["d1"], posted["d2"], posted["d4"]]
    )
    dup = cli.json(
        "list", "post", str(write(book, "dup.csv", [entry_row("uscc:DEBTOR9", "d1")] * 2)), "--dry-run", account="maint"
    )
    assert len(dup["would_post"]) == 1 and dup["already_posted"][0]["duplicate_in_file"] is True


def test_view_pays_the_fee_split_per_maintainer(cli, posted):
    before = {m: cli.json("list", "balance", m)["list_balance_fen"] for m in ("maint", "maint2")}
    viewed = cli.json("list", "view", "uscc:DEBTOR1", account="bank")
    assert viewed["paid"] is True and viewed["fee_fen"] == VIEW_FEE and viewed["discount_fen"] == 0
    assert viewed["entry_ids"] == [posted["d1"], posted["d2"], posted["d3"]]
    after = {m: cli.json("list", "balance", m)["list_balance_fen"] for m in ("maint", "maint2")}
    # one share per maintainer, not per entry: 1001 / 2 = 500 each, the remainder 1 to the oldest entry's
    # maintainer (maint, who holds two of the three entries)
    assert after["maint"] - before["maint"] == 501 and after["maint2"] - before["maint2"] == 500
    assert cli.json("token", "balance", "bank")["balance_fen"] == FUNDS - VIEW_FEE
    # viewing again without new entries is skipped: nothing is paid twice
    again = cli.json("list", "view", "uscc:DEBTOR1", account="bank")
    assert again["paid"] is False and cli.json("token", "balance", "bank")["balance_fen"] == FUNDS - VIEW_FEE


def test_reciprocal_maintainer_views_at_the_discount(cli, posted):
    viewed = cli.json("list", "view", "uscc:DEBTOR2", account="maint")
    assert (viewed["fee_fen"], viewed["discount_fen"]) == (
        VIEW_FEE - VIEW_FEE * 2_500 // 10_000,
        VIEW_FEE * 2_500 // 10_000,
    )


def test_release_then_the_payer_decrypts_every_entry(cli, posted, tmp_path):
    cli("list", "view", "uscc:DEBTOR1", account="bank")
    early = cli("list", "decrypt", str(posted["d1"]), account="bank", ok=False)
    assert early.exit_code == 1 and "has not been released yet" in early.stderr
    first = cli.json("list", "release", account="maint")
    bank = next(k["address"] for k in cli.json("keys", "list") if k["name"] == "bank")
    released_to_bank = sorted(r["entry_id"] for r in first["released"] if r["viewer"] == bank)
    assert released_to_bank == [posted["d1"], posted["d2"]]  # maint's entries that bank paid for
    assert cli.json("list", "release", account="maint")["released"] == []  # idempotent
    cli("list", "release", "--subject", "uscc:DEBTOR1", account="maint2")
    for name in ("d1", "d2", "d3"):
        out = cli.json("list", "decrypt", str(posted[name]), account="bank")
        assert out["details"].encode() == DETAILS[name]
    target = tmp_path / "d3.txt"
    cli("list", "decrypt", str(posted["d3"]), "--out", str(target), account="bank")
    assert target.read_bytes() == DETAILS["d3"]
    # the maintainer reads its own entries with its own copy of the key
    assert cli.json("list", "decrypt", str(posted["d4"]), account="maint")["details"].encode() == DETAILS["d4"]


def test_a_viewer_who_did_not_pay_cannot_read_the_details(cli, posted):
    cli("list", "view", "uscc:DEBTOR1", account="bank")
    cli("list", "release", account="maint")
    for who in ("ship", "outsider"):
        result = cli("list", "decrypt", str(posted["d1"]), account=who, ok=False)
        assert result.exit_code == 1 and "has not paid to view subject" in result.stderr
    # the release step never writes a key for a non-payer ...
    store = sealed.SealedStore(cli.data_dir / "evidence")
    e1 = cli.json("list", "show", str(posted["d1"]))
    commitment = bytes.fromhex(e1["details_commitment"][2:])
    ship = next(k["address"] for k in cli.json("keys", "list") if k["name"] == "ship")
    bank = next(k["address"] for k in cli.json("keys", "list") if k["name"] == "bank")
    assert not store.has_key(commitment, ship) and store.has_key(commitment, bank)
    # ... and the key released to the payer does not open with anyone else's key
    keystore = json.loads((cli.data_dir / "keystore" / "ship.json").read_text())
    ship_key = Account.decrypt(keystore, "test-password")
    with pytest.raises(DetailsUnavailable, match="not wrapped to this account's key"):
        sealed.unwrap_key(store.key(commitment, bank), bytes(ship_key))
    # nor does the public ciphertext open with a guessed key
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(store.blob(commitment), bytes(32), subject_id("uscc:DEBTOR1"))


def test_contest_upheld_pays_the_deposit_to_the_maintainer(cli, posted):
    before = cli.json("list", "balance", "maint")["list_balance_fen"]
    contested = cli.json("list", "contest", str(posted["d2"]), "--reason", "we paid on time", account="ship")
    assert contested["contested"] and contested["deposit_fen"] == DEPOSIT
    assert cli.json("list", "contest", str(posted["d2"]), "--reason", "again", account="ship")["already"] is True
    wrong_role = cli("list", "resolve", str(posted["d2"]), "--uphold", account="bank", ok=False)
    assert wrong_role.exit_code == 1 and "CreditListWrongRole" in wrong_role.stderr
    vote = cli.json("list", "resolve", str(posted["d2"]), "--uphold", account="c1")
    assert vote["voted"] and not vote["resolved"] and vote["status"] == "contested"
    twice = cli("list", "resolve", str(posted["d2"]), "--uphold", account="c1", ok=False)
    assert twice.exit_code == 1 and "CreditListAlreadyVoted" in twice.stderr
    done = cli.json("list", "resolve", str(posted["d2"]), "--uphold", account="c2")
    assert done["resolved"] and done["status"] == "upheld"
    assert cli.json("list", "balance", "maint")["list_balance_fen"] - before == DEPOSIT
    late = cli.json("list", "resolve", str(posted["d2"]), "--overturn", account="c3")
    assert late["voted"] is False and "already upheld" in late["message"]
    assert cli.json("list", "show", "uscc:DEBTOR1")["active"] == 3  # upheld entries count


def test_contest_overturned_slashes_the_stake_to_the_contester(cli, posted):
    cli("list", "contest", str(posted["d5"]), "--reason", "not our debt", account="bank")
    cli("list", "resolve", str(posted["d5"]), "--overturn", account="c1")
    done = cli.json("list", "resolve", str(posted["d5"]), "--overturn", account="c3")
    assert done["status"] == "overturned"
    shown = cli.json("list", "show", str(posted["d5"]))
    assert shown["active"] is False and shown["stake_fen"] == 0 and shown["contest"]["overturn_votes"] == 2
    assert cli.json("list", "balance", "bank")["list_balance_fen"] == DEPOSIT + MIN_STAKE
    token_before = cli.json("token", "balance", "bank")["balance_fen"]
    out = cli.json("list", "withdraw", account="bank")
    assert (
        out["withdrawn_fen"] == DEPOSIT + MIN_STAKE and out["token_balance_fen"] == token_before + DEPOSIT + MIN_STAKE
    )
    assert cli.json("list", "withdraw", account="bank")["withdrawn_fen"] == 0  # nothing twice
    # an overturned entry no longer takes a share of the fee
    assert cli.json("list", "view", "uscc:DEBTOR2", "--again", account="bank")["entry_ids"] == [posted["d4"]]


def test_maintainers_withdraw_what_they_earned(cli, posted):
    cli("list", "view", "uscc:DEBTOR1", account="bank")
    owed = cli.json("list", "balance", "maint2")["list_balance_fen"]
    assert owed > 0
    before = cli.json("token", "balance", "maint2")["balance_fen"]
    assert cli.json("list", "withdraw", account="maint2")["withdrawn_fen"] == owed
    assert cli.json("token", "balance", "maint2")["balance_fen"] == before + owed
    assert cli("list", "withdraw", account="maint2").stdout.startswith("nothing to withdraw")


@pytest.mark.parametrize(
    "rows, message",
    [
        ([entry_row("uscc:DEBTOR1", "d1", category="gossip")], "line 2: category must be one of"),
        ([entry_row("uscc:DEBTOR1", "d1", amount="-5")], "line 2: amount_fen must be between 0"),
        ([entry_row("uscc:DEBTOR1", "d1", amount="12.5")], "line 2: amount_fen must be a whole number of fen"),
        ([entry_row("uscc:DEBTOR1", "d1", amount="+5")], "line 2: amount_fen must be a whole number of fen"),
        ([entry_row("uscc:DEBTOR1", "d1", amount="1_000")], "line 2: amount_fen must be a whole number of fen"),
        ([entry_row("uscc:DEBTOR1", "d1", amount="\uff11\uff12")], "line 2: amount_fen must be a whole number of fen"),
        ([entry_row("uscc:DEBTOR1", "d1", stake="\u0663" * 6)], "line 2: stake_fen must be a whole number of fen"),
        ([entry_row("uscc:DEBTOR1", "d1", start="2025-13-01")], "line 2: period_from must be a date"),
        (
            [entry_row("uscc:DEBTOR1", "d1", start="2025-12-01", end="2025-11-01")],
            "line 2: period_to 2025-11-01 is before",
        ),
        ([entry_row("uscc:DEBTOR1", "nope")], "line 2: details file details/nope.txt not found"),
        ([entry_row("uscc:DEBTOR1", "d1", evidence="evidence/none.txt")], "evidence file evidence/none.txt not found"),
        ([entry_row("not a subject", "d1")], "line 2: subject must be 'namespace:registration'"),
        ([entry_row("uscc:DEBTOR1", "d1", settlements="0x12")], "a settlement id must be a 0x-prefixed 32-byte"),
        ([entry_row("uscc:DEBTOR1", "d1", settlements="0x" + "ab" * 32)], "is not on the ledger"),
        ([entry_row("uscc:DEBTOR7", "d1", stake="100")], "stake_fen 100 is below the governed minimum 50000"),
    ],
)
def test_bad_entry_files_are_refused_and_post_nothing(cli, book, posted, rows, message):
    before = entry_count(cli)
    result = cli("list", "post", str(write(book, "bad.csv", rows)), account="maint", ok=False)
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert entry_count(cli) == before


def test_entry_file_without_the_columns_is_refused(cli, book):
    path = book / "cols.csv"
    path.write_text("subject,amount_fen\nuscc:DEBTOR1,100\n")
    result = cli("list", "post", str(path), account="maint", ok=False)
    assert result.exit_code == 1 and "missing column(s) category" in result.stderr


def test_rejections_by_role_payment_and_input(cli, book, posted):
    not_maintainer = cli("list", "post", str(book / "m1.csv"), account="bank", ok=False)
    assert not_maintainer.exit_code == 1 and "not an active MAINTAINER member" in not_maintainer.stderr
    outsider = cli("list", "view", "uscc:DEBTOR1", account="outsider", ok=False)
    assert outsider.exit_code == 1 and "CreditListNotActiveMember" in outsider.stderr
    broke = cli("list", "view", "uscc:DEBTOR1", account="ship2", ok=False)
    assert broke.exit_code == 1 and "needs 1001 fen" in broke.stderr and "token mint" in broke.stderr
    nothing = cli("list", "view", "uscc:NOBODY", account="bank", ok=False)
    assert nothing.exit_code == 1 and "has no active entry" in nothing.stderr
    unknown = cli("list", "decrypt", "999", account="bank", ok=False)
    assert unknown.exit_code == 1 and "entry 999 does not exist" in unknown.stderr
    assert "entry 999 does not exist" in cli("list", "show", "999", ok=False).stderr
    own = cli("list", "contest", str(posted["d1"]), "--reason", "x", account="maint", ok=False)
    assert own.exit_code == 1 and "CreditListOwnEntry" in own.stderr
    mint = cli("token", "mint", "bank", "100", account="bank", ok=False)
    assert mint.exit_code == 1 and "SettlementTokenNotMinter" in mint.stderr
    assert "positive number of fen" in cli("token", "mint", "bank", "0", account="c1", ok=False).stderr
    assert "subject must be" in cli("list", "show", "bad subject", ok=False).stderr


def test_posting_beyond_the_live_cap_is_refused_and_writes_nothing(cli, book, posted):
    evidence = cli.data_dir / "evidence"
    files_before = sorted(p for p in evidence.rglob("*") if p.is_file())
    before = entry_count(cli)
    assert cli.json("list", "show", "uscc:DEBTOR1")["active"] == 3  # maint holds 2 of them, the cap is 3
    rows = [entry_row("uscc:DEBTOR1", "d3", amount="111"), entry_row("uscc:DEBTOR1", "d4", amount="222")]
    result = cli("list", "post", str(write(book, "flood.csv", rows)), account="maint", ok=False)
    assert result.exit_code == 1 and "error:" in result.stderr, result.stderr
    assert "line 3: you already hold 2 live entries" in result.stderr and "line 2:" not in result.stderr
    assert "creditList.maxLivePerMaintainer" in result.stderr
    assert entry_count(cli) == before and sorted(p for p in evidence.rglob("*") if p.is_file()) == files_before
    one = cli.json("list", "post", str(write(book, "one.csv", rows[:1])), account="maint")  # the last free slot
    assert len(one["posted"]) == 1


def test_subject_contest_replaces_a_friendly_contest(cli, book, posted):
    # ship is the member registered for uscc:SHIP1; bank, a third party, contests first
    eid = cli.json("list", "post", str(write(book, "ship1.csv", [entry_row("uscc:SHIP1", "d5")])), account="maint")[
        "posted"
    ][0]["id"]
    cli("list", "contest", str(eid), "--reason", "weak", account="bank")
    cli("list", "resolve", str(eid), "--uphold", account="c1")
    third = cli("list", "contest", str(eid), "--reason", "me too", account="maint2", ok=False)
    assert third.exit_code == 1 and "CreditListNotContestable" in third.stderr
    own = cli.json("list", "contest", str(eid), "--reason", "not our debt", account="ship")
    assert own["contested"] and own["contester"] == address(cli, "ship") and own["uphold_votes"] == 0
    assert cli.json("list", "balance", "bank")["list_balance_fen"] == DEPOSIT  # the displaced deposit, back
    cli("list", "resolve", str(eid), "--overturn", account="c1")
    assert cli.json("list", "resolve", str(eid), "--overturn", account="c2")["status"] == "overturned"


def test_split_contest_is_revoted_then_expires_undecided(cli, posted):
    eid = posted["d4"]
    cli("list", "contest", str(eid), "--reason", "disputed", account="ship")
    early = cli("list", "expire", str(eid), account="ship", ok=False)
    assert early.exit_code == 1 and "can be expired only after its deadline" in early.stderr
    cli("list", "resolve", str(eid), "--uphold", account="c1")
    cli("list", "resolve", str(eid), "--overturn", account="c2")
    again = cli.json("list", "revote", str(eid), account="c3")
    assert again["round"] == 2 and cli.json("list", "show", str(eid))["contest"]["uphold_votes"] == 0
    not_split = cli("list", "revote", str(eid), account="c1", ok=False)
    assert not_split.exit_code == 1 and "CreditListVoteNotSplit" in not_split.stderr
    chain.sleep(30 * DAY)
    chain.mine()
    late = cli("list", "resolve", str(eid), "--uphold", account="c1", ok=False)
    assert late.exit_code == 1 and "CreditListContestTimedOut" in late.stderr
    out = cli.json("list", "expire", str(eid), account="bank")  # anyone
    assert out["expired"] and out["refunded_fen"] == DEPOSIT and out["status"] == "active"
    assert cli.json("list", "balance", "ship")["list_balance_fen"] == DEPOSIT
    shown = cli.json("list", "show", str(eid))
    assert shown["status"] == "active" and shown["stake_fen"] == MIN_STAKE and shown["contest"] is None
    assert "has no pending contest" in cli("list", "expire", str(eid), account="bank").stdout


def test_top_up_mint_is_idempotent(cli, book):
    first = cli.json("token", "mint", "ship2", "5000", "--top-up", account="c1")
    second = cli.json("token", "mint", "ship2", "5000", "--top-up", account="c1")
    assert (first["minted_fen"], second["minted_fen"], second["balance_fen"]) == (5000, 0, 5000)


def test_entries_expire_and_stakes_come_back(cli, posted):
    chain.sleep(TTL + DAY)
    chain.mine()
    assert cli.json("list", "show", "uscc:DEBTOR1")["active"] == 0
    expired = cli("list", "view", "uscc:DEBTOR1", account="bank", ok=False)
    assert "has no active entry" in expired.stderr
    late = cli("list", "contest", str(posted["d1"]), "--reason", "x", account="ship", ok=False)
    assert late.exit_code == 1 and "CreditListEntryExpired" in late.stderr
    before = cli.json("token", "balance", "maint")["balance_fen"]
    out = cli.json("list", "withdraw", "--release-stakes", account="maint")
    # d1, d2 (upheld) and d4 come back; nothing of d5 (slashed) belongs to maint
    assert sorted(r["entry_id"] for r in out["stakes_released"]) == sorted([posted["d1"], posted["d2"], posted["d4"]])
    assert cli.json("token", "balance", "maint")["balance_fen"] - before == out["withdrawn_fen"] >= 3 * MIN_STAKE


def words(text: str) -> str:
    """Help text with rich's box and line wrapping undone."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_a_member_subjects_key_is_released_only_after_a_consented_list_read(cli, book, posted):
    # uscc:SHIP1 is the member `ship`: its sealed details leave only through a consented, logged read
    eid = cli.json("list", "post", str(write(book, "ship1k.csv", [entry_row("uscc:SHIP1", "d5")])), account="maint")[
        "posted"
    ][0]["id"]
    bank = address(cli, "bank")
    paid = cli.json("list", "view", "uscc:SHIP1", account="bank")
    assert paid["paid"] and cli.json("list", "view", "uscc:DEBTOR1", account="bank")["paid"]
    out = cli.json("list", "release", account="maint")
    (skipped,) = [s for s in out["skipped"] if s["viewer"] == bank]
    assert skipped["entry_ids"] == [eid] and skipped["view_tx"] == paid["tx"]
    assert "no consented list-scope read" in skipped["reason"] and "is a member" in skipped["reason"]
    # only that view is skipped: the views of DEBTOR1, no member, are released as before
    assert eid not in [r["entry_id"] for r in out["released"]]
    assert {s["subject"] for s in out["skipped"]} == {to_hex(subject_id("uscc:SHIP1"))}
    text = " ".join(cli("list", "release", account="maint").stdout.split())
    assert f"skipped the view {paid['tx']}" in text and "1 view(s) skipped" in text
    refused = cli("list", "decrypt", str(eid), account="bank", ok=False)
    assert refused.exit_code == 1 and "without a consented, logged list-scope read" in refused.stderr
    assert "consent access" in refused.stderr and "Traceback" not in refused.stderr
    # a consent, a logged list-scope read, then a view: the key is released and the details open
    purpose = "receivable-financing"
    cli("consent", "grant", "--lender", "bank", "--purpose", purpose, "--scope", "list", "--days", "30", account="ship")
    cli("consent", "access", "uscc:SHIP1", "--purpose", purpose, "--scope", "list", account="bank")
    still = cli.json("list", "release", account="maint")  # the read came after that view: it still does not count
    assert [s["view_tx"] for s in still["skipped"] if s["viewer"] == bank] == [paid["tx"]]
    cli("list", "view", "uscc:SHIP1", "--again", account="bank")
    out = cli.json("list", "release", account="maint")
    assert [r["entry_id"] for r in out["released"] if r["viewer"] == bank] == [eid]
    assert [s["view_tx"] for s in out["skipped"]] == [paid["tx"]]  # the earlier view, reported until a key exists
    assert cli.json("list", "release", account="maint")["skipped"] == []
    assert cli.json("list", "decrypt", str(eid), account="bank")["details"].encode() == DETAILS["d5"]


def test_release_help_says_why_a_view_is_skipped(cli):
    text = words(cli("list", "release", "--help").stdout)
    assert "consented list-scope read" in text and "cannot be recovered" in text


@pytest.fixture
def onchain(cli, monkeypatch):
    """Reads the state a refused command must leave alone: block number, token allowance to the list, balances."""
    from brownie import web3

    from creditshare.bindings.credit_list import CreditList
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    book = CreditList(ChainClient(load_settings("development", cli.data_dir)))

    def snapshot(who: str) -> tuple[int, int, int, int]:
        holder = address(cli, who)
        return (
            web3.eth.block_number,
            book.token.allowance(holder, book.contract.address),
            book.token.balance(holder),
            book.balance(holder),
        )

    return snapshot


def test_a_refused_view_or_contest_sends_nothing_not_even_the_approval(cli, posted, onchain):
    before = onchain("outsider")
    assert before[2] == FUNDS and before[1] == 0  # holds tokens, has approved nothing
    outsider = cli("list", "view", "uscc:DEBTOR1", account="outsider", ok=False)
    assert outsider.exit_code == 1 and "CreditListNotActiveMember" in outsider.stderr
    assert "nothing was sent" in outsider.stderr and "Traceback" not in outsider.stderr
    contest = cli("list", "contest", str(posted["d1"]), "--reason", "x", account="outsider", ok=False)
    assert contest.exit_code == 1 and "CreditListNotActiveMember" in contest.stderr
    assert onchain("outsider") == before
    # the maintainer contesting its own entry is refused before the deposit's approval too
    maint = onchain("maint")
    own = cli("list", "contest", str(posted["d1"]), "--reason", "x", account="maint", ok=False)
    assert own.exit_code == 1 and "CreditListOwnEntry" in own.stderr and onchain("maint") == maint


@pytest.mark.parametrize("reason", ["", "   ", "\t"])
def test_a_contest_without_a_reason_is_refused_and_sends_nothing(cli, posted, onchain, reason):
    """As `settlements dispute` does: an empty or blank --reason is one error line, nothing approved or sent."""
    before = onchain("ship")
    result = cli("list", "contest", str(posted["d1"]), "--reason", reason, account="ship", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("error: --reason must not be empty")
    assert "Traceback" not in result.stderr and onchain("ship") == before
    by_id = {e["id"]: e for e in cli.json("list", "show", "uscc:DEBTOR1")["entries"]}
    assert by_id[posted["d1"]]["status"] == "active"


def test_a_refused_post_sends_nothing(cli, book, posted, onchain):
    before, count = onchain("maint"), entry_count(cli)
    # a period ending in the future passes the file check; the list refuses it, so nothing is approved or sent
    future = entry_row("uscc:DEBTOR2", "d3", start="2025-10-01", end="2099-12-31")
    result = cli("list", "post", str(write(book, "future.csv", [future])), account="maint", ok=False)
    assert result.exit_code == 1 and "line 2: the credit list would refuse this entry" in result.stderr
    assert "CreditListBadPeriod" in result.stderr
    assert onchain("maint") == before and entry_count(cli) == count


@pytest.mark.parametrize(
    "args, who, message",
    [
        (("list", "resolve", "{d1}", "--uphold"), "c1", "CreditListNotContested"),
        (("list", "resolve", "{d1}", "--uphold"), "bank", "CreditListWrongRole"),
        (("list", "revote", "{d1}"), "bank", "CreditListWrongRole"),
        (("list", "withdraw"), "outsider", None),
        (("list", "expire", "{d1}"), "bank", None),
        (("list", "release"), "bank", None),
    ],
)
def test_other_list_commands_refused_or_idle_send_nothing(cli, posted, onchain, args, who, message):
    before = onchain(who)
    result = cli(*(a.format(**{k: v for k, v in posted.items()}) for a in args), account=who, ok=message is None)
    if message is not None:
        assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert onchain(who) == before


def test_entry_csv_with_a_bom_and_crlf_is_posted(cli, book, posted):
    path = book / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HEADER, entry_row("uscc:DEBTOR3", "d2")]).encode() + b"\r\n")
    out = cli.json("list", "post", str(path), account="maint")
    assert [p["line"] for p in out["posted"]] == [2]
    assert cli.json("list", "show", "uscc:DEBTOR3")["active"] == 1


@pytest.mark.parametrize(
    "details, message",
    [
        ("/etc/passwd", "line 2: details '/etc/passwd' is an absolute path"),
        ("../outside.txt", "line 2: details '../outside.txt' climbs out of"),
        ("details/../../outside.txt", "line 2: details 'details/../../outside.txt' climbs out of"),
        ("leak.txt", "line 2: details 'leak.txt': leak.txt is a symlink that leads out of"),
        ("details", "line 2: details 'details' is not a regular file"),
    ],
)
def test_entry_files_that_leave_the_csv_folder_are_refused(cli, book, posted, onchain, details, message):
    (book.parent / "outside.txt").write_text("private file outside the data folder")
    if not (book / "leak.txt").is_symlink():
        (book / "leak.txt").symlink_to(book.parent / "outside.txt")
    row = entry_row("uscc:DEBTOR3", "d1").replace("details/d1.txt", details)
    before, count = onchain("maint"), entry_count(cli)
    result = cli("list", "post", str(write(book, "escape.csv", [row])), account="maint", ok=False)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert onchain("maint") == before and entry_count(cli) == count


def test_entry_evidence_outside_the_folder_is_refused_but_allowed_under_root(cli, book, posted, onchain):
    row = entry_row("uscc:DEBTOR3", "d1", evidence="../entries-evidence.txt")
    (book.parent / "entries-evidence.txt").write_text("evidence kept beside the entries folder")
    path = write(book, "evidence-out.csv", [row])
    before = onchain("maint")
    refused = cli("list", "post", str(path), account="maint", ok=False)
    assert refused.exit_code == 1 and "line 2: evidence '../entries-evidence.txt' climbs out of" in refused.stderr
    assert onchain("maint") == before
    # a wider root named on purpose: the same names resolve inside it
    inner = book / "inner"
    inner.mkdir(exist_ok=True)
    # names are relative to --root, not to the CSV
    named = row.replace("details/", f"{book.name}/details/").replace("../entries", "entries")
    moved = write(inner, "inside.csv", [named])
    out = cli.json("list", "post", str(moved), "--root", str(book.parent), "--dry-run", account="maint")
    assert len(out["would_post"]) == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (HEADER + ",amount_fen\n", "column(s) named twice: amount_fen"),
        (HEADER + ",colour\n", "unknown column(s) colour"),
        (HEADER + "\n" + "uscc:D\xe9BTOR1,x\n", "line 2: byte 0xE9 is not UTF-8"),
        (HEADER + '\nuscc:DEBTOR1,"fraud\n', "a quoted field is never closed"),
        (HEADER + "\nuscc:DEBTOR1,fraud\n", "line 2: 2 field(s); expected 9 fields"),
        ("", "is empty"),
    ],
)
def test_malformed_entry_csvs_are_refused_with_one_error_line(cli, book, posted, onchain, content, message):
    path = book / "malformed.csv"
    path.write_bytes(content.encode("latin-1"))
    before = onchain("maint")
    result = cli("list", "post", str(path), account="maint", ok=False)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error:")
    assert onchain("maint") == before


def keystore_account(cli, name: str):
    return Account.from_key(
        Account.decrypt(json.loads((cli.data_dir / "keystore" / f"{name}.json").read_text()), "test-password")
    )


def test_a_view_whose_key_cannot_be_recovered_is_skipped_and_later_viewers_get_theirs(cli, posted, monkeypatch):
    from brownie import web3

    from creditshare.bindings.credit_list import CreditList
    from creditshare.core.chain import ChainClient, encode_call
    from creditshare.core.config import load_settings

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    book = CreditList(ChainClient(load_settings("development", cli.data_dir)))
    token, target = book.token.contract, book.contract.address
    subject = subject_id("uscc:DEBTOR2")
    approve = encode_call(token, "approve", target, VIEW_FEE)
    view = encode_call(book.contract, "viewSubject", subject)
    # ship2 (a member) pays through the node's impersonation: a real transaction whose signature recovers no one
    cli("token", "mint", "ship2", str(FUNDS), account="c1")
    ship2 = address(cli, "ship2")
    web3.provider.make_request("anvil_impersonateAccount", [ship2])
    try:
        for call in (approve, view):
            sent = web3.eth.send_transaction({"from": ship2, "to": call.to, "data": call.data, "gasPrice": 0})
            assert web3.eth.wait_for_transaction_receipt(sent)["status"] == 1
    finally:
        web3.provider.make_request("anvil_stopImpersonatingAccount", [ship2])
    # bank pays afterwards with an EIP-7702 (type 4) transaction, maint2 with an EIP-2930 (type 1) one
    delegate = Account.from_key("0x" + "44" * 32).sign_authorization(
        {"chainId": 31337, "address": "0x" + "cd" * 20, "nonce": 0}
    )
    fees = {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    kinds = {"bank": {"type": 4, "authorizationList": [delegate], **fees}, "maint2": {"type": 1, "gasPrice": 0}}
    for name, kind in kinds.items():
        signer = keystore_account(cli, name)
        nonce = web3.eth.get_transaction_count(signer.address)
        for i, (call, extra) in enumerate(((approve, {"gasPrice": 0}), (view, kind))):
            tx = {"chainId": 31337, "nonce": nonce + i, "gas": 500_000, "to": call.to, "data": call.data, "value": 0}
            sent = web3.eth.send_raw_transaction(signer.sign_transaction(tx | extra).raw_transaction)
            assert web3.eth.wait_for_transaction_receipt(sent)["status"] == 1, (name, i, tx | extra)
        assert web3.eth.get_transaction(sent)["type"] == kind["type"]
    out = cli.json("list", "release", "--subject", "uscc:DEBTOR2", account="maint")
    (skipped,) = out["skipped"]
    assert skipped["viewer"] == ship2 and "could not recover the public key" in skipped["reason"]
    assert sorted(r["viewer"] for r in out["released"]) == sorted([address(cli, "bank"), address(cli, "maint2")])
    assert cli.json("list", "decrypt", str(posted["d4"]), account="bank")["details"].encode() == DETAILS["d4"]
    assert cli.json("list", "decrypt", str(posted["d4"]), account="maint2")["details"].encode() == DETAILS["d4"]
    refused = cli("list", "decrypt", str(posted["d4"]), account="ship2", ok=False)
    assert refused.exit_code == 1 and "has not been released yet" in refused.stderr


@pytest.fixture
def binding(cli, monkeypatch):
    """The CreditList binding on the CLI's data folder and network."""
    from creditshare.bindings.credit_list import CreditList
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    return CreditList(ChainClient(load_settings("development", cli.data_dir)))


def test_a_wrong_released_key_is_provable_and_a_good_one_is_not(cli, posted, binding):
    eid = posted["d1"]
    cli("list", "view", "uscc:DEBTOR1", account="bank")
    cli("list", "release", account="maint")
    store = sealed.SealedStore(cli.data_dir / "evidence")
    entry = binding.entry(eid)
    c, bank, maint = entry.details_commitment, address(cli, "bank"), keystore_account(cli, "maint")
    honest = store.key_record(c, bank)
    assert honest["signature"].startswith("0x") and cli.json("list", "decrypt", str(eid), account="bank")["details"]
    bank_key = keystore_account(cli, "bank")
    bank_public = sealed.public_key_of(bytes(bank_key.key))

    def release(wrapped: bytes, signer=maint) -> None:
        fields = (31337, binding.contract.address, eid, bank, c, wrapped)
        signature = sealed.sign_key_release(bytes(signer.key), *fields)
        store.put_key(c, bank, wrapped, role="viewer", entry_id=eid, signature="0x" + signature.hex())

    # a maintainer releases (and signs) a key that does not open the details
    release(sealed.wrap_key(bytes(32), bank_public))
    refused = cli("list", "decrypt", str(eid), account="bank", ok=False)
    text = " ".join(refused.stderr.split())
    proof_path = cli.data_dir / "proofs" / f"bad-key-entry-{eid}-{bank}.json"
    assert refused.exit_code == 1 and "does not open its sealed details" in text and str(proof_path) in text
    assert "list check-proof" in text and "Traceback" not in text
    checked = cli.json("list", "check-proof", str(proof_path))  # anyone, no key needed
    assert checked["valid"] and checked["maintainer"] == entry.maintainer and checked["viewer"] == bank
    assert "does not open the sealed details" in checked["finding"] and checked["paid_view_at"] > 0
    proof = json.loads(proof_path.read_text())
    assert bytes(bank_key.key).hex() not in proof_path.read_text()  # the viewer's key stays private

    def check(changed: dict, name: str) -> str:
        path = proof_path.with_name(name)
        path.write_text(json.dumps({**proof, **changed}))
        result = cli("list", "check-proof", str(path), ok=False)
        assert result.exit_code == 1 and result.stderr.startswith("error:") and "Traceback" not in result.stderr
        return " ".join(result.stderr.split())

    other = keystore_account(cli, "maint2")
    forged = sealed.sign_key_release(bytes(other.key), 31337, binding.contract.address, eid, bank, c, bytes(1))
    assert "not by entry" in check({"signature": "0x" + forged.hex()}, "forged-signature.json")
    point = {**proof["shared_point_proof"], "z": hex(int(proof["shared_point_proof"]["z"], 16) + 1)}
    assert "does not hold" in check({"shared_point_proof": point}, "bad-point.json")
    assert "not the one entry" in check({"sealed_blob": "0x00"}, "other-blob.json")
    assert "not a bad-key proof" in check({"kind": "something else"}, "other-kind.json")
    # the honest key: a viewer cannot frame the maintainer with it
    wrapped = bytes.fromhex(honest["wrapped_key"][2:])
    framed = {
        "wrapped_key": honest["wrapped_key"],
        "signature": honest["signature"],
        "shared_point_proof": sealed.prove_shared_point(wrapped, bytes(bank_key.key)),
    }
    assert "proves nothing" in check(framed, "framed.json")
    # a key wrapped to someone else's public key (signed for bank) is provable too
    ship_public = sealed.public_key_of(bytes(keystore_account(cli, "ship").key))
    release(sealed.wrap_key(bytes(32), ship_public))
    assert cli("list", "decrypt", str(eid), account="bank", ok=False).exit_code == 1
    assert "does not decrypt with the viewer's key" in cli.json("list", "check-proof", str(proof_path))["finding"]
    # an unsigned, or foreign-signed, release is not used at all
    release(wrapped, signer=other)
    unsigned = cli("list", "decrypt", str(eid), account="bank", ok=False)
    assert "is not signed by the entry's maintainer" in " ".join(unsigned.stderr.split())


def test_a_dry_run_post_is_checked_against_the_chain_too(cli, book, posted, onchain):
    before = onchain("maint")
    future = entry_row("uscc:DEBTOR3", "d3", end="2099-12-31")
    result = cli("list", "post", str(write(book, "future-dry.csv", [future])), "--dry-run", account="maint", ok=False)
    assert result.exit_code == 1 and "CreditListBadPeriod" in result.stderr and onchain("maint") == before
