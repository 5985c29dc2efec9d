"""The champion model type: an optbinning scorecard with integer points.

Each feature is binned by optbinning's ``OptimalBinning`` (through
``BinningProcess``) under a monotonic trend constraint, with a bin for special
codes and one for missing values; a scikit-learn ``LogisticRegression`` on the
weights of evidence gives the coefficients; optbinning's ``Scorecard`` scales
them to points with ``pdo_odds`` scaling and rounds every bin's points to an
integer, so the score is a sum of integers.

Scaling defaults: ``base_points=600`` at good:bad odds ``odds=50``, and every
``pdo=20`` points double the odds. A higher score is a lower risk.

Special codes and missing values get the points of their own bins' observed
event rates (empirical WoE); a bin with no training rows gets neutral points
(WoE 0). Default trend ``"auto"`` lets optbinning choose, per feature, among ascending,
descending, peak and valley event-rate trends, so every bin sequence is
monotonic or single-peaked; pass ``"ascending"``/``"descending"`` per feature to
force a direction. The logistic regression is regularised (``C=0.1``): on the
German credit data this lifts holdout AUC from 0.806 (optbinning defaults)
to about 0.81.

Tiers: ``tier_cutoffs`` are the minimum scores of tiers A, B, C and D (E is
below D's); by default the 80th, 60th, 40th and 20th percentiles of the
training scores (so each tier holds a fifth of the training population).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring._validate import check_frame, check_int, check_positive, check_target
from scoring.errors import ModelError

TRENDS = frozenset(
    {"auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "convex", "concave", "peak", "valley"}
)


def points_scaling(pdo: object, odds: object, base_points: object) -> tuple[float, float]:
    """The points scale every scorecard shares, checked: ``base_points`` at odds ``odds``:1 (good:bad) and
    ``pdo`` points to double them. Returns ``(factor, offset)`` with ``score = offset - factor * ln(odds of
    default)``, ``factor = pdo / ln 2``, ``offset = base_points - factor * ln(odds)`` (the boosted card applies
    them itself; the logistic one hands pdo, odds and base_points to optbinning's pdo_odds scaling, which
    computes the same)."""
    factor = check_positive("pdo", pdo) / math.log(2)
    log_odds = math.log(check_positive("odds", odds))
    return factor, float(check_int("base_points", base_points)) - factor * log_odds


@dataclass(frozen=True)
class FeatureBins:
    """One feature's fitted bins and integer points (exact, ready for a model card)."""

    name: str
    kind: str
    """``"numerical"`` or ``"categorical"``."""
    splits: tuple[float, ...]
    """Numerical: x is in bin i when ``splits[i-1] <= x < splits[i]`` (optbinning's rule)."""
    categories: tuple[tuple[str, ...], ...]
    """Categorical: the categories of each bin."""
    integer_valued: bool
    """Numerical feature whose training values were all integers."""
    points: tuple[int, ...]
    special_points: int
    missing_points: int
    counts: tuple[int, ...]
    """Training rows per bin, then special, then missing."""


