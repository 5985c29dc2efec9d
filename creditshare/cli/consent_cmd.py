"""`creditshare consent ...`: a subject's consents to lenders, and a lender's consent-checked reads."""

from __future__ import annotations

import typer

from creditshare.bindings.data_bus import KNOWN_PURPOSES, DataBus, parse_scope
from creditshare.cli.context import emit, state, table
from creditshare.cli.options import LenderAccount, SubjectMemberAccount
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import resolve_address
from creditshare.domain.consents import grant_own
from creditshare.reports.consented import consented_read

app = typer.Typer(
    help="Consent to lenders (grant, revoke, show) and consent-checked reads by lenders (access); every access is "
    "logged on chain (see `creditshare audit`). Scores, tiers, credit-list entry facts and settlement records "
    "are public to every member with or without consent; the access is what a holder of off-chain data (the "
    "sealed details of list entries) checks before it serves a read.",
    no_args_is_help=True,
)

PURPOSE_HELP = f"Purpose of the use, by name (e.g. {', '.join(KNOWN_PURPOSES)}); only its keccak256 goes on chain."
SCOPE_HELP = "Comma-separated scopes: score, settlements, list (or all)."


@app.command()
def grant(
    ctx: typer.Context,
    lender: str = typer.Option(..., "--lender", help="The lender: address or keystore name (an active LENDER member)."),
    purpose: str = typer.Option(..., "--purpose", help=PURPOSE_HELP),
    scope: str = typer.Option(..., "--scope", help=SCOPE_HELP),
    days: int | None = typer.Option(None, "--days", help="Valid until midnight UTC after this many days."),
    until: str | None = typer.Option(None, "--until", help="Valid until this date (YYYY-MM-DD, 00:00 UTC)."),
    account: SubjectMemberAccount = None,
) -> None:
    """Grant a lender consent to read your data (your member's organisation is the subject).

    A new grant for the same lender and purpose replaces the earlier one;
    granting again with the same scope and expiry changes nothing.
    """
    st = state(ctx)
    if (days is None) == (until is None):
        raise InvalidInput("give the consent's expiry with either --days N or --until YYYY-MM-DD.")
    mask = parse_scope(scope)
    lender_address = resolve_address(st.settings.keystore_dir, lender)
    signer = st.account(account)
    result = grant_own(st.client, signer, lender_address, purpose, mask, days=days, until=until)
    emit(
        st,
        result,
        f"consent {result['id']} already grants {lender} this scope until {result['expires']}"
        if result["already"]
        else f"granted consent {result['id']} to {lender} for {purpose} ({scope}) until {result['expires']}",
    )


@app.command()
def revoke(
    ctx: typer.Context,
    consent_id: int = typer.Argument(..., help="Consent id."),
    account: SubjectMemberAccount = None,
) -> None:
    """Revoke a consent at once (the subject's member only; revoking twice changes nothing)."""
    st = state(ctx)
    result = DataBus(st.client).revoke(st.account(account), consent_id)
    emit(st, result, f"consent {consent_id} {'was already revoked' if result['already'] else 'revoked'}")


@app.command()
def show(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Subject: namespace:registration or 0x id."),
) -> None:
    """List every consent a subject granted, with its state (valid, expired, revoked)."""
    st = state(ctx)
    sid = subject_id(subject)
    now = st.client.block_timestamp()
    consents = [c.to_json(now) for c in DataBus(st.client).consents_of(sid)]
    emit(
        st,
        {"subject": to_hex(sid), "consents": consents},
        lambda: table(
            f"Consents of {subject}",
            ["id", "lender", "purpose", "scope", "expires", "state"],
            [[c["id"], c["lender"], c["purpose"], ",".join(c["scope"]), c["expires"], c["state"]] for c in consents],
        ),
    )


@app.command()
def access(
    ctx: typer.Context,
    subjects: list[str] = typer.Argument(..., help="Subjects to read (namespace:registration or 0x ids)."),
    purpose: str = typer.Option(..., "--purpose", help=PURPOSE_HELP),
    scope: str = typer.Option("score", "--scope", help=SCOPE_HELP),
    account: LenderAccount = None,
) -> None:
    """As a LENDER, record a consented access to subjects (batched transactions of at most 200) and read their data.

    What each scope reads: score (the score and tier, public to every member),
    settlements (the subject's settlement records, public to every member),
    list (its credit-list entry facts, public; and the logged access a
    maintainer can check before it releases the sealed details you paid for
    with `list view`). For public data the access is your declared, logged
    use, not a gate. All or nothing: if any subject has no valid consent for this
    lender, purpose and scope, nothing is recorded or read.
    """
    st = state(ctx)
    mask = parse_scope(scope)
    sids = [subject_id(s) for s in subjects]
    signer = st.account(account)
    out = consented_read(st.client, signer, sids, mask, purpose)

    def text() -> None:
        rows = []
        for item in out["subjects"]:
            score = item.get("score", {})
            rows.append(
                [
                    item["subject"][:18] + "…",
                    item.get("consent_id"),
                    f"{score.get('score')} {score.get('tier')}" if score.get("scored") else "-" if mask & 1 else "",
                    len(item.get("settlements", [])) if mask & 2 else "",
                    sum(e["active"] for e in item.get("list_entries", [])) if mask & 4 else "",
                ]
            )
        table(
            f"Consented read by {signer.address} ({purpose})",
            ["subject", "consent", "score", "settlements", "active list entries"],
            rows,
        )

    emit(st, out, text)
