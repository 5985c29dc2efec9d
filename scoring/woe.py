"""WOE and IV from federated (summed) per-bin counts, without pooling rows.

Distributions are exact `Fraction`s; WOE and IV are also given in integer
micro-units (round(x * 1e6)) for model cards, which hold no floats. A bin
with no goods or no bads gets a 0.5 pseudo-count, as is usual for scorecards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from scoring.errors import InvalidData

MICRO = 1_000_000


@dataclass(frozen=True)
class BinStats:
    """One feature's binning statistics."""

    feature: str
    edges: tuple[int, ...]
    good: tuple[int, ...]
    bad: tuple[int, ...]
    good_share: tuple[Fraction, ...]
    bad_share: tuple[Fraction, ...]
    woe_micro: tuple[int, ...]
    iv_micro: int

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "edges": list(self.edges),
            "good": list(self.good),
            "bad": list(self.bad),
            "woe_micro": list(self.woe_micro),
            "iv_micro": self.iv_micro,
        }


def bin_stats(
    feature: str,
    edges: list[int] | tuple[int, ...],
    good: list[int] | tuple[int, ...],
    bad: list[int] | tuple[int, ...],
) -> BinStats:
    """WOE_i = ln(good_share_i / bad_share_i) (optbinning's sign); IV = Σ (good_i − bad_i)·WOE_i."""
    k = len(edges) + 1
    if len(good) != k or len(bad) != k:
        raise InvalidData(
            f"{feature}: {len(edges)} edges need {k} bins; got {len(good)} good and {len(bad)} bad counts."
        )
    if any(c < 0 for c in (*good, *bad)):
        raise InvalidData(f"{feature}: counts must be non-negative.")
    total_good, total_bad = sum(good), sum(bad)
    if total_good == 0 or total_bad == 0:
        raise InvalidData(
            f"{feature}: WOE needs at least one good and one bad row; got {total_good} good and {total_bad} bad."
        )
    g_share = []
    b_share = []
    for g, b in zip(good, bad):
        # pseudo-count keeps ln finite for pure bins
        g_share.append(Fraction(2 * g if g else 1, 2 * total_good))
        b_share.append(Fraction(2 * b if b else 1, 2 * total_bad))
    woe = [math.log(g / b) for g, b in zip(g_share, b_share)]
    iv = sum(float(g - b) * w for g, b, w in zip(g_share, b_share, woe))
    return BinStats(
        feature=feature,
        edges=tuple(edges),
        good=tuple(good),
        bad=tuple(bad),
        good_share=tuple(Fraction(g, total_good) for g in good),
        bad_share=tuple(Fraction(b, total_bad) for b in bad),
        woe_micro=tuple(round(w * MICRO) for w in woe),
        iv_micro=round(iv * MICRO),
    )


def woe_iv(revealed: dict[str, Any]) -> dict[str, BinStats]:
    """WOE/IV per feature from a federated_binning output's `revealed` payload."""
    bins = revealed.get("bins")
    if not isinstance(bins, dict):
        raise InvalidData("not a federated_binning output (bins missing).")
    return {name: bin_stats(name, b["edges"], b["good"], b["bad"]) for name, b in bins.items()}
