"""Discrimination metrics on a holdout: AUC, KS and Gini.

They are metadata (the committee reads them; nothing on the scoring path uses
them), stored in model cards as fixed 6-digit decimal strings and on chain as
basis points, so that the canonical bytes stay stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from scoring._validate import check_target
from scoring.errors import ModelError


@dataclass(frozen=True)
class Metrics:
    """Holdout metrics of a risk ranking (higher risk value = more likely bad)."""

    auc: float
    ks: float
    gini: float
    n: int
    event_rate: float

    def as_card(self) -> dict[str, Any]:
        """Card form: decimal strings and integers only."""
        return {
            "auc": f"{self.auc:.6f}",
            "ks": f"{self.ks:.6f}",
            "gini": f"{self.gini:.6f}",
            "n": self.n,
            "event_rate": f"{self.event_rate:.6f}",
        }

    def bps(self) -> dict[str, int]:
        """AUC, KS and Gini in basis points (as registered on chain)."""
        return {k: int(round(getattr(self, k) * 10_000)) for k in ("auc", "ks", "gini")}

    def as_dict(self) -> dict[str, Any]:
        return {"auc": self.auc, "ks": self.ks, "gini": self.gini, "n": self.n, "event_rate": self.event_rate}


def evaluate_scores(y: Any, risk: Any) -> Metrics:
    """Metrics of ``risk`` (higher = riskier) against a 0/1 target ``y``."""
    r = np.asarray(risk, dtype=np.float64)
    target = check_target(y, len(r))
    if np.isnan(r).any():
        raise ModelError("risk values contain NaN.")
    auc = float(roc_auc_score(target, r))
    fpr, tpr, _ = roc_curve(target, r)
    ks = float(np.max(tpr - fpr))
    return Metrics(auc=auc, ks=ks, gini=2 * auc - 1, n=len(r), event_rate=float(target.mean()))
