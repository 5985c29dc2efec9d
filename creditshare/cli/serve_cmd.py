"""`creditshare serve`: this member's web console and JSON API (creditshare.web) on loopback."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

import typer

from creditshare.cli.context import console, state
from creditshare.cli.options import Account
from creditshare.core.errors import ConfigError, InvalidInput

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def token_file(data_dir: Path, key: str) -> Path:
    return data_dir / "console" / f"{key}.token"


def api_token(path: Path) -> str:
    """The member's API token: read from `path`, or made once and written there readable by this user only."""
    if path.exists():
        try:
            token = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeError) as err:
            raise ConfigError(f"cannot read the API token {path} ({err}); delete it to have a new one made.") from err
        if len(token) < 32 or not token.isprintable() or any(c.isspace() for c in token):
            raise ConfigError(f"{path} does not hold an API token (delete it to have a new one made).")
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def _check_listen(host: str, port: int) -> None:
    """Refuses a port that is taken (or a host that is no address here) before anything is unlocked: uvicorn
    would only log it and exit."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as err:
        raise InvalidInput(f"cannot listen on {host}:{port}: {err.strerror or err} (choose another --port)") from err


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    account: Account = None,
    card: Path | None = typer.Option(
        None,
        "--card",
        help="The champion's public model card: reason codes and the model page (default: the "
        "demo's card in the data folder, if there is one).",
    ),
    max_age_days: int = typer.Option(
        90, "--max-age-days", help="A score older than this is shown as stale; 0: no limit."
    ),
    public: bool = typer.Option(
        False, "--public", help="Allow a --host that is not loopback (the console signs as your member: think twice)."
    ),
) -> None:
    """Serve this member's console (search, subject, portfolio, model, network pages) and its JSON API.

    Every action is signed with --account's key, unlocked once at start (CREDITSHARE_PASSWORD or a prompt). The
    API's bearer token is written to <data>/console/<account>.token; the API's schema is at /api/openapi.json."""
    import uvicorn

    from creditshare.cli.score_cmd import load_card
    from creditshare.web.app import create_app
    from creditshare.web.console import Console, ConsoleClient, ConsoleConfig
    from oracle.provenance import check_max_age

    st = state(ctx)
    if host not in LOOPBACK and not public:
        raise InvalidInput(f"--host {host} is not loopback: the console signs as your member; add --public to mean it.")
    _check_listen(host, port)
    limit = check_max_age(max_age_days)
    name = account or os.environ.get("CREDITSHARE_ACCOUNT")
    if not name and not os.environ.get("CREDITSHARE_PRIVATE_KEY"):
        raise ConfigError("the console signs as one member: pass --account NAME.")
    signer = st.account(name)
    if card is None and (st.settings.data_dir / "demo" / "card.json").exists():
        card = st.settings.data_dir / "demo" / "card.json"
    config = ConsoleConfig(signer, name or signer.address, load_card(card), card, limit)
    client = ConsoleClient(st.settings)
    client.check_connection()
    app = create_app(
        Console(client, config),
        api_token(token_file(st.settings.data_dir, name or "key")),
        [host, "127.0.0.1", "localhost", "[::1]"],
    )
    console.print(
        f"console of {signer.address} ({name}) on http://{host}:{port}/ ; API token in "
        f"{token_file(st.settings.data_dir, name or 'key')}",
        soft_wrap=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
