"""Population drift: PSI of scores and CSI of features against a card's training population.

``PSI = sum((a_i - e_i) * ln(a_i / e_i))`` over buckets, with ``e`` the
training shares and ``a`` the current shares (each share floored at 1e-4 so
that an empty bucket does not make it infinite). Score buckets are the card's
training score deciles; CSI uses each feature's bins (regular, special,
missing).

Thresholds (the industry's rule of thumb): below 0.10 the population is
``stable``; from 0.10 to below 0.25 ``watch`` it; from 0.25 it has ``drifted``
and a model whose population drifted must not be promoted
(:func:`assert_promotable` raises :class:`PromotionBlocked`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.errors import ModelError
from scoring.model_card import ModelCard

WATCH = 0.10
DRIFT = 0.25
_FLOOR = 1e-4


class PromotionBlocked(ModelError):
    """The candidate's population drifted (PSI >= 0.25): promotion is refused."""


def psi(expected: Sequence[int] | np.ndarray, actual: Sequence[int] | np.ndarray) -> float:
    """Population stability index between two bucket count vectors of the same length."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or len(e) < 2:
        raise ModelError(f"psi needs two count vectors of the same length >= 2; got {e.shape} and {a.shape}.")
    if (e < 0).any() or (a < 0).any() or e.sum() == 0 or a.sum() == 0:
        raise ModelError("psi needs non-negative counts with a positive total on both sides.")
    pe = np.maximum(e / e.sum(), _FLOOR)
    pa = np.maximum(a / a.sum(), _FLOOR)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def status_of(value: float) -> str:
    """``stable`` (< 0.10), ``watch`` (< 0.25) or ``drifted``."""
    return "stable" if value < WATCH else ("watch" if value < DRIFT else "drifted")


def score_counts(card: ModelCard, scores: np.ndarray) -> np.ndarray:
    """Counts of ``scores`` in the card's training score buckets."""
    idx = np.searchsorted(
        np.asarray(card.score_edges, dtype=np.int64), np.asarray(scores, dtype=np.int64), side="right"
    )
    return np.bincount(idx, minlength=len(card.score_edges) + 1)


def csi(card: ModelCard, features: pd.DataFrame) -> dict[str, float]:
    """Characteristic stability index of every card feature on ``features``."""
    baseline = card.training_bin_counts()
    out = {}
    for name, idx in card.bin_indices(features).items():
        base = np.asarray(baseline[name])
        out[name] = psi(base, np.bincount(idx, minlength=len(base)))
    return out


@dataclass(frozen=True)
class DriftReport:
    """PSI of the score, CSI per feature, and the verdict."""

    model_hash: str
    n: int
    psi: float
    status: str
    csi: dict[str, float] = field(default_factory=dict)

    @property
    def blocks_promotion(self) -> bool:
        return self.psi >= DRIFT

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_hash": self.model_hash,
            "n": self.n,
            "psi": round(self.psi, 6),
            "status": self.status,
            "blocks_promotion": self.blocks_promotion,
            "thresholds": {"watch": WATCH, "drift": DRIFT},
            "csi": {k: round(v, 6) for k, v in sorted(self.csi.items())},
            "csi_status": {k: status_of(v) for k, v in sorted(self.csi.items())},
        }


def monitor(card: ModelCard, features: pd.DataFrame) -> DriftReport:
    """Compare the population in ``features`` with the card's training population."""
    if not isinstance(features, pd.DataFrame) or len(features) == 0:
        raise ModelError("monitoring needs a non-empty DataFrame of features.")
    scores = card.score_frame(features)
    value = psi(np.asarray(card.score_counts), score_counts(card, scores))
    return DriftReport(
        model_hash=card.model_hash, n=len(features), psi=value, status=status_of(value), csi=csi(card, features)
    )


def assert_promotable(card: ModelCard, features: pd.DataFrame) -> DriftReport:
    """The drift report, or :class:`PromotionBlocked` if PSI >= 0.25."""
    report = monitor(card, features)
    if report.blocks_promotion:
        raise PromotionBlocked(
            f"model {card.model_hash} cannot be promoted: score PSI {report.psi:.3f} >= {DRIFT} "
            f"(the current population drifted from the training one)."
        )
    return report
