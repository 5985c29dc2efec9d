"""`creditshare list ...` (the shared credit list) and `creditshare token ...` (the fen settlement token)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from creditshare.bindings.credit_list import CreditList
from creditshare.bindings.settlement_token import SettlementToken
from creditshare.cli.context import emit, progress, state, table
from creditshare.cli.options import UINT256_MAX, Account, CommitteeAccount, DryRun, MaintainerAccount, ViewerAccount
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import resolve_address
from creditshare.domain.credit_entries import (
    ENTRY_COLUMNS,
    check_bad_key_proof,
    decrypt_details,
    parse_entries,
    post_entries,
    release_expired_stakes,
    release_keys,
    save_details,
)

app = typer.Typer(
    help="The shared credit list: maintainers post staked entries (details sealed off chain), members pay to view "
    "a subject, anyone concerned contests, the committee resolves, earnings are withdrawn.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="The settlement token (CSFEN, 1 unit = 1 fen) that pays stakes, deposits and view fees.", no_args_is_help=True
)

SUBJECT_HELP = "Subject: namespace:registration (e.g. uscc:91310000MA1FL4XX1X) or a 0x 32-byte id."


@app.command()
def post(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help=f"Entry CSV with the columns {','.join(ENTRY_COLUMNS)}: category is "
        "payment-default, fraud, freight-dispute, cargo-damage or other; dates "
        "YYYY-MM-DD; settlements are 0x ids separated by ';' (may be empty); "
        "evidence and details are files relative to the CSV's folder (or --root), which they may not leave. "
        "UTF-8 with or without a BOM, LF or CRLF; each column once.",
    ),
    root: Path | None = typer.Option(
        None,
        "--root",
        help="The folder the evidence and details files are named relative to and confined to "
        "(default: the CSV's folder): absolute paths, '..' out of it and symlinks leading out are refused.",
    ),
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Post entries as a MAINTAINER: stakes are pulled in tokens, details are sealed (AES-GCM) into the evidence store.

    The whole file is validated first (every bad row is listed, nothing is sent).
    Rows already on the list (same maintainer, subject, category, amount, period,
    settlements and evidence) are skipped, so posting a file again is harmless.
    """
    st = state(ctx)
    rows = parse_entries(file, root)
    book = CreditList(st.client)
    signer = st.account(account)
    with progress(st.json) as bar:
        task = bar.add_task("posting entries", total=len(rows))
        result = post_entries(book, rows, signer, dry_run=dry_run, on_posted=lambda n: bar.advance(task, n))
    out = {
        "file": str(file),
        "rows": len(rows),
        "posted": [] if dry_run else result.posted,
        "would_post": result.posted if dry_run else [],
        "already_posted": result.already,
        "gas_used": result.gas_used,
        "dry_run": dry_run,
    }
    emit(
        st,
        out,
        f"dry run: {len(result.posted)} entries would be posted, {len(result.already)} are posted already"
        if dry_run
        else [
            *(
                f"posted entry {p['id']} (line {p['line']}): details sealed as {p['details_cid']}"
                for p in result.posted
            ),
            f"{len(result.posted)} posted, {len(result.already)} already on the list",
        ],
    )


@app.command()
def show(
    ctx: typer.Context,
    what: str = typer.Argument(..., help="A subject (namespace:registration or 0x id), or an entry id (a number)."),
) -> None:
    """Show the public facts of a subject's entries (or one entry with its contest); the details stay sealed."""
    st = state(ctx)
    book = CreditList(st.client)
    now = st.client.block_timestamp()
    if what.strip().isascii() and what.strip().isdigit():
        entry = book.entry(int(what))
        info = {**entry.to_json(now), "contest": book.contest_of(entry.id)}
        emit(st, info, lambda: table(f"Entry {entry.id}", ["field", "value"], [[k, v] for k, v in info.items()]))
        return
    sid = subject_id(what)
    entries = [e.to_json(now) for e in book.entries_of(sid)]
    for e in entries:
        e["contest"] = book.contest_of(e["id"]) if e["status"] != "active" else None
    active = sum(e["active"] for e in entries)
    emit(
        st,
        {"subject": to_hex(sid), "active": active, "entries": entries},
        lambda: table(
            f"Credit list entries of {what} ({active} active)",
            ["id", "category", "amount (fen)", "band", "status", "active", "expires", "maintainer"],
            [
                [
                    e["id"],
                    e["category"],
                    e["amount_fen"],
                    e["band"],
                    e["status"],
                    e["active"],
                    e["expires"],
                    e["maintainer"][:10] + "…",
                ]
                for e in entries
            ],
        ),
    )


