"""A round: the reports that score every subject touched by chain events in blocks (start, end].

The daemon ends rounds only at window ends (block numbers divisible by the config's
round_blocks, oracle/config.py), so on a chain that mines blocks on a timer every
oracle names the same `end` for a whole window; this module takes any (start, end].

Everything is read as of block `end`, so every oracle node that computes the
round (start, end] gets the same reports and digests:

- the relevant events in (start, end]: SettlementLedger events (the settlement's
  shipper is affected), ScoreOracle RefreshRequested (its subject), ModelRegistry
  ChampionChanged (every shipper on the ledger);
- a subject is *due* if the last such event touching it lies after its stored
  score epoch as of `end` (epochs are block numbers, so a subject already scored
  by a later round is not scored again);
- due subjects are scored with the champion card by oracle.scores.score_from_ledger
  (as of the block time of `end`); a due subject without shipper history as of
  then cannot be scored and is left out (it is scored at its next event or
  refresh request);
- the reports carry epoch = end, asOf = block time of end, expiry = asOf + ttl,
  in batches of subjects sorted by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from creditshare.bindings.model_registry import ModelRegistry
from creditshare.bindings.score_oracle import ScoreOracle
from creditshare.bindings.settlement_ledger import STATUS_EVENTS, SettlementLedger
from creditshare.core.chain import ChainClient, event_topic
from creditshare.core.ids import parse_bytes32, to_hex
from oracle.batch import build_reports
from oracle.report import Entry, ScoreReport, report_digest
from oracle.scores import score_from_ledger


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


def affected(client: ChainClient, start: int, end: int) -> dict[str, int]:
    """Subject (0x id) -> block of the last relevant event touching it in (start, end]."""
    from_block = max(start + 1, client.deployment.from_block)
    last: dict[str, int] = {}

    def touch(subject: str, block: int) -> None:
        if block > last.get(subject, -1):
            last[subject] = block

    ledger = SettlementLedger(client).contract
    submitted = event_topic(ledger, "SettlementSubmitted")
    status = [event_topic(ledger, n) for n in STATUS_EVENTS]
    unknown: dict[str, int] = {}  # settlement id -> block of a status event
    for log in _logs(client, ledger.address, [[submitted, *status]], from_block, end):
        block = int(log["blockNumber"], 16)
        if log["topics"][0] == submitted:
            touch(_topic_hex(log["topics"][2]), block)
        else:
            sid = _topic_hex(log["topics"][1])
            unknown[sid] = max(block, unknown.get(sid, -1))
    if unknown:
        shipper_of = _shippers_of(client, ledger, submitted, list(unknown), end)
        for sid, block in unknown.items():
            touch(shipper_of[sid], block)

    for log in ScoreOracle(client).refresh_requested_logs(from_block, end):
        touch(_topic_hex(log["topics"][1]), int(log["blockNumber"], 16))

    registry = ModelRegistry(client).contract
    promotions = _logs(client, registry.address, [event_topic(registry, "ChampionChanged")], from_block, end)
    if promotions:
        promoted = max(int(log["blockNumber"], 16) for log in promotions)
        for log in _logs(client, ledger.address, [submitted], client.deployment.from_block, end):
            touch(_topic_hex(log["topics"][2]), promoted)
    return last


def _shippers_of(client: ChainClient, ledger: Any, submitted: str, ids: list[str], end: int) -> dict[str, str]:
    """The shipper of each settlement id, from its SettlementSubmitted event (id is indexed)."""
    found: dict[str, str] = {}
    for i in range(0, len(ids), 100):
        chunk = ids[i : i + 100]
        for log in _logs(client, ledger.address, [submitted, chunk], client.deployment.from_block, end):
            found[_topic_hex(log["topics"][1])] = _topic_hex(log["topics"][2])
    return found


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
    last = affected(client, start, end)
    epochs = stored_epochs(client, sorted(last), end)
    due = sorted(s for s, block in last.items() if block > epochs[s])
    if not due:
        return Round(start, end, (), (), (), ())
    as_of = int(client.read(lambda: client.w3.eth.get_block(end)["timestamp"], "block"))
    scored = score_from_ledger(client, card, as_of, block=end, subjects=set(due), aggregates=aggregates)
    scored_ids = {s.subject for s in scored}
    reports = build_reports(
        scored, epoch=end, model_hash=parse_bytes32(card.model_hash), as_of=as_of, expiry=as_of + ttl, batch=batch
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
