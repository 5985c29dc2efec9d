"""A round: the reports that score every subject touched by chain events in blocks (start, end].

The daemon ends rounds only at window ends (block numbers divisible by the config's
round_blocks, oracle/config.py), so on a chain that mines blocks on a timer every
oracle names the same `end` for a whole window; this module takes any (start, end].

Everything is read as of block `end`, so every oracle node that computes the
round (start, end] gets the same reports and digests:

- the relevant events in (start, end], from this node's chain index: settlements,
  payouts and trip verdicts (every party of them: shipper, platform, carrier),
  ScoreOracle RefreshRequested (its subject), ModelRegistry RoleChampionChanged
  (every subject scored in that role);
- a subject is *due* if the last such event touching it lies after its stored
  score epoch as of `end` (epochs are block numbers, so a subject already scored
  by a later round is not scored again);
- due subjects are scored with their role's champion card by
  oracle.scores.score_from_ledger (as of the block time of `end`); a due subject
  without history as of then, or of a role without a champion, cannot be scored
  and is left out (it is scored at its next event or refresh request);
- the reports carry epoch = end, asOf = block time of end, expiry = asOf + ttl,
  in batches of subjects sorted by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from creditshare.bindings.model_registry import ModelRegistry, SubjectRole
from creditshare.bindings.score_oracle import ScoreOracle
from creditshare.core.chain import ChainClient, event_topic
from creditshare.core.ids import parse_bytes32, to_hex
from creditshare.domain.index import ChainIndex
from oracle.batch import build_reports
from oracle.report import Entry, ScoreReport, report_digest
from oracle.scores import report_model, score_from_ledger


@dataclass(frozen=True)
class Round:
    start: int
    end: int
    due: tuple[str, ...]  # subjects (0x ids) whose scores are behind their events
    unscorable: tuple[str, ...]  # due subjects without shipper history as of the round
    reports: tuple[tuple[ScoreReport, tuple[Entry, ...]], ...]
    digests: tuple[bytes, ...]

    @property
    def key(self) -> str:
        return f"{self.start}:{self.end}"

    def summary(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "subjects": sum(len(e) for _, e in self.reports),
            "reports": len(self.reports),
            "digests": [to_hex(d) for d in self.digests],
            "unscorable": len(self.unscorable),
        }


def _logs(client: ChainClient, address: str, topics: list[Any], start: int, end: int) -> list[dict[str, Any]]:
    """Raw logs of `address` with `topics` in blocks [start, end] (ChainClient.logs)."""
    return client.logs(address, topics, start, end)


def _topic_hex(topic: str) -> str:
    return "0x" + topic[2:].lower()


def affected(client: ChainClient, start: int, end: int, *, every_role: bool = False) -> dict[str, int]:
    """Subject (0x id) -> block of the last relevant event touching it in (start, end].

    From this node's chain index, not a log scan: by default shippers only (ChainIndex.touched_shippers, and
    every shipper, ChainIndex.shippers, after a ChampionChanged); with `every_role`, every party
    (ChainIndex.touched_subjects: settlements, payouts and trip verdicts; after a RoleChampionChanged, every
    subject scored in that role). Plus ScoreOracle RefreshRequested (its subject) either way."""
    from_block = max(start + 1, client.deployment.from_block)
    last: dict[str, int] = {}

    def touch(subject: str, block: int) -> None:
        if block > last.get(subject, -1):
            last[subject] = block

    registry = ModelRegistry(client).contract
    with ChainIndex(client) as index:
        touched = index.touched_subjects(start, end) if every_role else index.touched_shippers(start, end)
        for subject, block in touched.items():
            touch(subject, block)

        for log in ScoreOracle(client).refresh_requested_logs(from_block, end):
            touch(_topic_hex(log["topics"][1]), int(log["blockNumber"], 16))

        if every_role:
            changed = _logs(client, registry.address, [event_topic(registry, "RoleChampionChanged")], from_block, end)
            promoted: dict[str, int] = {}
            for log in changed:
                role = SubjectRole(int(log["topics"][1], 16)).label
                promoted[role] = max(promoted.get(role, -1), int(log["blockNumber"], 16))
            if promoted:
                for subject, role in index.subject_roles(end).items():
                    if role in promoted:
                        touch(subject, promoted[role])
        else:
            changes = _logs(client, registry.address, [event_topic(registry, "ChampionChanged")], from_block, end)
            if changes:
                block = max(int(log["blockNumber"], 16) for log in changes)
                for subject in index.shippers(end):
                    touch(subject, block)
    return last


def stored_epochs(client: ChainClient, subjects: list[str], block: int) -> dict[str, int]:
    """Stored score epoch of each subject as of `block` (0 = never scored)."""
    scores = ScoreOracle(client).scores_of([parse_bytes32(s) for s in subjects], block=block, chunk=1000)
    return {subject: score.epoch for subject, score in zip(subjects, scores, strict=True)}


def compute_round(
    client: ChainClient,
    card: Any,
    start: int,
    end: int,
    *,
    ttl: int,
    batch: int,
    aggregates: dict[str, dict[str, int]] | None = None,
) -> Round:
    """The reports of round (start, end], read as of block `end` (see the module docstring)."""
    if end <= start:
        return Round(start, end, (), (), (), ())
    last = affected(client, start, end, every_role=True)
    epochs = stored_epochs(client, sorted(last), end)
    due = sorted(s for s, block in last.items() if block > epochs[s])
    if not due:
        return Round(start, end, (), (), (), ())
    as_of = int(client.read(lambda: client.w3.eth.get_block(end)["timestamp"], "block"))
    scored = score_from_ledger(client, card, as_of, block=end, subjects=set(due), aggregates=aggregates)
    scored_ids = {s.subject for s in scored}
    reports = build_reports(
        scored, epoch=end, model_hash=report_model(client, block=end), as_of=as_of, expiry=as_of + ttl, batch=batch
    )
    contract = ScoreOracle(client).address
    chain_id = client.settings.network.chain_id
    digests = tuple(report_digest(r, chain_id, contract) for r, _ in reports)
    return Round(
        start,
        end,
        tuple(due),
        tuple(s for s in due if s not in scored_ids),
        tuple((r, tuple(e)) for r, e in reports),
        digests,
    )