@app.command("view")
def view_(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    account: Account = None,
    again: bool = typer.Option(False, "--again", help="Pay again even if this account already paid for these entries."),
) -> None:
    """Pay the governed view fee (discounted for reciprocal members) to view a subject's entries.

    The fee is split among the maintainers of the active entries, who then release
    the entries' content keys to you (`list release`); read them with `list decrypt`.
    Viewing again is skipped if no entry was posted since your last paid view.
    """
    st = state(ctx)
    result = CreditList(st.client).view(subject_id(subject), st.account(account), again=again)
    ids = ", ".join(map(str, result["entry_ids"]))
    emit(
        st,
        result,
        f"paid {result['fee_fen']} fen (discount {result['discount_fen']}) to view {subject}: entries {ids}"
        if result["paid"]
        else f"already paid to view {subject} (entries {ids}); nothing paid. Pass --again to pay anew.",
    )


@app.command()
def release(
    ctx: typer.Context,
    subject: str | None = typer.Option(None, "--subject", help="Only views of this subject."),
    account: MaintainerAccount = None,
) -> None:
    """Maintainer's key release: wrap each of your entries' content keys to every viewer who paid for it.

    Reads the EntryViewed events, recovers each viewer's public key from its paying
    transaction, and writes an ECIES-wrapped key file into the evidence store.
    Idempotent: keys released before are not written again.

    A view is skipped (listed with its reason; the others are still released) when its
    subject is a consortium member and the viewer logged no consented list-scope read of it
    (`consent access SUBJECT --scope list`, under a valid consent) at or before the view;
    when the view was not sent by its viewer straight to the list; or when the viewer's
    public key cannot be recovered from the paying transaction (e.g. a type-4 transaction).
    """
    st = state(ctx)
    result = release_keys(CreditList(st.client), st.account(account), subject_id(subject) if subject else None)
    emit(
        st,
        result,
        [
            *(f"released the key of entry {r['entry_id']} to {r['viewer']}" for r in result["released"]),
            *(
                f"skipped the view {s['view_tx']} by {s['viewer']} (entries "
                f"{', '.join(map(str, s['entry_ids']))}): {s['reason']}"
                for s in result["skipped"]
            ),
            f"{len(result['released'])} key(s) released, {result['already_released']} released before, "
            f"{len(result['skipped'])} view(s) skipped",
        ],
    )


@app.command()
def decrypt(
    ctx: typer.Context,
    entry_id: int = typer.Argument(..., help="Entry id."),
    account: ViewerAccount = None,
    out: Path | None = typer.Option(None, "--out", help="Write the details to this file instead of stdout."),
) -> None:
    """Decrypt an entry's private details with the key released to you (or your own, as its maintainer).

    A released key is used only if the entry's maintainer signed it. If it does not open the details, a
    bad-key proof is written under the data folder's proofs/ and named in the error: anyone checks it with
    `list check-proof FILE`. Payment comes before release (a known gap): the proof is the remedy.
    """
    st = state(ctx)
    details = decrypt_details(CreditList(st.client), entry_id, st.account(account))
    if out:
        save_details(out, details)
    try:
        text: str | None = details.decode("utf-8")
    except UnicodeDecodeError:
        text = None

    def raw() -> None:
        sys.stdout.buffer.write(details)
        sys.stdout.flush()

    emit(
        st,
        {
            "entry_id": entry_id,
            "bytes": len(details),
            "details": text if not out else None,
            "details_hex": None if text is not None or out else "0x" + details.hex(),
            "out": str(out) if out else None,
        },
        f"wrote {len(details)} bytes of entry {entry_id}'s details to {out}" if out else raw,
    )


@app.command("check-proof")
def check_proof(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A bad-key proof written by `list decrypt` (JSON)."),
) -> None:
    """Check a bad-key proof: that an entry's maintainer released (and signed) a key that does not open its details.

    Anyone can run it; it needs no key. The proof holds when the sealed blob is the one the entry commits to on
    chain, the entry's maintainer signed exactly that wrapped key for that viewer (EIP-712, bound to this chain
    and CreditList), the revealed ECDH point is proven to come from the viewer's key, and with it the wrapped
    key does not decrypt or does not open the blob. A key that opens the details makes the check fail, so an
    honest maintainer cannot be framed. Exit 1 with the reason when the proof proves nothing.
    """
    st = state(ctx)
    result = check_bad_key_proof(file, CreditList(st.client))
    emit(
        st,
        result,
        f"proof holds: {result['finding']} (entry {result['entry_id']}, maintainer {result['maintainer']}, "
        f"viewer {result['viewer']})",
    )


@app.command()
def contest(
    ctx: typer.Context,
    entry_id: int = typer.Argument(..., help="Entry id."),
    reason: str = typer.Option(..., "--reason", help="Why the entry is wrong (only its keccak256 goes on chain)."),
    account: Account = None,
) -> None:
    """Contest an active entry (any member, or the subject's member), paying the governed contest deposit.

    The subject's own member may contest once per entry even while a third party's contest is pending (it
    replaces it; that deposit goes back) or after one was upheld. A contest undecided at its deadline
    (creditList.contestTimeout, 30 days unless set) is ended with `list expire`.
    """
    st = state(ctx)
    result = CreditList(st.client).contest(entry_id, reason, st.account(account))
    emit(
        st,
        result,
        f"entry {entry_id} is already contested by you"
        if result["already"]
        else f"contested entry {entry_id}; deposit {result['deposit_fen']} fen",
    )


