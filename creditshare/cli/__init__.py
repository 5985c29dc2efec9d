"""The `creditshare` command line: parses, calls the library, prints.

Global options come before the command: ``creditshare --network local --json settlements show ID``.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from creditshare.cli import (
    audit_cmd,
    chain_cmd,
    consent_cmd,
    evidence_cmd,
    index_cmd,
    ipfs_cmd,
    keys_cmd,
    list_cmd,
    members_cmd,
    model_cmd,
    mpc_cmd,
    network_cmd,
    oracle_cmd,
    payouts_cmd,
    report_cmd,
    score_cmd,
    serve_cmd,
    settlements_cmd,
    trips_cmd,
)
from creditshare.cli.context import State, fail, fail_unexpected
from creditshare.core.errors import CreditShareError
from scoring.errors import ScoringError


class _Root(TyperGroup):
    """The CLI's one error boundary: every failure is one ``error:`` line on stderr and exit code 1.

    CreditShare's and the model factory's own errors print their message. What
    escapes them is still never a traceback: an OSError (a file or folder that
    cannot be read or written, a node that cannot be reached), a UnicodeError or
    a JSON error gets a line saying what and where; anything else is a bug and
    says so. ``--debug`` (or ``CREDITSHARE_DEBUG=1``) lets those unexpected
    errors through with their traceback.
    """

    # typer 0.29 vendors click: the supertype's parameter is its click Context, of which typer.Context is a subclass
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (CreditShareError, ScoringError) as err:
            fail(err)
            raise typer.Exit(1) from err
        except (TyperException, typer.Exit, typer.Abort):  # click's own: usage errors, exit codes, Ctrl-C
            raise
        except Exception as err:
            if _debug(ctx):
                raise
            fail_unexpected(err, ctx.obj if isinstance(ctx.obj, State) else None)
            raise typer.Exit(1) from err


def _debug(ctx: typer.Context) -> bool:
    state = ctx.obj
    return bool(getattr(state, "debug", False)) or os.environ.get("CREDITSHARE_DEBUG", "") not in ("", "0")


app = typer.Typer(
    cls=_Root,
    name="creditshare",
    help="CreditShare: the consortium credit-sharing network for road freight.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    network: str = typer.Option(
        None,
        "--network",
        "-n",
        envvar="CREDITSHARE_NETWORK",
        help="development (the tests' Anvil, CREDITSHARE_DEV_RPC_URL), local (persistent Anvil on :8545, the "
        "default) or consortium (CREDITSHARE_RPC_URL / CREDITSHARE_CHAIN_ID).",
    ),
    data_dir: str = typer.Option(
        None,
        "--data-dir",
        envvar="CREDITSHARE_DATA_DIR",
        help="Folder for keystores, deployments, the local chain state and evidence (default: ./data).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables."),
    debug: bool = typer.Option(
        False, "--debug", envvar="CREDITSHARE_DEBUG", help="Show the traceback of an unexpected error (a bug)."
    ),
) -> None:
    ctx.obj = State(network=network, data_dir=data_dir, json=json_output, debug=debug)


app.add_typer(chain_cmd.app, name="chain")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(members_cmd.app, name="members")
app.add_typer(settlements_cmd.app, name="settlements")
app.add_typer(model_cmd.app, name="model")
app.add_typer(oracle_cmd.app, name="oracle")
app.add_typer(score_cmd.app, name="score")
app.add_typer(mpc_cmd.app, name="mpc")
app.add_typer(mpc_cmd.psi_app, name="psi")
app.add_typer(list_cmd.app, name="list")
app.add_typer(list_cmd.token_app, name="token")
app.add_typer(consent_cmd.app, name="consent")
app.add_typer(ipfs_cmd.app, name="ipfs")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(index_cmd.app, name="index")
app.add_typer(payouts_cmd.app, name="payouts")
app.add_typer(trips_cmd.app, name="trips")
app.add_typer(network_cmd.app, name="network")
app.command("audit")(audit_cmd.audit)
app.command("deploy")(members_cmd.deploy)
app.command("report")(report_cmd.report)
app.command("serve")(serve_cmd.serve)


@app.command("demo")
def demo(
    ctx: typer.Context,
    shippers: int = typer.Option(
        100, "--shippers", min=2, max=999, help="Shippers in the market (about 510 settlements each over the year)."
    ),
    carriers: int = typer.Option(500, "--carriers", min=2, max=9999, help="Carriers and drivers in the market."),
    seed: int = typer.Option(7, "--seed", min=0, help="Seed of the synthetic market the demo plays."),
) -> None:
    """Play a year of a freight market end to end on the persistent local chain (what `make demo` runs)."""
    from creditshare.demo.run import run_demo

    state = ctx.find_root().obj
    run_demo(state.settings, shippers=shippers, carriers=carriers, seed=seed)


def main() -> None:
    app()
