"""`creditshare keys new|import|list`: encrypted keystores for signing accounts."""

from __future__ import annotations

import os
import sys

import typer

from creditshare.cli.context import emit, progress, state, table
from creditshare.core import keys
from creditshare.core.errors import ConfigError

app = typer.Typer(
    help="Encrypted keystores (password from CREDITSHARE_PASSWORD, CREDITSHARE_PASSWORD_FILE or a prompt).",
    no_args_is_help=True,
)


@app.command("new")
def new(
    ctx: typer.Context,
    names: list[str] = typer.Argument(..., help="Keystore name(s), e.g. platform-1; several share one password."),
) -> None:
    """Create new accounts, each in its own encrypted keystore (one password prompt for all)."""
    st = state(ctx)
    for name in names:  # check every name before creating any
        path = keys.keystore_path(st.settings.keystore_dir, name)
        if path.exists():
            raise ConfigError(f"a keystore named {name!r} exists already ({path}); choose another name.")
    if len(set(names)) != len(names):
        raise ConfigError("a keystore name is given twice.")
    password = keys.read_password(confirm=True)
    created = []
    with progress(st.json or len(names) == 1) as bar:
        task = bar.add_task("creating keystores", total=len(names))
        for name in names:
            created.append(
                {"name": name, "address": keys.create_keystore(st.settings.keystore_dir, name, password=password)}
            )
            bar.advance(task)
    emit(
        st,
        created[0] if len(created) == 1 else created,
        [f"created keystore {c['name']}: {c['address']}" for c in created],
    )


@app.command("import")
def import_(ctx: typer.Context, name: str = typer.Argument(..., help="Keystore name.")) -> None:
    """Import a private key read from CREDITSHARE_IMPORT_KEY or stdin (never from argv)."""
    st = state(ctx)
    secret = os.environ.get("CREDITSHARE_IMPORT_KEY") or (
        sys.stdin.readline().strip() if not sys.stdin.isatty() else ""
    )
    if not secret:
        raise ConfigError("give the key on stdin or in CREDITSHARE_IMPORT_KEY.")
    try:
        address = keys.create_keystore(st.settings.keystore_dir, name, private_key=secret)
    except ValueError as err:
        raise ConfigError("that is not a valid private key.") from err
    emit(st, {"name": name, "address": address}, f"imported keystore {name}: {address}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List keystores and their addresses (nothing is unlocked)."""
    st = state(ctx)
    found = keys.list_keystores(st.settings.keystore_dir)
    emit(
        st,
        [{"name": n, "address": a} for n, a in found.items()],
        lambda: table("Keystores", ["name", "address"], [[n, a] for n, a in found.items()]),
    )
