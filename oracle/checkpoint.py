"""The oracle daemon's checkpoint: one small JSON file per oracle id, written atomically.

``block`` is the last block whose relevant events (settlements, refresh requests,
model promotions) are all reflected in scores on chain: it only moves once every
report of a round is accepted (or the round had nothing to score), so a daemon
killed at any moment restarts from a block whose work is either on chain or
redone. ``lock`` is the round this oracle last signed and that is not yet on
chain: while it is fresh the oracle signs no other round (see oracle/daemon.py).
``last_round`` is the status shown by ``creditshare oracle status``.

Durability (issue #14, finding 11): the file is written to a temporary file,
fsynced, renamed over the old one, and the folder is fsynced so the rename itself
survives a power cut. A checkpoint that cannot be read is refused with the
instruction to move it away; a daemon that then starts without one, although it
has signed before (the marker file `checkpoint-N.signed`, written at its first
signature, is there), cannot know which round it signed last, so it starts with a
*lost* lock: it signs nothing for leader_timeout_seconds (see `Checkpoint.fresh`).
A daemon that never signed starts without a lock.
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
    def fresh(cls, block: int, now: float) -> Checkpoint:
        """A checkpoint for a daemon without one: its last signature is unknown, so the lock is *lost* and
        holds from `now` for leader_timeout_seconds (no digests: it matches no round)."""
        lock = {"start": block, "end": block, "digests": [], "at": now, "lost": True}
        return cls(block=block, lock=lock)

    @classmethod
    def load(cls, path: Path, default_block: int, now: float | None = None) -> Checkpoint:
        """The checkpoint saved at `path`; without one, a fresh one at `default_block`, with a lost lock
        from `now` when `now` is given (a daemon starting) or no lock (a status read)."""
        if not path.exists():
            if now is None or not signed_marker(path).exists():
                return cls(block=default_block)
            return cls.fresh(default_block, now)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise TypeError("not a JSON object")
            lock = raw.get("lock")
            if lock is not None:  # the round this oracle signed last: start, end, digests, at
                lock = {
                    "start": int(lock["start"]),
                    "end": int(lock["end"]),
                    "at": float(lock["at"]),
                    "digests": [str(d) for d in lock["digests"]],
                    **({"lost": True} if lock.get("lost") else {}),
                }
            last_round = raw.get("last_round") or {}
            if not isinstance(last_round, dict):
                raise TypeError("last_round is not an object")
            return cls(block=int(raw["block"]), lock=lock, last_round=dict(last_round))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError) as err:
            raise ConfigError(
                f"{path} is not an oracle checkpoint ({type(err).__name__}: {err}); move it away to start over "
                "(the daemon then signs nothing for leader_timeout_seconds: its last signed round is unknown)."
            ) from err

    def save(self, path: Path) -> None:
        """Writes the checkpoint through a temporary file and os.replace: a crash leaves the old or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Makes a rename in `folder` durable (POSIX: the directory entry is data of the directory)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def signed_marker(path: Path) -> Path:
    """The file whose presence says this oracle has signed a round: without its checkpoint, its lock is lost."""
    return path.with_name(path.stem + ".signed")


def mark_signed(path: Path) -> None:
    """Creates the signed marker of the checkpoint at `path` (durably) if it is not there yet."""
    marker = signed_marker(path)
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("this oracle has signed a round; see oracle/checkpoint.py\n", encoding="utf-8")
        _fsync_dir(marker.parent)


def checkpoint_path(data_dir: Path, oracle_id: int) -> Path:
    return data_dir / "oracle" / f"checkpoint-{oracle_id}.json"
