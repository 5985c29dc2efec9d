"""The oracle daemon's checkpoint: one small JSON file per oracle id, written atomically.

``block`` is the last block whose relevant events (settlements, refresh requests,
model promotions) are all reflected in scores on chain: it only moves once every
report of a round is accepted (or the round had nothing to score), so a daemon
killed at any moment restarts from a block whose work is either on chain or
redone. ``lock`` is the round this oracle last signed and that is not yet on
chain: while it is fresh the oracle signs no other round (see oracle/daemon.py).
``last_round`` is the status shown by ``creditshare oracle status``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from creditshare.core.errors import ConfigError


@dataclass
class Checkpoint:
    block: int
    lock: dict[str, Any] | None = None
    last_round: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, default_block: int) -> Checkpoint:
        """The checkpoint saved at `path`, or a fresh one at `default_block`."""
        if not path.exists():
            return cls(block=default_block)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            lock = raw.get("lock")
            if lock is not None:  # the round this oracle signed last: start, end, digests, at
                lock = {
                    "start": int(lock["start"]),
                    "end": int(lock["end"]),
                    "at": float(lock["at"]),
                    "digests": [str(d) for d in lock["digests"]],
                }
            return cls(block=int(raw["block"]), lock=lock, last_round=dict(raw.get("last_round") or {}))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{path} is not an oracle checkpoint ({err}); move it away to start over.") from err

    def save(self, path: Path) -> None:
        """Writes the checkpoint through a temporary file and os.replace: a crash leaves the old or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def checkpoint_path(data_dir: Path, oracle_id: int) -> Path:
    return data_dir / "oracle" / f"checkpoint-{oracle_id}.json"
