"""One MPC party: a data holder's own process, talking to the others over TCP.

    python -m privacy.party --config job.json --id 1 --inputs mine.csv --output out.json

Sequence: load and validate the config and this holder's inputs locally →
start handshake with party 0 (configs compared, input validity shared) →
MPyC connects the parties (bounded wait) → a second check over the MPyC
channel (config hash and input shape) → the secure computation → every party
confirms it holds the same output hash → only then is the output file written.
A watchdog aborts the job if a peer's connection drops or the job runs too
long; on any failure nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from creditshare.core.errors import CreditShareError, InvalidInput, PrivacyError
from privacy import computations
from privacy.config import MpcConfig, load_config
from privacy.features import revealed_payload
from privacy.handshake import Hello, coordinate, join
from privacy.inputs import InvalidPartyInput, PartyInputs, expected_shape, load_inputs
from privacy.record import (
    input_commitment,
    job_record,
    new_salt,
    output_hash,
    participants_of,
    write_json_atomic,
)

log = logging.getLogger("privacy.party")  # also when run as __main__
WATCH_INTERVAL_S = 0.1


@dataclass(frozen=True)
class PartyResult:
    """What a party ends a successful job with (also written to its output file)."""

    party_id: int
    output: dict[str, Any]
    output_path: Path | None

    @property
    def revealed(self) -> dict[str, Any]:
        return dict(self.output["revealed"])

    @property
    def record(self) -> dict[str, Any]:
        return dict(self.output["record"])


def run_party(
    config_path: Path,
    party_id: int,
    inputs_path: Path,
    output_path: Path | None = None,
    *,
    record_path: Path | None = None,
) -> PartyResult:
    """Run this holder's party of the job in `config_path` to the end.

    Raises InvalidInput (this holder's own config/inputs are bad; the other
    parties are told and abort too) or PrivacyError (the job failed: a peer is
    down, dropped, has another config or bad inputs). Nothing is written then.
    On success the output (revealed aggregates, output hash, job record) goes
    to `output_path` and, if given, the job record alone to `record_path`.
    """
    config = load_config(Path(config_path))
    if not 0 <= party_id < config.n_parties:
        raise InvalidInput(
            f"party id {party_id} is not in the config ({config.n_parties} parties: 0..{config.n_parties - 1})."
        )
    inputs: PartyInputs | None = None
    input_error: str | None = None  # what the other parties are told
    local_error = ""
    try:
        inputs = load_inputs(config, Path(inputs_path))
        if inputs.values.shape != expected_shape(config):
            msg = f"inputs have shape {inputs.values.shape}; the job fixes {expected_shape(config)}."
            raise InvalidPartyInput(msg, msg)
    except InvalidPartyInput as err:
        input_error, local_error = err.public, str(err)
    except InvalidInput as err:
        input_error, local_error = "its inputs file could not be read or has the wrong format.", str(err)

    rt = _new_runtime(config, party_id)
    _quiet_connection_errors(rt)
    try:
        output = rt.run(_party_main(rt, config, party_id, inputs, input_error, local_error))
    except RuntimeError as err:
        # MPyC stops the event loop when one of its coroutines fails, typically
        # on a send to a peer that has just dropped
        raise _job_failed(rt, config, err) from None
    finally:
        _close_connections(rt)
    if output_path is not None:
        write_json_atomic(Path(output_path), output)
    if record_path is not None:
        write_json_atomic(Path(record_path), output["record"])
    return PartyResult(party_id, output, Path(output_path) if output_path else None)


async def _party_main(
    rt: Any, config: MpcConfig, party_id: int, inputs: PartyInputs | None, input_error: str | None, local_error: str
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    hello = Hello(party_id, config.summary(), input_error)
    try:
        if party_id == 0:
            await coordinate(config, hello, config.connect_timeout_s)
        else:
            await join(config, hello, config.connect_timeout_s)
    except PrivacyError:
        if input_error:
            raise InvalidInput(
                f"party {party_id} inputs are invalid: {local_error} The job was aborted for all parties."
            ) from None
        raise
    if inputs is None:  # unreachable: an input error always fails the handshake
        raise InvalidInput(f"party {party_id} inputs are invalid: {local_error}")
    log.info("party %s: start handshake passed (%.1f s)", party_id, loop.time() - t0)
    await start_mpyc(rt, config)
    log.info("party %s: all %s parties connected (%.1f s)", party_id, config.n_parties, loop.time() - t0)
    return await _watched(rt, config, _job(rt, config, inputs))


async def start_mpyc(rt: Any, config: MpcConfig) -> None:
    try:
        await asyncio.wait_for(rt.start(), config.connect_timeout_s)
    except TimeoutError:
        missing = [p.pid for p in rt.parties if p.pid != rt.pid and p.protocol is None]
        names = ", ".join(f"party {i} ({config.parties[i].endpoint})" for i in missing)
        raise PrivacyError(
            f"party {rt.pid} could not connect to {names or 'its peers'} within "
            f"{config.connect_timeout_s:g} s after the start handshake."
        ) from None
    except OSError as err:
        raise PrivacyError(f"party {rt.pid} cannot open its MPC port: {err}.") from err
    # absorbs MPyC's "all peers gone" signal if peers drop later (see unset_protocol)
    rt.parties[rt.pid].protocol = asyncio.get_running_loop().create_future()


async def _job(rt: Any, config: MpcConfig, inputs: PartyInputs) -> dict[str, Any]:
    me = rt.pid
    salt = new_salt()
    commitment = input_commitment(salt, inputs.canonical_bytes(config))
    # second check, over the MPyC channel itself: same config, same input shape
    peers = await rt.transfer((config.config_hash(), list(inputs.values.shape), commitment))
    for pid, (cfg_hash, shape, _) in enumerate(peers):
        if cfg_hash != config.config_hash():
            raise PrivacyError(
                f"config mismatch on the MPC channel: party {pid} has config hash "
                f"{cfg_hash[:18]}…; party {me} has {config.config_hash()[:18]}…."
            )
        if tuple(shape) != inputs.values.shape:
            raise PrivacyError(f"party {pid} inputs have shape {tuple(shape)}; party {me} has {inputs.values.shape}.")
    commitments = [c for _, _, c in peers]

    t0 = asyncio.get_running_loop().time()
    result = await computations.SECURE[config.computation](rt, inputs.values)
    log.info("party %s: secure %s done (%.1f s)", me, config.computation, asyncio.get_running_loop().time() - t0)
    revealed = revealed_payload(config, result)
    digest = output_hash(revealed)
    # all-or-nothing: nobody writes an output unless every party reached this point
    # and holds the same output
    acks = await rt.transfer(digest)
    for pid, other in enumerate(acks):
        if other != digest:
            raise PrivacyError(
                f"party {pid} computed output hash {str(other)[:18]}…; party {me} "
                f"computed {digest[:18]}…; no output written."
            )
    record = job_record(
        job_id=config.job_id,
        participants=participants_of(config),
        purpose=config.purpose,
        input_commitments=commitments,
        output_hash=digest,
        computation=config.computation,
        config_hash=config.config_hash(),
    )
    return {
        "job_id": config.job_id,
        "computation": config.computation,
        "party_id": me,
        "config_hash": config.config_hash(),
        "revealed": revealed,
        "output_hash": digest,
        "record": record,
        # this party's own salt: lets it open its own commitment later (e.g. in a dispute)
        "own_input_salt": "0x" + salt.hex(),
    }


async def _watched(rt: Any, config: MpcConfig, job: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Run the job; abort it if a peer's connection drops or it runs past the job timeout."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(job)
    deadline = loop.time() + config.job_timeout_s
    while not task.done():
        await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
        if task.done():
            break
        if _lost_peers(rt):
            task.cancel()
            raise _job_failed(rt, config, ConnectionError("peer lost"))
        if loop.time() >= deadline:
            task.cancel()
            raise PrivacyError(
                f"party {rt.pid}: job {config.job_id!r} did not finish within "
                f"{config.job_timeout_s:g} s; aborted, no output written."
            )
    result: dict[str, Any] = task.result()
    try:
        await asyncio.wait_for(rt.shutdown(), config.connect_timeout_s)
    except (TimeoutError, OSError, AttributeError) as err:
        # every party already confirmed the output hash; a late drop changes nothing
        log.warning("party %s: MPC shutdown incomplete (%s)", rt.pid, type(err).__name__)
    return result


def _lost_peers(rt: Any) -> list[int]:
    if rt.start_time is None:  # MPyC not connected yet: nothing to lose
        return []
    return [p.pid for p in rt.parties if p.pid != rt.pid and _connection_lost(p)]


def _job_failed(rt: Any, config: MpcConfig, err: Exception) -> PrivacyError:
    lost = _lost_peers(rt)
    if lost:
        who = ", ".join(f"party {i}" for i in lost)
        return PrivacyError(
            f"party {rt.pid}: {who} disconnected mid-job; job {config.job_id!r} aborted, no output written."
        )
    return PrivacyError(
        f"party {rt.pid}: the secure computation of job {config.job_id!r} failed ({err}); no output written."
    )


def _connection_lost(peer: Any) -> bool:
    protocol = peer.protocol
    if protocol is None:
        return True
    transport = getattr(protocol, "transport", None)
    return transport is None or transport.is_closing()


def mpyc_argv(config: MpcConfig, party_id: int) -> list[str]:
    """MPyC's own command-line options for this party: -P host:port per party, -I index."""
    argv = ["creditshare-mpc-party"]
    for p in config.parties:
        argv += ["-P", p.endpoint]
    argv += ["-I", str(party_id), "--no-log"]
    if config.ssl:
        argv.append("--ssl")
    return argv


