"""Building score reports from settlement history and the champion model card.

Every oracle operator runs the same function on the same chain data and the
same card: the entries (and so the EIP-712 digest) come out bit-identical, which
is what lets k of n operators sign one batch. Scores are integer card lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from creditshare.core.errors import InvalidInput
from oracle.report import Entry, ScoreReport, reasons_hash

TIER_CODES = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4}
MAX_BATCH = 500  # entries per report: ~14M gas, under a 30M block


@dataclass(frozen=True)
class ScoredSubject:
    subject: str
    score: int
    tier: str
    reasons: tuple[str, ...]

    def entry(self) -> Entry:
        if not 0 <= self.score <= 2**16 - 1:
            raise InvalidInput(f"score {self.score} of {self.subject} does not fit the on-chain uint16.")
        return Entry(bytes.fromhex(self.subject[2:]), self.score, TIER_CODES[self.tier], reasons_hash(self.reasons))


def score_subjects(card: Any, features: Any) -> list[ScoredSubject]:
    """Scores every row of a features DataFrame (index = subject id), sorted by subject."""
    names = list(card.feature_names)
    frame = features.sort_index().reindex(columns=names)  # a feature the frame lacks is missing for every row
    # column by column, not row by row (iterrows built a Series per subject and tested each value on its own)
    columns = [
        [None if missing else _plain(v) for v, missing in zip(frame[n].tolist(), frame[n].isna().tolist(), strict=True)]
        for n in names
    ]
    out = []
    for i, subject in enumerate(frame.index):
        s = card.score_one({n: col[i] for n, col in zip(names, columns, strict=True)})
        out.append(ScoredSubject(str(subject), int(s.score), s.tier, tuple(s.reasons)))
    return out


def _plain(value: Any) -> Any:
    return int(value) if hasattr(value, "__int__") and not isinstance(value, str) else value


def build_reports(
    scored: Sequence[ScoredSubject], *, epoch: int, model_hash: bytes, as_of: int, expiry: int, batch: int = MAX_BATCH
) -> list[tuple[ScoreReport, list[Entry]]]:
    """One report per batch of entries, all of the same epoch (the epoch guard is per subject)."""
    if not 1 <= batch <= MAX_BATCH:
        raise InvalidInput(f"batch must be between 1 and {MAX_BATCH}; got {batch}.")
    reports = []
    for start in range(0, len(scored), batch):
        entries = [s.entry() for s in scored[start : start + batch]]
        report = ScoreReport.build(epoch=epoch, model_hash=model_hash, as_of=as_of, expiry=expiry, entries=entries)
        reports.append((report, entries))
    return reports
