"""`creditshare score show|batch`: lenders read signed scores from the chain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from creditshare.cli.context import console, emit_json, state, table
from creditshare.errors import InvalidInput
from creditshare.ids import subject_id

app = typer.Typer(help="Lenders: read signed scores from the chain.", no_args_is_help=True)


def _show(ctx: typer.Context, subjects: list[bytes]) -> None:
    from creditshare import scores

    st = state(ctx)
    items = scores.scores(st.client, subjects)
    if st.json:
        emit_json(items)
        return
    table("Scores", ["subject", "score", "tier", "model v", "champion", "as of", "stale (days)", "epoch"],
          [[i["subject"][:14] + "…", i.get("score", "-"), i.get("tier", "-"), i.get("model_version", "-"),
            i.get("model_is_champion", "-"),
            dt.datetime.fromtimestamp(i["as_of"], dt.UTC).date() if i["scored"] else "-",
            i.get("staleness_days", "-"), i.get("epoch", "-")] for i in items])


@app.command("show")
def show(ctx: typer.Context, subjects: list[str] = typer.Argument(..., help="Subjects: namespace:registration or 0x id.")
         ) -> None:
    """Show the latest signed score of one or more subjects."""
    _show(ctx, [subject_id(s) for s in subjects])


@app.command("batch")
def batch_(ctx: typer.Context, file: Path = typer.Argument(..., help="File of subjects, one per line.")) -> None:
    """Scores of many subjects in one call."""
    try:
        lines = [line.strip() for line in file.read_text().splitlines() if line.strip()]
    except OSError as err:
        raise InvalidInput(f"cannot read {file}: {err.strerror}") from err
    _show(ctx, [subject_id(s) for s in lines])
