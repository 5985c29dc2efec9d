"""Start handshake: every party checks in with party 0 before any MPC traffic.

Party 0 is the coordinator: MPyC never listens on party 0's port (party 0 only
dials out), so the handshake can use that port without racing MPyC. Each
party sends its config summary and whether its own inputs validated; party 0
compares them and sends one verdict to all. A mismatch, an invalid input or a
party that does not show up aborts the job for everyone before any input is
shared.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from creditshare.core.errors import PrivacyError
from privacy.config import ConfigSummary, MpcConfig

log = logging.getLogger(__name__)
MAX_LINE = 1 << 16


@dataclass(frozen=True)
class Hello:
    party_id: int
    summary: ConfigSummary
    input_error: str | None

    def encode(self) -> bytes:
        return (
            json.dumps(
                {
                    "type": "hello",
                    "party_id": self.party_id,
                    "summary": self.summary.to_json(),
                    "input_error": self.input_error,
                }
            ).encode()
            + b"\n"
        )


def _verdict_line(error: str | None) -> bytes:
    return json.dumps({"type": "verdict", "ok": error is None, "error": error}).encode() + b"\n"


def judge(config: MpcConfig, hellos: dict[int, Hello]) -> str | None:
    """The first problem among the hellos (party 0's own included), or None."""
    mine = hellos[0].summary
    for pid in sorted(hellos):
        h = hellos[pid]
        if pid != 0:
            diff = mine.mismatch(h.summary, me=0, them=pid)
            if diff:
                return f"config mismatch: {diff}"
        if h.input_error:
            return f"party {pid} inputs are invalid: {h.input_error}"
    return None


async def coordinate(config: MpcConfig, own: Hello, timeout: float) -> None:
    """Party 0: collect every other party's hello, then send all the same verdict."""
    m = config.n_parties
    hellos: dict[int, Hello] = {0: own}
    writers: dict[int, asyncio.StreamWriter] = {}
    problems: list[str] = []
    everyone = asyncio.Event()
    verdict_sent = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
            msg = json.loads(line)
            pid = int(msg["party_id"])
            hello = Hello(pid, ConfigSummary.from_json(msg["summary"]), msg.get("input_error"))
        except Exception as err:  # noqa: BLE001 - any malformed hello is dropped
            log.debug("bad handshake from a peer: %s", err)
            writer.close()
            return
        if not 0 < pid < m:
            diff = own.summary.mismatch(hello.summary, me=0, them=pid)
            problems.append(
                f"config mismatch: {diff}" if diff else f"party {pid} is not in party 0's config ({m} parties)."
            )
            writer.write(_verdict_line(problems[-1]))
            writer.close()
            everyone.set()
            return
        if pid in hellos:
            problems.append(f"two processes claim to be party {pid}.")
            writer.write(_verdict_line(problems[-1]))
            writer.close()
            everyone.set()
            return
        hellos[pid] = hello
        writers[pid] = writer
        if len(hellos) == m:
            everyone.set()
        await verdict_sent.wait()

    me = config.parties[0]
    try:
        server = await asyncio.start_server(on_connect, port=me.port, limit=MAX_LINE)
    except OSError as err:
        raise PrivacyError(f"party 0 cannot listen on port {me.port}: {err.strerror}.") from err
    try:
        try:
            await asyncio.wait_for(everyone.wait(), timeout)
        except TimeoutError:
            missing = [i for i in range(1, m) if i not in hellos]
            names = ", ".join(f"party {i} ({config.parties[i].endpoint})" for i in missing)
            problems.append(f"{names} did not join within {timeout:g} s; is it running?")
        error = problems[0] if problems else judge(config, hellos)
        for writer in writers.values():
            writer.write(_verdict_line(error))
        await asyncio.gather(*(w.drain() for w in writers.values()), return_exceptions=True)
        verdict_sent.set()
        for writer in writers.values():
            writer.close()
    finally:
        server.close()
        await server.wait_closed()
    if error:
        raise PrivacyError(f"job {config.job_id!r} aborted at start: {error}")


async def join(config: MpcConfig, own: Hello, timeout: float) -> None:
    """Party i > 0: check in with party 0 and wait for its verdict."""
    coordinator = config.parties[0]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_connection(coordinator.host, coordinator.port, limit=MAX_LINE)
            break
        except OSError:
            if loop.time() >= deadline:
                raise PrivacyError(
                    f"party {own.party_id} could not reach party 0 (the coordinator) at "
                    f"{coordinator.endpoint} within {timeout:g} s; is it running?"
                ) from None
            await asyncio.sleep(0.2)
    try:
        writer.write(own.encode())
        await writer.drain()
        # party 0 may itself wait up to `timeout` for the slowest party
        line = await asyncio.wait_for(reader.readline(), 2 * timeout + 5)
    except (TimeoutError, OSError) as err:
        raise PrivacyError(f"party {own.party_id}: no start verdict from party 0 ({type(err).__name__}).") from err
    finally:
        writer.close()
    if not line:
        raise PrivacyError(f"party {own.party_id}: party 0 closed the start handshake without a verdict.")
    try:
        verdict: dict[str, Any] = json.loads(line)
    except ValueError as err:
        raise PrivacyError(f"party {own.party_id}: unreadable start verdict from party 0.") from err
    if not verdict.get("ok"):
        raise PrivacyError(f"job {config.job_id!r} aborted at start: {verdict.get('error')}")
