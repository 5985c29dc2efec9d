"""A joint scorecard fitted from federated bin counts only (no pooled rows).

Input: the revealed payload of a ``federated_binning`` MPC job, per feature
its agreed integer bin edges and the good/bad row counts per bin summed over
every holder (:func:`scoring.woe.woe_iv` turns them into WOE/IV).

Method: a WOE naive-Bayes scorecard. With G goods and B bads in total and
``WOE_j(b) = ln(good_share / bad_share)`` of bin b of feature j,

    log-odds(good | x) = ln(G / B) + Σ_j WOE_j(bin_j(x))

(every coefficient 1: what a logistic regression on WOE would give if the
features were independent given the class). Features whose IV is below
``min_iv`` are dropped, and at most ``max_features`` of the strongest are kept,
to limit double counting of correlated features. Scaling is the pooled
scorecard's ``pdo_odds``: ``factor = pdo / ln 2``, ``offset = base_points -
factor · ln(odds)``, ``intercept_points = round(offset + factor · ln(G/B))`` and
each bin gets ``round(factor · WOE)`` points (WOE from its integer micro-units).
The special bin gets 0 points (no evidence). Holders bin a missing value as
:data:`MISSING` (-1), so a missing value at scoring time gets the points of the
bin that holds -1: with a first edge of 0 that bin holds exactly the missing
rows (every feature value is non-negative).

Tiers and the score distribution: under the same independence assumption the
total score's distribution is the convolution of the per-feature point
distributions given by the bin counts. Points are integers, so the convolution
is exact (integer weights) and deterministic. Tier A-D minimum scores are its
80th, 60th, 40th and 20th percentiles (the pooled scorecard's default: a fifth
of the population per tier) and ``score_distribution`` holds its deciles with
counts scaled to the number of training rows. Everything in the card is an
integer or a decimal string, so the same counts always give the same bytes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scoring.errors import InvalidData, ModelError
from scoring.model_card import SCHEMA, SCORE_BUCKETS, TIERS, ModelCard, card_float
from scoring.woe import MICRO, BinStats, woe_iv

MISSING = -1
"""How a holder bins a missing feature value (features are non-negative integers)."""
DEFAULT_MIN_IV = 0.02
DEFAULT_MAX_FEATURES = 8

#: Agreed bin edges for federated binning of the freight features (integers; a first
#: edge 0 puts missing values, binned as -1, in a bin of their own).
FREIGHT_BIN_EDGES: dict[str, list[int]] = {
    "shp_n_90": [1, 2, 4, 7, 12],
    "shp_amt_365": [2_000_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000],
    "shp_ontime_bps": [0, 5000, 7000, 8500, 9500, 10000],
    "shp_dpd_mean": [0, 1, 3, 7, 15, 30],
    "shp_dpd_max": [0, 1, 8, 16, 31, 61, 181],
    "shp_overdue_n": [1, 2, 3],
    "shp_overdue_amt": [1, 500_000, 2_000_000],
    "shp_dispute_bps": [1, 500, 1000, 2500],
    "shp_tenure_days": [90, 180, 365, 540],
    "shp_counterparties": [2, 4, 6, 9],
    "shp_recency_days": [7, 14, 30, 60, 120],
    "xp_outstanding_fen": [1, 1_000_000, 3_000_000, 10_000_000, 30_000_000],
    "xp_overdue_fen": [1, 500_000, 2_000_000, 8_000_000],
    "xp_default_count": [1],
    "xp_platform_count": [2, 3],
    "xp_worst_dpd": [1, 8, 16, 31, 61, 181],
}


def binning_rows(X: pd.DataFrame, y: Any, features: Sequence[str]) -> list[dict[str, int]]:
    """A holder's own labelled rows as `creditshare mpc party` inputs for federated_binning.

    Missing values become :data:`MISSING`; ``bad`` is the 0/1 label.
    """
    absent = [f for f in features if f not in X.columns]
    if absent:
        raise InvalidData(f"rows lack feature columns: {', '.join(absent)}.")
    target = np.asarray(y).astype(np.int64)
    if len(target) != len(X) or not np.isin(target, (0, 1)).all():
        raise InvalidData("y must hold one 0/1 label per row.")
    cols = {f: X[f].astype("Int64").fillna(MISSING).to_numpy(dtype=np.int64) for f in features}
    return [{**{f: int(cols[f][i]) for f in features}, "bad": int(target[i])} for i in range(len(X))]


def federated_card(
    revealed: Mapping[str, Any],
    *,
    name: str,
    version: int,
    pdo: int = 20,
    odds: int = 50,
    base_points: int = 600,
    min_iv: float = DEFAULT_MIN_IV,
    max_features: int = DEFAULT_MAX_FEATURES,
    n_reasons: int = 3,
    training: Mapping[str, int | str | None] | None = None,
    metrics: Any = None,
) -> ModelCard:
    """The model card of the WOE naive-Bayes scorecard of a federated_binning output (see the module doc)."""
    for what, value in (("pdo", pdo), ("odds", odds)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ModelError(f"{what} must be a positive integer; got {value!r}.")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelError(f"version must be a positive integer; got {version!r}.")
    if isinstance(max_features, bool) or not isinstance(max_features, int) or max_features < 1:
        raise ModelError(f"max_features must be a positive integer; got {max_features!r}.")
    if not 0 <= min_iv:
        raise ModelError(f"min_iv must be non-negative; got {min_iv!r}.")
    stats = _stats(revealed)
    totals = {(sum(s.good), sum(s.bad)) for s in stats.values()}
    if len(totals) != 1:
        raise InvalidData(
            "the features' bin counts do not add up to the same goods and bads: "
            "they were not counted over the same rows."
        )
    ((n_good, n_bad),) = totals
    ranked = sorted(stats.values(), key=lambda s: (-s.iv_micro, s.feature))
    kept = [s for s in ranked if s.iv_micro >= round(min_iv * MICRO)][:max_features]
    if not kept:
        raise ModelError(
            f"no feature reaches the minimum IV {min_iv}; strongest is "
            f"{ranked[0].feature} with IV {ranked[0].iv_micro / MICRO:.4f}."
        )
    kept.sort(key=lambda s: s.feature)

    factor = pdo / math.log(2)
    offset = base_points - factor * math.log(odds)
    intercept = round(offset + factor * math.log(n_good / n_bad))
    features = []
    for s in kept:
        points = [round(factor * w / MICRO) for w in s.woe_micro]
        features.append(
            {
                "name": s.feature,
                "kind": "numerical",
                "edges": list(s.edges),
                "edge_type": "int",
                "special_codes": [],
                "points": points,
                "special_points": 0,
                "missing_points": points[bisect_right(s.edges, MISSING)],
                "counts": [g + b for g, b in zip(s.good, s.bad)] + [0, 0],
            }
        )
    weights = _score_weights(intercept, features)
    n_rows = n_good + n_bad
    cutoffs = [_quantile(weights, q) for q in ((4, 5), (3, 5), (2, 5), (1, 5))]
    edges = sorted({_quantile(weights, (k, SCORE_BUCKETS)) for k in range(1, SCORE_BUCKETS)})
    data = {
        "schema": SCHEMA,
        "name": str(name),
        "version": version,
        "model_type": "scorecard",
        "features": features,
        "intercept_points": int(intercept),
        "scaling": {
            "method": "pdo_odds",
            "pdo": card_float(pdo),
            "odds": card_float(odds),
            "base_points": int(base_points),
            "higher_is_better": True,
        },
        "tiers": [{"tier": t, "min_score": c} for t, c in zip(TIERS, cutoffs)],
        "n_reasons": int(n_reasons),
        "training": {
            "n_rows": n_rows,
            "event_rate_bps": n_bad * 10_000 // n_rows,
            "method": "federated_woe_naive_bayes",
            "min_iv_micro": round(min_iv * MICRO),
            **(dict(training) if training else {}),
        },
        "metrics": metrics.as_card() if metrics is not None else {},
        "score_distribution": {"edges": edges, "counts": _bucket_counts(weights, edges, n_rows)},
    }
    return ModelCard(data)


def _stats(revealed: Mapping[str, Any]) -> dict[str, BinStats]:
    if not isinstance(revealed, Mapping):
        raise InvalidData("the federated_binning output must be a JSON object.")
    try:
        stats = woe_iv(dict(revealed))
    except (KeyError, TypeError) as err:
        raise InvalidData(f"the federated_binning output is malformed: {err}.") from err
    if not stats:
        raise InvalidData("the federated_binning output holds no features.")
    for s in stats.values():
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (*s.edges, *s.good, *s.bad)):
            raise InvalidData(f"{s.feature}: edges and counts must be integers.")
        if any(b <= a for a, b in zip(s.edges, s.edges[1:])):
            raise InvalidData(f"{s.feature}: bin edges must increase strictly.")
    return stats


def _score_weights(intercept: int, features: list[dict[str, Any]]) -> dict[int, int]:
    """Exact distribution of the total score: score -> Π of bin counts, summed (integer weights)."""
    dist = {int(intercept): 1}
    for f in features:
        pmf: dict[int, int] = {}
        for p, c in zip(f["points"], f["counts"]):
            if c:
                pmf[p] = pmf.get(p, 0) + c
        nxt: dict[int, int] = {}
        for s, w in dist.items():
            for p, c in pmf.items():
                nxt[s + p] = nxt.get(s + p, 0) + w * c
        dist = nxt
    return dist


def _quantile(weights: dict[int, int], q: tuple[int, int]) -> int:
    """The smallest score whose cumulative weight reaches the fraction q = num/den of the total."""
    num, den = q
    total = sum(weights.values())
    acc = 0
    for s in sorted(weights):
        acc += weights[s]
        if acc * den >= num * total:
            return s
    return max(weights)  # unreachable: acc reaches total


def _bucket_counts(weights: dict[int, int], edges: list[int], n_rows: int) -> list[int]:
    """Rows per bucket (edges[i-1] <= s < edges[i]), scaled to n_rows by largest remainders."""
    total = sum(weights.values())
    raw = [0] * (len(edges) + 1)
    for s, w in weights.items():
        raw[bisect_right(edges, s)] += w
    counts = [r * n_rows // total for r in raw]
    rest = n_rows - sum(counts)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] * n_rows % total), i))
    for i in order[:rest]:
        counts[i] += 1
    return counts
