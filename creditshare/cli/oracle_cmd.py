"""`creditshare oracle propose|sign|submit`: signed scores on chain (lender reads are in score_cmd)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from creditshare.cli.context import console, emit_json, state
from creditshare.settlements import parse_date

app = typer.Typer(help="Oracle operators: build a score batch from the ledger and the champion card, sign it "
                       "(k of n), submit it.", no_args_is_help=True)

ACCOUNT_HELP = "Keystore name of this oracle operator's account."
CARD_HELP = "This operator's copy of the champion model card."


def _card(path: Path):  # noqa: ANN202 - scoring is imported late (it loads pandas)
    from scoring.model_card import ModelCard

    return ModelCard.load(path)


@app.command()
def propose(
    ctx: typer.Context,
    card: Path = typer.Option(..., "--card", help=CARD_HELP),
    as_of: str = typer.Option(..., "--as-of", help="Score date, YYYY-MM-DD: no data after it is used."),
    epoch: int = typer.Option(..., "--epoch", min=1, help="Report epoch; newer than every stored epoch."),
    ttl: int = typer.Option(86_400, "--ttl", min=60, help="Seconds the signatures stay valid."),
    out_dir: Path = typer.Option(Path("reports"), "--out-dir", help="Where to write the report files."),
    batch: int = typer.Option(500, "--batch", min=1, max=500, help="Subjects per report."),
) -> None:
    """Score every shipper from the ledger with the champion card; write report files to sign."""
    from creditshare import scores

    st = state(ctx)
    expiry = st.client.block_timestamp() + ttl
    paths = scores.propose(st.client, _card(card), as_of=parse_date(as_of, "--as-of"), epoch=epoch, expiry=expiry, out_dir=out_dir,
                           batch=batch)
    if st.json:
        emit_json([str(p) for p in paths])
    else:
        console.print(f"{len(paths)} report file(s) in {out_dir}; each needs k oracle signatures (`oracle sign`)")


@app.command()
def sign(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="Report files."),
    card: Path = typer.Option(..., "--card", help=CARD_HELP),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Recompute each batch independently and sign it only if it matches."""
    from creditshare import scores

    st = state(ctx)
    signer, loaded = st.account(account), _card(card)
    results = {str(p): scores.sign(st.client, loaded, p, signer) for p in reports}
    if st.json:
        emit_json(results)
    else:
        for path, outcome in results.items():
            console.print(f"{path}: {outcome}")


@app.command()
def submit(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="Signed report files."),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Submit signed reports (one transaction each, one signature set per batch)."""
    from creditshare import scores

    st = state(ctx)
    signer = st.account(account)
    results = {str(p): scores.submit(st.client, p, signer) for p in reports}
    if st.json:
        emit_json(results)
    else:
        for path, r in results.items():
            console.print(f"{path}: {r['entries']} scores, {r['signatures']} signatures, {r['gas_per_score']} gas each")
