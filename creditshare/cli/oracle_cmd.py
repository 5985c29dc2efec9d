"""`creditshare oracle propose|sign|submit|run|status`: signed scores on chain (lender reads are in score_cmd)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from creditshare.cli.context import emit, err_console, state, table
from creditshare.cli.options import OracleAccount
from creditshare.core.errors import InvalidInput
from creditshare.domain.settlements import parse_date

if TYPE_CHECKING:
    from creditshare.core.chain import ChainClient
    from scoring.model_card import ModelCard

app = typer.Typer(
    help="Oracle operators: build a score batch from the ledger and the champion card, sign it (k of n), submit it.",
    no_args_is_help=True,
)

CARD_HELP = (
    "This operator's copy of the champion model card; repeat it for the champions of other roles (shipper, carrier, "
    "platform). A role's champion not given is read from the evidence store (`model register` publishes it there)."
)


MPC_OUTPUT_HELP = (
    "A party's output file of a cross_platform_features MPC job recorded on chain: its xp_* "
    "aggregates become features (needed when the card uses them)."
)
CONFIG_HELP = "The oracle set's config file (ORACLES.json: oracles, endpoints, round settings)."

MpcOutput = Annotated[Path | None, typer.Option("--mpc-output", help=MPC_OUTPUT_HELP)]


def _card(path: Path) -> ModelCard:
    from scoring.model_card import ModelCard  # here: scoring loads pandas, which most commands never need

    return ModelCard.load(path)


def _cards(paths: list[Path]) -> list[ModelCard]:
    """The champion cards given (one --card per role at most)."""
    cards = [_card(p) for p in paths]
    roles = [c.role for c in cards]
    if len(set(roles)) != len(roles):
        raise InvalidInput("give at most one --card per role (shipper, carrier, platform).")
    return cards


def _aggregates(ctx: typer.Context, path: Path | None) -> dict[str, dict[str, int]] | None:
    """The verified xp_* aggregates of an MPC output file (its hash must be the one recorded on chain)."""
    if path is None:
        return None
    from oracle.mpc_features import load_aggregates

    return load_aggregates(state(ctx).client, path)


@app.command()
def propose(
    ctx: typer.Context,
    card: list[Path] = typer.Option(..., "--card", help=CARD_HELP),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Optional check, YYYY-MM-DD: the epoch block's date (a report is scored as of its epoch block's time).",
    ),
    epoch: int | None = typer.Option(
        None, "--epoch", min=1, help="Report epoch: a block number, newer than every stored epoch (default: latest)."
    ),
    ttl: int = typer.Option(86_400, "--ttl", min=60, help="Seconds the signatures stay valid after the epoch block."),
    out_dir: Path = typer.Option(Path("reports"), "--out-dir", help="Where to write the report files."),
    batch: int = typer.Option(500, "--batch", min=1, max=500, help="Subjects per report."),
    mpc_output: MpcOutput = None,
) -> None:
    """Score every subject from the ledger with its role's champion card as of a block; write report files to
    sign (shippers, and carriers and platforms once their roles have champions, in the same reports)."""
    from oracle import scores

    st = state(ctx)
    epoch = scores.confirmed_head(st.client, 0) if epoch is None else epoch
    block_time = _epoch_time(st.client, epoch)
    if as_of is not None:
        day = parse_date(as_of, "--as-of")
        if not day <= block_time < day + 86_400:
            raise InvalidInput(
                f"--as-of {as_of} is not the date of epoch block {epoch} ({_date(block_time)}): a report is "
                "scored as of its epoch block's time; leave out --as-of or pass that date."
            )
    paths = scores.propose(
        st.client,
        _cards(card),
        as_of=block_time,
        epoch=epoch,
        expiry=block_time + ttl,
        out_dir=out_dir,
        batch=batch,
        aggregates=_aggregates(ctx, mpc_output),
    )
    emit(
        st,
        [str(p) for p in paths],
        f"{len(paths)} report file(s) in {out_dir}; each needs k oracle signatures (`oracle sign`)",
    )


def _epoch_time(client: ChainClient, epoch: int) -> int:
    """The time of block `epoch`; a block not mined yet is refused by the report window check later."""
    from oracle import scores

    if epoch > scores.confirmed_head(client, 0):
        raise InvalidInput(
            f"epoch must be between 1 and the latest block number {scores.confirmed_head(client, 0)} "
            f"(epochs are block numbers); got {epoch}."
        )
    return client.block_timestamp(epoch)


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


@app.command()
def sign(
    ctx: typer.Context,
    reports: list[Path] = typer.Argument(..., help="Report files."),
    card: list[Path] = typer.Option(..., "--card", help=CARD_HELP),
    account: OracleAccount = None,
    mpc_output: MpcOutput = None,
    config: Path | None = typer.Option(
        None,
        "--config",
        help=CONFIG_HELP + " Its confirmations and report_ttl_seconds bound what is signed (default: 0 and 7 days).",
    ),
) -> None:
    """Recompute each batch independently and sign it only if it matches (epoch a confirmed block, as_of its time,
    expiry within the TTL)."""
    from oracle import scores
    from oracle.config import OracleConfig

    st = state(ctx)
    window = {}
    if config is not None:
        cfg = OracleConfig.load(config)
        window = {"confirmations": cfg.confirmations, "ttl": cfg.report_ttl_seconds}
    signer, loaded = st.account(account), _cards(card)
    aggregates = _aggregates(ctx, mpc_output)
    # every report is checked and recomputed before any signature is written: a refusal leaves every file as it was
    results = scores.sign_all(st.client, loaded, reports, signer, aggregates=aggregates, **window)
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
    results = scores.submit_all(st.client, reports, signer)  # every file checked before the first is sent
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
