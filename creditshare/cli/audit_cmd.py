"""`creditshare audit SUBJECT`: every recorded access to a subject's data."""

from __future__ import annotations

import typer

from creditshare.bindings.data_bus import DataBus
from creditshare.cli.context import emit, state, table
from creditshare.cli.options import UINT256_MAX
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import resolve_address


def audit(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Subject: namespace:registration or 0x id."),
    as_: str = typer.Option(
        ...,
        "--as",
        help="Read the log as this account (address or keystore name): the "
        "subject's member or an active committee member. No key is unlocked: "
        "the chain checks the call's `from`, which is not authentication.",
    ),
    offset: int = typer.Option(0, "--offset", min=0, max=UINT256_MAX, help="First log index to list."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, max=UINT256_MAX, help="List at most this many (default: all, read in pages of 500)."
    ),
) -> None:
    """List the accesses to a subject's data: lender, purpose, consent, scope and time (oldest first).

    The log records consented reads through the bus. Scores, tiers, credit-list
    entry facts and settlement records are public to every member and are read
    without it; only the sealed details of list entries need a logged read."""
    st = state(ctx)
    sid = subject_id(subject)
    reader = resolve_address(st.settings.keystore_dir, as_)
    accesses = DataBus(st.client).accesses_of(sid, reader, offset, limit)
    emit(
        st,
        {"subject": to_hex(sid), "offset": offset, "accesses": accesses},
        lambda: table(
            f"Accesses to the data of {subject} ({len(accesses)})",
            ["time", "lender", "purpose", "consent", "scope"],
            [
                [a["time"], a["lender"][:10] + "…", a["purpose"], a["consent_id"], ",".join(a["scope"])]
                for a in accesses
            ],
        ),
    )
