"""`creditshare oracle propose|sign|submit|run|status`: signed scores on chain (lender reads are in score_cmd)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from creditshare.cli.context import emit, err_console, state, table
from creditshare.cli.options import OracleAccount
from creditshare.domain.settlements import parse_date

if TYPE_CHECKING:
    from scoring.model_card import ModelCard

app = typer.Typer(
    help="Oracle operators: build a score batch from the ledger and the champion card, sign it (k of n), submit it.",
    no_args_is_help=True,
)

CARD_HELP = "This operator's copy of the champion model card."


MPC_OUTPUT_HELP = (
    "A party's output file of a cross_platform_features MPC job recorded on chain: its xp_* "
    "aggregates become features (needed when the card uses them)."
)
CONFIG_HELP = "The oracle set's config file (ORACLES.json: oracles, endpoints, round settings)."

MpcOutput = Annotated[Path | None, typer.Option("--mpc-output", help=MPC_OUTPUT_HELP)]


def _card(path: Path) -> ModelCard:
    from scoring.model_card import ModelCard  # here: scoring loads pandas, which most commands never need

    return ModelCard.load(path)


def _aggregates(ctx: typer.Context, path: Path | None) -> dict[str, dict[str, int]] | None:
    """The verified xp_* aggregates of an MPC output file (its hash must be the one recorded on chain)."""
    if path is None:
        return None
    from oracle.mpc_features import load_aggregates

    return load_aggregates(state(ctx).client, path)


@app.command()
def propose(
    ctx: typer.Context,
    card: Path = typer.Option(..., "--card", help=CARD_HELP),
    as_of: str = typer.Option(..., "--as-of", help="Score date, YYYY-MM-DD: no data after it is used."),
    epoch: int = typer.Option(..., "--epoch", min=1, help="Report epoch; newer than every stored epoch."),
    ttl: int = typer.Option(86_400, "--ttl", min=60, help="Seconds the signatures stay valid."),
    out_dir: Path = typer.Option(Path("reports"), "--out-dir", help="Where to write the report files."),
    batch: int = typer.Option(500, "--batch", min=1, max=500, help="Subjects per report."),
    mpc_output: MpcOutput = None,
) -> None:
    """Score every shipper from the ledger with the champion card; write report files to sign."""
    from oracle import scores

    st = state(ctx)
    expiry = st.client.block_timestamp() + ttl
    paths = scores.propose(
        st.client,
        _card(card),
        as_of=parse_date(as_of, "--as-of"),
        epoch=epoch,
        expiry=expiry,
        out_dir=out_dir,
        batch=batch,
        aggregates=_aggregates(ctx, mpc_output),
    )
    emit(
        st,
        [str(p) for p in paths],
        f"{len(paths)} report file(s) in {out_dir}; each needs k oracle signatures (`oracle sign`)",
    )


@app.command()
def sign(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="Report files."),
    card: Path = typer.Option(..., "--card", help=CARD_HELP),
    account: OracleAccount = None,
    mpc_output: MpcOutput = None,
) -> None:
    """Recompute each batch independently and sign it only if it matches."""
    from oracle import scores

    st = state(ctx)
    signer, loaded = st.account(account), _card(card)
    aggregates = _aggregates(ctx, mpc_output)
    results = {str(p): scores.sign(st.client, loaded, p, signer, aggregates=aggregates) for p in reports}
    emit(st, results, [f"{path}: {outcome}" for path, outcome in results.items()])


@app.command()
def submit(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="Signed report files."),
    account: OracleAccount = None,
) -> None:
    """Submit signed reports (one transaction each, one signature set per batch)."""
    from oracle import scores

    st = state(ctx)
    signer = st.account(account)
    results = {str(p): scores.submit(st.client, p, signer) for p in reports}
    emit(
        st,
        results,
        [
            f"{path}: {r['entries']} scores, {r['signatures']} signatures, {r['gas_per_score']} gas each"
            for path, r in results.items()
        ],
    )


@app.command()
def run(
    ctx: typer.Context,
    oracle_id: int = typer.Option(..., "--id", min=1, help="This operator's id in the config."),
    config: Path = typer.Option(..., "--config", help=CONFIG_HELP),
    card: Path = typer.Option(..., "--card", help=CARD_HELP + " Re-read when the file changes (after a promotion)."),
    once: bool = typer.Option(False, "--once", help="Exit once every pending event is scored on chain."),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="With --once: give up after this many seconds."),
    mpc_output: MpcOutput = None,
) -> None:
    """Run the oracle daemon: follow chain events, score, gather k signatures from the peers, submit once."""
    import logging

    from oracle.config import OracleConfig
    from oracle.daemon import Daemon

    st = state(ctx)
    cfg = OracleConfig.load(config)
    entry = cfg.by_id(oracle_id)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def say(line: str) -> None:
        err_console.print(line, highlight=False, soft_wrap=True)

    daemon = Daemon(
        st.settings, cfg, oracle_id, st.account(entry.keystore), card, say=say, aggregates=_aggregates(ctx, mpc_output)
    )
    daemon.serve()
    say(f"{entry.name}: serving peers on {entry.url}; checkpoint block {daemon.cp.block}")
    try:
        if once:
            result = daemon.run_once(timeout)
            emit(st, result, f"{entry.name}: every pending event is scored on chain; checkpoint {result['checkpoint']}")
        else:
            daemon.run_forever()
    except KeyboardInterrupt:
        say(f"{entry.name}: stopped; checkpoint block {daemon.cp.block}")
    finally:
        daemon.close()


@app.command()
def status(ctx: typer.Context, config: Path = typer.Option(..., "--config", help=CONFIG_HELP)) -> None:
    """Checkpoint and last round of every oracle of the config (its endpoint, or its local checkpoint file)."""
    from oracle.config import OracleConfig
    from oracle.daemon import status_rows

    st = state(ctx)
    rows = status_rows(OracleConfig.load(config), st.settings.data_dir)
    emit(
        st,
        rows,
        lambda: table(
            "Oracles",
            ["id", "name", "up", "checkpoint", "last round"],
            [
                [
                    r["id"],
                    r["name"],
                    "yes" if r.get("up") else "no",
                    "-" if r.get("checkpoint") is None else r["checkpoint"],
                    (r.get("last_round") or {}).get("status", "-"),
                ]
                for r in rows
            ],
        ),
    )