def _new_runtime(config: MpcConfig, party_id: int) -> Any:
    """A fresh MPyC runtime configured through MPyC's own option parser.

    MPyC reads sys.argv when `mpyc.runtime` is first imported; our own
    arguments (e.g. `--config`, which MPyC would also claim) must not leak
    into it, so the argv is swapped for MPyC's options while it parses.
    """
    saved = sys.argv
    sys.argv = mpyc_argv(config, party_id)
    try:
        already = "mpyc.runtime" in sys.modules
        import mpyc.runtime as mpyc_runtime

        rt = mpyc_runtime.setup() if already else mpyc_runtime.mpc
    finally:
        sys.argv = saved
    if rt.pid != party_id or len(rt.parties) != config.n_parties:
        raise PrivacyError(
            f"MPyC runtime set up as party {rt.pid} of {len(rt.parties)}; "
            f"expected party {party_id} of {config.n_parties}."
        )
    return rt


def _quiet_connection_errors(rt: Any) -> None:
    """MPyC raises connection errors inside asyncio callbacks; the watchdog reports them."""
    loop = rt._loop
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, (ConnectionError, asyncio.InvalidStateError, asyncio.CancelledError)) or _lost_peers(rt):
            # the job fails with a PrivacyError naming the lost party; no traceback noise
            log.debug("connection event: %r", exc)
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)


