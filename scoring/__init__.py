"""CreditShare model factory: scene features, scorecards, model cards, drift.

No chain code lives here. The oracle scores with :class:`scoring.model_card.ModelCard`
(integer table lookup, bit-identical on every node); model builders train with
:mod:`scoring.factory`. See ``scoring/README.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use, so that `from scoring.model_card import ModelCard` (the
# oracle's path) does not pay for scikit-learn and optbinning
_WHERE = {
    "DriftReport": "drift",
    "PromotionBlocked": "drift",
    "assert_promotable": "drift",
    "csi": "drift",
    "monitor": "drift",
    "psi": "drift",
    "CreditModel": "factory",
    "GradientBoostingChallenger": "factory",
    "TrainResult": "factory",
    "compare": "factory",
    "evaluate": "factory",
    "train_scorecard": "factory",
    "training_set": "factory",
    "training_window": "factory",
    "FEATURE_NAMES": "features",
    "ROLES": "features",
    "SETTLEMENT_COLUMNS": "features",
    "build_features": "features",
    "default_labels": "features",
    "Metrics": "metrics",
    "evaluate_scores": "metrics",
    "ModelCard": "model_card",
    "Score": "model_card",
    "metrics_bps": "model_card",
    "ScorecardModel": "scorecard",
    "MarketParams": "synthetic",
    "SyntheticMarket": "synthetic",
    "generate_market": "synthetic",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"scoring.{_WHERE[name]}"), name)


__all__ = [
    "FEATURE_NAMES",
    "ROLES",
    "SETTLEMENT_COLUMNS",
    "CreditModel",
    "DriftReport",
    "GradientBoostingChallenger",
    "MarketParams",
    "Metrics",
    "ModelCard",
    "PromotionBlocked",
    "Score",
    "ScorecardModel",
    "SyntheticMarket",
    "TrainResult",
    "assert_promotable",
    "build_features",
    "compare",
    "csi",
    "default_labels",
    "evaluate",
    "evaluate_scores",
    "generate_market",
    "metrics_bps",
    "monitor",
    "psi",
    "train_scorecard",
    "training_set",
    "training_window",
]
