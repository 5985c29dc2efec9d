"""The oracle set's config file (ORACLES.json), shared by the n operators.

    {
      "oracles": [
        {"id": 1, "name": "oracle-1", "keystore": "oracle-1", "address": "0x…", "host": "127.0.0.1", "port": 18601},
        …
      ],
      "round": {"confirmations": 0, "poll_seconds": 1.0, "leader_timeout_seconds": 15,
                "report_ttl_seconds": 3600, "batch": 500, "request_timeout_seconds": 60,
                "round_blocks": 1}
    }

`keystore` names the encrypted keystore of that operator's account in its own
data folder (only the operator running `--id N` unlocks entry N); `address` is
that account's public address, which every peer needs to verify signatures and
to order the leaders. Nothing secret is in this file.

``round_blocks`` (W) ties rounds to fixed block windows: a round ends only at a
block number divisible by W, and its leader is number (end // W + attempt) mod n
(oracle/daemon.py). On a chain that mines blocks on a timer (Clique, QBFT, Anvil
--block-time; empty blocks included) every daemon then agrees on one round and one
leader for W blocks while blocks keep coming. Pick W so that W × block period
exceeds a round's computation, signing and submission (e.g. W = 10 at a 1-2 s
period). W = 1, the default, ends a round at every block: right for a chain that
mines a block per transaction (Anvil's automine), where a wider window would wait
for blocks that never come.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from creditshare.bindings.score_oracle import MAX_REPORT_TTL
from creditshare.core.errors import ConfigError

ROUND_DEFAULTS: dict[str, float] = {
    "confirmations": 0,  # blocks behind the head a round ends at (0 on QBFT: blocks are final)
    "poll_seconds": 1.0,  # how often a daemon looks at the chain
    "leader_timeout_seconds": 15.0,  # after this, the next oracle takes over a round not yet on chain
    "report_ttl_seconds": 3600,  # expiry of a report after its round's block time
    "batch": 500,  # entries per report
    "request_timeout_seconds": 60.0,  # a peer's recomputation of a round must answer within this
    "round_blocks": 1,  # rounds end at block numbers divisible by this (the window width; see the docstring)
}
MAX_ROUND_BLOCKS = 10_000


@dataclass(frozen=True)
class OracleEntry:
    id: int
    name: str
    keystore: str
    address: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class OracleConfig:
    path: Path
    oracles: tuple[OracleEntry, ...]
    confirmations: int
    poll_seconds: float
    leader_timeout_seconds: float
    report_ttl_seconds: int
    batch: int
    request_timeout_seconds: float
    round_blocks: int = 1

    @classmethod
    def load(cls, path: Path) -> OracleConfig:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read the oracle config {path}: {err.strerror}.") from err
        except ValueError as err:
            raise ConfigError(f"the oracle config {path} is not JSON: {err}.") from err
        if not isinstance(raw, dict) or not isinstance(raw.get("oracles"), list) or not raw["oracles"]:
            raise ConfigError(f'the oracle config {path} needs a non-empty "oracles" list.')
        oracles = tuple(_entry(path, i, item) for i, item in enumerate(raw["oracles"]))
        for key in ("id", "name", "address"):
            values = [str(getattr(o, key)).lower() for o in oracles]
            if len(set(values)) != len(values):
                raise ConfigError(f"the oracle config {path} lists the same {key} twice.")
        if not isinstance(raw.get("round") or {}, dict):
            raise ConfigError(f'the oracle config {path}: "round" must be an object of round settings.')
        settings = {**ROUND_DEFAULTS, **(raw.get("round") or {})}
        unknown = set(settings) - set(ROUND_DEFAULTS)
        if unknown:
            raise ConfigError(f"the oracle config {path} has unknown round settings: {', '.join(sorted(unknown))}.")
        try:
            out = cls(
                path,
                oracles,
                int(settings["confirmations"]),
                float(settings["poll_seconds"]),
                float(settings["leader_timeout_seconds"]),
                int(settings["report_ttl_seconds"]),
                int(settings["batch"]),
                float(settings["request_timeout_seconds"]),
                _integer(settings["round_blocks"]),
            )
        except (TypeError, ValueError, OverflowError) as err:
            raise ConfigError(f"the round settings of {path} must be numbers: {err}.") from err
        if not all(math.isfinite(v) for v in (out.poll_seconds, out.leader_timeout_seconds)) or not math.isfinite(
            out.request_timeout_seconds
        ):
            raise ConfigError(f"the round settings of {path} must be finite numbers.")
        if (
            out.confirmations < 0
            or out.poll_seconds <= 0
            or out.leader_timeout_seconds <= 0
            or not 60 <= out.report_ttl_seconds <= MAX_REPORT_TTL
            or not 1 <= out.batch <= 500
            or out.request_timeout_seconds <= 0
            or not 1 <= out.round_blocks <= MAX_ROUND_BLOCKS
        ):
            raise ConfigError(
                f"the round settings of {path} are out of range: confirmations >= 0, poll and "
                f"timeouts > 0, 60 <= report_ttl_seconds <= {MAX_REPORT_TTL} (the ScoreOracle's maximum), "
                f"1 <= batch <= 500, 1 <= round_blocks <= {MAX_ROUND_BLOCKS}."
            )
        return out

    def window_end(self, block: int) -> int:
        """The end of the last round window closed at `block`: the largest multiple of round_blocks <= block."""
        return block - block % self.round_blocks

    def by_id(self, oracle_id: int) -> OracleEntry:
        for o in self.oracles:
            if o.id == oracle_id:
                return o
        raise ConfigError(
            f"oracle id {oracle_id} is not in {self.path} (ids: {', '.join(str(o.id) for o in self.oracles)})."
        )

    def by_address(self, address: str) -> OracleEntry | None:
        return next((o for o in self.oracles if o.address.lower() == address.lower()), None)

    @property
    def rotation(self) -> list[OracleEntry]:
        """The oracles in leader order: ascending address."""
        return sorted(self.oracles, key=lambda o: int(o.address, 16))


def _integer(value: Any) -> int:
    """A whole number: 2.5 blocks is refused rather than truncated."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a whole number")
    return int(value)


def _entry(path: Path, index: int, item: Any) -> OracleEntry:
    where = f"oracle #{index + 1} of {path}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be an object.")
    missing = [k for k in ("id", "name", "keystore", "address", "port") if k not in item]
    if missing:
        raise ConfigError(f"{where} lacks {', '.join(missing)}.")
    if not is_address(str(item["address"])):
        raise ConfigError(f"{where}: address {item['address']!r} is not a 20-byte hex address.")
    try:
        oracle_id, port = int(item["id"]), int(item["port"])
    except (TypeError, ValueError, OverflowError) as err:
        raise ConfigError(f"{where}: id and port must be integers.") from err
    if oracle_id < 1 or not 1 <= port <= 65535:
        raise ConfigError(f"{where}: id must be >= 1 and port in 1..65535.")
    return OracleEntry(
        oracle_id,
        str(item["name"]),
        str(item["keystore"]),
        to_checksum_address(item["address"]),
        str(item.get("host", "127.0.0.1")),
        port,
    )
