"""`creditshare audit SUBJECT`: every recorded access to a subject's data."""

from __future__ import annotations

import typer

from creditshare.cli.context import emit, state, table
from creditshare.bindings.data_bus import DataBus
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import resolve_address


def audit(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Subject: namespace:registration or 0x id."),
    as_: str = typer.Option(..., "--as", help="Read the log as this account (address or keystore name): the "
                                               "subject's member or an active committee member. No key is unlocked."),
) -> None:
    """List every access to a subject's data: lender, purpose, consent, scope and time (oldest first)."""
    st = state(ctx)
    sid = subject_id(subject)
    reader = resolve_address(st.settings.keystore_dir, as_)
    accesses = DataBus(st.client).accesses_of(sid, reader)
    emit(st, {"subject": to_hex(sid), "accesses": accesses},
         lambda: table(f"Accesses to the data of {subject} ({len(accesses)})",
                       ["time", "lender", "purpose", "consent", "scope"],
                       [[a["time"], a["lender"][:10] + "…", a["purpose"], a["consent_id"], ",".join(a["scope"])]
                        for a in accesses]))