@app.command()
def resolve(
    ctx: typer.Context,
    entry_id: int = typer.Argument(..., help="Entry id."),
    uphold: bool = typer.Option(
        ...,
        "--uphold/--overturn",
        help="Uphold (deposit to the maintainer) or overturn (stake slashed to the contester).",
    ),
    account: CommitteeAccount = None,
) -> None:
    """Vote on a contested entry as a COMMITTEE member; the first outcome to reach the threshold is executed."""
    st = state(ctx)
    result = CreditList(st.client).resolve(entry_id, uphold, st.account(account))
    emit(
        st,
        result,
        f"voted to {'uphold' if uphold else 'overturn'} entry {entry_id}; it is {result['status']}"
        if result["voted"]
        else result["message"],
    )


@app.command()
def revote(
    ctx: typer.Context,
    entry_id: int = typer.Argument(..., help="Entry id."),
    account: CommitteeAccount = None,
) -> None:
    """Discard a split vote (votes on both sides) and start a new round, as a COMMITTEE member (at most 3 rounds;
    the deadline stays)."""
    st = state(ctx)
    result = CreditList(st.client).revote(entry_id, st.account(account))
    emit(st, result, f"entry {entry_id}: votes discarded, round {result['round']} open until unix {result['deadline']}")


@app.command()
def expire(
    ctx: typer.Context,
    entry_id: int = typer.Argument(..., help="Entry id."),
    account: Account = None,
) -> None:
    """End a contest still undecided at its deadline (anyone): the deposit goes back to the contester, the stake
    stays with the entry, and the entry is active again."""
    st = state(ctx)
    result = CreditList(st.client).expire_contest(entry_id, st.account(account))
    emit(
        st,
        result,
        f"contest of entry {entry_id} expired undecided; {result['refunded_fen']} fen credited back "
        f"to {result['contester']}"
        if result["expired"]
        else result["message"],
    )


@app.command()
def withdraw(
    ctx: typer.Context,
    account: Account = None,
    release_stakes: bool = typer.Option(
        False, "--release-stakes", help="First credit back the stakes of your expired entries."
    ),
) -> None:
    """Withdraw your whole credit-list balance (fees earned, deposits and stakes won, released stakes)."""
    st = state(ctx)
    book = CreditList(st.client)
    signer = st.account(account)
    released = release_expired_stakes(book, signer) if release_stakes else []
    result = {**book.withdraw(signer), "stakes_released": released}
    emit(
        st,
        result,
        "nothing to withdraw: the balance is 0 fen"
        if result["withdrawn_fen"] == 0
        else f"withdrew {result['withdrawn_fen']} fen; token balance now {result['token_balance_fen']} fen",
    )


@app.command()
def balance(
    ctx: typer.Context,
    who: str = typer.Argument(..., help="Address or keystore name."),
) -> None:
    """Show an account's withdrawable credit-list balance, token balance and current view fee."""
    st = state(ctx)
    address = resolve_address(st.settings.keystore_dir, who)
    book = CreditList(st.client)
    fee, discount = book.fee_for(address)
    info = {
        "address": address,
        "list_balance_fen": book.balance(address),
        "token_balance_fen": book.token.balance(address),
        "view_fee_fen": fee,
        "view_discount_fen": discount,
    }
    emit(
        st, info, lambda: table(f"Credit list balance of {who}", ["field", "value"], [[k, v] for k, v in info.items()])
    )


@token_app.command()
def mint(
    ctx: typer.Context,
    to: str = typer.Argument(..., help="Recipient: address or keystore name."),
    amount: int = typer.Argument(..., max=UINT256_MAX, help="Fen to mint (integer)."),
    top_up: bool = typer.Option(False, "--top-up", help="Mint only what brings the balance up to AMOUNT (idempotent)."),
    account: CommitteeAccount = None,
) -> None:
    """Mint settlement tokens (stands for money deposited with the issuing bank). COMMITTEE only."""
    st = state(ctx)
    if amount <= 0:
        raise InvalidInput(f"amount must be a positive number of fen; got {amount}.")
    address = resolve_address(st.settings.keystore_dir, to)
    token = SettlementToken(st.client)
    minted = amount - token.balance(address) if top_up else amount
    if minted > 0:
        token.mint(address, minted, st.account(account))
    info = {"to": address, "minted_fen": max(0, minted), "balance_fen": token.balance(address)}
    emit(st, info, f"minted {info['minted_fen']} fen to {address}; balance {info['balance_fen']} fen")


@token_app.command("balance")
def token_balance(
    ctx: typer.Context,
    who: str = typer.Argument(..., help="Address or keystore name."),
) -> None:
    """Show an account's settlement-token balance in fen."""
    st = state(ctx)
    address = resolve_address(st.settings.keystore_dir, who)
    info = {"address": address, "balance_fen": SettlementToken(st.client).balance(address)}
    emit(st, info, f"{address}: {info['balance_fen']} fen")