def _close_connections(rt: Any) -> None:
    for p in rt.parties:
        if p.pid != rt.pid and p.protocol is not None and hasattr(p.protocol, "close_connection"):
            try:
                p.protocol.close_connection()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass


def plaintext_result(config: MpcConfig, per_party: list[PartyInputs]) -> np.ndarray:
    """The same aggregates computed in the clear (tests and the benchmark baseline)."""
    return computations.PLAINTEXT[config.computation]([p.values for p in per_party])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m privacy.party", description="Run one party of a CreditShare MPC job."
    )
    parser.add_argument("--config", required=True, type=Path, help="job config (JSON or TOML)")
    parser.add_argument("--id", required=True, type=int, dest="party_id", help="this party's index")
    parser.add_argument("--inputs", required=True, type=Path, help="this holder's inputs (CSV or JSON)")
    parser.add_argument("--output", type=Path, default=None, help="where to write the revealed output")
    parser.add_argument("--record", type=Path, default=None, help="where to write the job record alone")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each phase with its duration")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("privacy").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        result = run_party(args.config, args.party_id, args.inputs, args.output, record_path=args.record)
    except CreditShareError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    where = f" → {result.output_path}" if result.output_path else ""
    print(
        f"party {result.party_id}: job {result.output['job_id']} done, output hash "
        f"{result.output['output_hash']}{where}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
