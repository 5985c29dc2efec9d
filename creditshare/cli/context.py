"""What every command shares: settings, the chain client, the signing account, output."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from creditshare.core import keys
from creditshare.core.chain import ChainClient
from creditshare.core.config import Settings, load_settings
from creditshare.core.errors import CreditShareError
from scoring.errors import ScoringError

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    network: str | None
    data_dir: str | None
    json: bool
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _client: ChainClient | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.network, self.data_dir)
        return self._settings

    @property
    def client(self) -> ChainClient:
        if self._client is None:
            self._client = ChainClient(self.settings)
            self._client.check_connection()
        return self._client

    def account(self, name: str | None) -> LocalAccount:
        return keys.load_account(self.settings.keystore_dir, name)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


#: what a command prints without --json: a line, lines, or a function that prints (tables, styled lines)
Text = str | Sequence[str] | Callable[[], object] | None


def emit(st: State, result: Any, text: Text = None) -> None:
    """A command's outcome, printed once: ``result`` as JSON with --json, else ``text`` (nothing if None)."""
    if st.json:
        emit_json(result)
    elif callable(text):
        text()
    elif isinstance(text, str):
        console.print(text)
    elif text is not None:
        for line in text:
            console.print(line)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    console.print(t)


def progress(quiet: bool) -> Progress:
    """A progress bar on stderr (hidden with --json so that stdout stays parseable)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=False,
    )


def fail(err: CreditShareError | ScoringError) -> None:
    # escaped: a message quoting user input ("[x]" in a path or a CSV field) is not rich markup
    err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
    details = getattr(err, "errors", None)
    if details:
        for item in details:
            err_console.print(f"  {escape(str(item))}", highlight=False, soft_wrap=True)


# userinfo and query strings of URLs in a message: an RPC URL may carry credentials
_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@\s]*@)?(?P<rest>[^\s?'\"]*)(?P<query>\?[^\s'\"]*)?", re.I
)


def _redact(text: str) -> str:
    def hide(m: re.Match[str]) -> str:
        return m["scheme"] + ("***@" if m["user"] else "") + m["rest"] + ("?***" if m["query"] else "")

    return _URL.sub(hide, text)


def describe_unexpected(err: BaseException, st: State | None = None) -> str:
    """One line for an error that escaped the project's own error types (see creditshare.cli._Root)."""
    if isinstance(err, OSError):
        where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
        reason = err.strerror or str(err) or type(err).__name__
        if not where:
            return _redact(f"{reason} ({type(err).__name__})")
        text = f"{where}: {reason}"
        folder = str(st._settings.data_dir) if st is not None and st._settings is not None else None
        if folder and str(err.filename).startswith(folder):
            text += f" (in the data folder {folder}; choose another with --data-dir or CREDITSHARE_DATA_DIR)"
        return _redact(text)
    if isinstance(err, UnicodeDecodeError):
        return f"an input is not UTF-8 text: byte 0x{err.object[err.start]:02X} at offset {err.start}"
    if isinstance(err, UnicodeError):
        return f"an input cannot be encoded or decoded: {err}"
    if isinstance(err, json.JSONDecodeError):
        return f"an input is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
    if isinstance(err, RecursionError):
        return "an input is nested too deeply"
    return _redact(
        f"unexpected {type(err).__name__}: {err} -- this is a bug in creditshare; "
        "run again with --debug (or CREDITSHARE_DEBUG=1) for the traceback and report it"
    )


def fail_unexpected(err: BaseException, st: State | None = None) -> None:
    err_console.print(f"[bold red]error:[/] {escape(describe_unexpected(err, st))}", highlight=False, soft_wrap=True)