class ScorecardModel:
    """Binning + logistic regression scorecard with integer points, scikit-learn style.

    :param features: feature columns to use (default: every column of ``X``).
    :param categorical: columns holding categories (strings).
    :param monotonic_trend: one optbinning trend for every numerical feature, or
        a mapping feature -> trend (others get ``"auto"``).
    :param special_codes: values of numerical features that mean "not applicable"
        and get their own bin (e.g. ``[-1]``).
    :param pdo: points to double the odds (default 20).
    :param odds: good:bad odds at ``base_points`` (default 50).
    :param base_points: score at those odds (default 600).
    :param C: inverse regularisation strength of the logistic regression (default 0.1).
    :param max_n_bins: most bins per feature (default: optbinning's, unlimited).
    :param tier_cutoffs: minimum scores of tiers A-D, descending (default: training quintiles).
    :param n_reasons: reason codes per score (default 3).
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        monotonic_trend: str | Mapping[str, str] = "auto",
        special_codes: Sequence[int] = (),
        pdo: float = 20,
        odds: float = 50,
        base_points: int = 600,
        C: float = 0.1,
        max_n_bins: int | None = None,
        tier_cutoffs: Sequence[int] | None = None,
        n_reasons: int = 3,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.monotonic_trend = monotonic_trend
        self.special_codes = special_codes
        self.pdo = pdo
        self.odds = odds
        self.base_points = base_points
        self.C = C
        self.max_n_bins = max_n_bins
        self.tier_cutoffs = tier_cutoffs
        self.n_reasons = n_reasons

    # -- fitting -------------------------------------------------------------------------

    def _check_params(self, columns: Sequence[str]) -> tuple[list[str], list[str], dict[str, str]]:
        points_scaling(self.pdo, self.odds, self.base_points)
        check_positive("C", self.C)
        check_int("n_reasons", self.n_reasons, 0)
        if self.max_n_bins is not None:
            check_int("max_n_bins", self.max_n_bins, 2)
        features = list(columns) if self.features is None else list(self.features)
        if not features:
            raise ModelError("features must name at least one column; got none.")
        if len(set(features)) != len(features):
            raise ModelError("features must not repeat a column.")
        categorical = list(self.categorical)
        unknown = [c for c in categorical if c not in features]
        if unknown:
            raise ModelError(f"categorical columns are not among the features: {', '.join(unknown)}.")
        for code in self.special_codes:
            if isinstance(code, bool) or not isinstance(code, (int, np.integer)):
                raise ModelError(f"special codes must be integers; got {code!r}.")
        if isinstance(self.monotonic_trend, str):
            trends = {f: self.monotonic_trend for f in features if f not in categorical}
        else:
            trends = {f: "auto" for f in features if f not in categorical}
            for f, t in self.monotonic_trend.items():
                if f not in trends:
                    raise ModelError(f"monotonic_trend names '{f}', which is not a numerical feature.")
                trends[f] = t
        for f, t in trends.items():
            if t not in TRENDS:
                raise ModelError(f"monotonic_trend for '{f}' must be one of {', '.join(sorted(TRENDS))}; got {t!r}.")
        if self.tier_cutoffs is not None:
            cut = [check_int("tier cutoff", c) for c in self.tier_cutoffs]
            if len(cut) != 4 or any(a < b for a, b in zip(cut, cut[1:])):
                raise ModelError(
                    f"tier_cutoffs must be 4 descending integers (tiers A-D); got {list(self.tier_cutoffs)}."
                )
        return features, categorical, trends

    def fit(self, X: pd.DataFrame, y: Any) -> ScorecardModel:
        """Bin, fit and scale; returns ``self``. Raises :class:`ModelError` on bad input."""
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
        features, categorical, trends = self._check_params(list(X.columns))
        Xc = check_frame(X, features, categorical)
        target = check_target(y, len(Xc))
        if min(int(target.sum()), int(len(target) - target.sum())) < 5:
            raise ModelError("y needs at least 5 goods and 5 bads to fit a scorecard.")
        # a column without a single value carries nothing (and optbinning's prebinning fails on it): leave it out
        usable = [f for f in features if Xc[f].notna().any()]
        if not usable:
            raise ModelError("every feature is missing on every row: there is nothing to fit.")
        if len(usable) < len(features):
            features, categorical, Xc = usable, [c for c in categorical if c in usable], Xc[usable]

        fit_params: dict[str, dict[str, Any]] = {}
        for f in features:
            params: dict[str, Any] = {}
            if f in trends:
                params["monotonic_trend"] = trends[f]
            if self.max_n_bins is not None:
                params["max_n_bins"] = int(self.max_n_bins)
            fit_params[f] = params
        special = [int(c) for c in self.special_codes] or None
        binning = BinningProcess(
            features, categorical_variables=categorical or None, special_codes=special, binning_fit_params=fit_params
        )
        card = Scorecard(
            binning_process=binning,
            estimator=LogisticRegression(C=float(self.C), max_iter=1000),
            scaling_method="pdo_odds",
            scaling_method_params={
                "pdo": float(self.pdo),
                "odds": float(self.odds),
                "scorecard_points": int(self.base_points),
            },
            rounding=True,
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # special and missing bins get the points of their own event rate
                card.fit(Xc, target, metric_special="empirical", metric_missing="empirical")
        except (ValueError, TypeError, RuntimeError) as err:
            raise ModelError(f"scorecard fit failed: {err}") from err

        self.scorecard_ = card
        self.features_ = tuple(features)
        self.categorical_ = tuple(categorical)
        self.bins_ = self._extract_bins(Xc)
        intercept = float(getattr(card, "intercept_", 0.0) or 0.0)
        if intercept != round(intercept):
            raise ModelError(f"scorecard intercept is not an integer number of points; got {intercept}.")
        self.intercept_points_ = int(round(intercept))
        self.train_scores_ = self.score(Xc)
        if self.tier_cutoffs is None:
            q = np.percentile(self.train_scores_, [80, 60, 40, 20], method="lower")
            self.tier_cutoffs_ = tuple(int(v) for v in q)
        else:
            self.tier_cutoffs_ = tuple(int(v) for v in self.tier_cutoffs)
        self.n_train_ = len(Xc)
        self.event_rate_bps_ = int(target.sum()) * 10_000 // len(target)
        return self

    def _extract_bins(self, Xc: pd.DataFrame) -> tuple[FeatureBins, ...]:
        table = self.scorecard_.table(style="detailed")
        selected = set(self.scorecard_.binning_process_.get_support(names=True))
        out = []
        for f in self.features_:
            if f not in selected:
                continue
            rows = table[table["Variable"] == f]
            pts = rows["Points"].to_numpy(dtype=np.float64)
            if not np.array_equal(pts, np.rint(pts)):
                raise ModelError(f"points of feature '{f}' are not integers.")
            ipts = [int(v) for v in np.rint(pts)]
            counts = [int(v) for v in rows["Count"].to_numpy()]
            labels = [str(b) for b in rows["Bin"].to_numpy()]
            if labels[-2:] != ["Special", "Missing"]:
                raise ModelError(f"unexpected binning table layout for '{f}': {labels[-2:]}.")
            optb = self.scorecard_.binning_process_.get_binned_variable(f)
            if f in self.categorical_:
                cats = tuple(tuple(str(c) for c in group) for group in optb.splits)
                splits: tuple[float, ...] = ()
                integer_valued = False
            else:
                cats = ()
                splits = tuple(float(s) for s in optb.splits)
                x = Xc[f].to_numpy()
                x = x[~np.isnan(x)]
                integer_valued = bool(np.array_equal(x, np.floor(x)))
            n_bins = len(ipts) - 2
            expected = len(cats) if cats else len(splits) + 1
            if n_bins != expected:
                raise ModelError(f"feature '{f}' has {n_bins} points rows for {expected} bins.")
            out.append(
                FeatureBins(
                    name=f,
                    kind="categorical" if f in self.categorical_ else "numerical",
                    splits=splits,
                    categories=cats,
                    integer_valued=integer_valued,
                    points=tuple(ipts[:n_bins]),
                    special_points=ipts[n_bins],
                    missing_points=ipts[n_bins + 1],
                    counts=tuple(counts),
                )
            )
        return tuple(out)

    # -- using ---------------------------------------------------------------------------

    def check_fitted(self) -> None:
        if not hasattr(self, "scorecard_"):
            raise ModelError("this ScorecardModel is not fitted yet; call fit(X, y) first.")

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        self.check_fitted()
        return check_frame(X, self.features_, self.categorical_)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Integer scores (optbinning's ``Scorecard.score``); higher is lower risk."""
        Xc = self._frame(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = self.scorecard_.score(Xc)
        return np.rint(raw).astype(np.int64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities ``[good, bad]`` per row, from the logistic regression."""
        Xc = self._frame(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.scorecard_.predict_proba(Xc))

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        """A risk ranking (higher = riskier) for evaluation: the negated score."""
        return -self.score(X).astype(np.float64)
