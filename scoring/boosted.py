"""A boosted additive scorecard: per-feature shape functions by cyclic gradient boosting, as integer points.

The model is an explainable boosting machine without interactions, written on
numpy: the risk (log-odds of a bad) is an intercept plus one shape function
per feature, each a value per bin. Every feature is cut into fine bins
(at most ``max_bins`` quantile bins of its distinct training values, plus a
bin for special codes and one for missing values; a categorical feature gets a
bin per category). Boosting cycles over the features: for each one it fits a
small tree (``max_leaves`` leaves over the feature's ordered bins; categories
ordered by their gradient ratio) to the logistic loss's gradient and Hessian,
and adds it at a small ``learning_rate``. A feature may be given a monotonic
constraint (``"ascending"``: the risk never falls as the value grows;
``"descending"``: never rises); its shape function is projected onto that
order (pool-adjacent-violators, weighted by rows) after every step.

Early stopping: each of ``n_bags`` bags holds out a stratified share
(``validation_size``) of the TRAINING rows, boosts until the held-out log-loss
has not improved for ``patience`` cycles and keeps the best cycle; the bags'
shape functions are averaged, so every training row is used. The holdout the
factory evaluates on is never seen.

Integer points: with the card's scaling (``base_points`` at good:bad
``odds``, ``pdo`` points to double the odds) the score is
``offset - factor * (intercept + sum of shapes)``, ``factor = pdo / ln 2``.
Each shape value becomes ``round(-factor * value)`` points and the intercept
``round(offset - factor * intercept)``; the model's score IS that integer sum
(:meth:`BoostedScorecardModel.score`), so the card, which holds the same
integer table (adjacent bins with equal points merged), scores every row
identically and ranks exactly as the model does.

Deterministic: the same data, parameters and ``random_state`` give the same
points, hence the same card bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring._validate import check_frame, check_int, check_positive, check_target
from scoring.errors import ModelError
from scoring.scorecard import FeatureBins, points_scaling

#: the trends that constrain a shape function; the other auto trends leave it free
MONOTONIC = frozenset({"ascending", "descending"})
TRENDS = frozenset({"auto", "auto_heuristic", "auto_asc_desc", *MONOTONIC})


@dataclass(frozen=True)
class _Binner:
    """One feature's fine bins: ``splits`` (numerical) or ``categories`` (category -> bin), special and missing
    are bins ``n`` and ``n + 1``."""

    name: str
    categorical: bool
    splits: np.ndarray
    categories: dict[str, int]
    special: np.ndarray
    integer_valued: bool

    @property
    def n(self) -> int:
        return len(self.categories) if self.categorical else len(self.splits) + 1

    def bins(self, col: np.ndarray) -> np.ndarray:
        n = self.n
        if self.categorical:
            return np.fromiter(
                (n + 1 if v is None else self.categories.get(v, n + 1) for v in col), dtype=np.int64, count=len(col)
            )
        x = np.asarray(col, dtype=np.float64)
        miss = np.isnan(x)
        out = np.searchsorted(self.splits, np.where(miss, 0.0, x), side="right").astype(np.int64)
        if len(self.special):
            out[np.isin(x, self.special)] = n
        out[miss] = n + 1
        return out


def _fine_splits(values: np.ndarray, max_bins: int) -> np.ndarray:
    """Cut points between distinct values: every distinct value its own bin when there are at most ``max_bins``,
    else ``max_bins`` quantile bins (a cut is the midpoint of two neighbouring distinct values)."""
    u = np.unique(values)
    if len(u) <= 1:
        return np.empty(0)
    if len(u) > max_bins:
        qs = np.quantile(values, np.linspace(0, 1, max_bins + 1)[1:-1], method="lower")
        pos = np.unique(np.searchsorted(u, qs))  # index of the last value of each lower bin
        pos = pos[pos < len(u) - 1]
        lower, upper = u[pos], u[pos + 1]
    else:
        lower, upper = u[:-1], u[1:]
    return np.unique(lower + (upper - lower) / 2)


def _pava(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted non-decreasing fit (pool adjacent violators)."""
    level: list[float] = []
    weight: list[float] = []
    size: list[int] = []
    for v, w in zip(values.tolist(), weights.tolist()):
        level.append(v)
        weight.append(w)
        size.append(1)
        while len(level) > 1 and level[-2] > level[-1]:
            w2 = weight[-2] + weight[-1]
            merged = (level[-2] * weight[-2] + level[-1] * weight[-1]) / w2
            s = size[-2] + size[-1]
            del level[-1], weight[-1], size[-1]
            level[-1], weight[-1], size[-1] = merged, w2, s
    return np.repeat(np.asarray(level), size)


def _best_split(g: np.ndarray, h: np.ndarray, c: np.ndarray, l2: float, min_rows: int) -> tuple[float, int]:
    """Best gain and split position (left = ``[:pos]``) of one ordered segment; ``(0.0, -1)`` if none."""
    if len(g) < 2:
        return 0.0, -1
    cg, ch, cc = np.cumsum(g)[:-1], np.cumsum(h)[:-1], np.cumsum(c)[:-1]
    tg, th, tc = g.sum(), h.sum(), c.sum()
    gain = cg**2 / (ch + l2) + (tg - cg) ** 2 / (th - ch + l2) - tg**2 / (th + l2)
    gain[(cc < min_rows) | (tc - cc < min_rows)] = -np.inf
    k = int(np.argmax(gain))
    return (float(gain[k]), k + 1) if gain[k] > 1e-12 else (0.0, -1)


def _tree_step(
    g: np.ndarray, h: np.ndarray, c: np.ndarray, order: np.ndarray, leaves: int, l2: float, min_rows: int
) -> np.ndarray:
    """Newton leaf values of a tree of at most ``leaves`` leaves over the bins in ``order`` (values per bin)."""
    g, h, c = g[order], h[order], c[order]
    segments = [(0, len(order))]
    for _ in range(leaves - 1):
        best = (0.0, -1, -1)
        for i, (a, b) in enumerate(segments):
            gain, pos = _best_split(g[a:b], h[a:b], c[a:b], l2, min_rows)
            if pos > 0 and gain > best[0]:
                best = (gain, i, a + pos)
        if best[1] < 0:
            break
        a, b = segments[best[1]]
        segments[best[1] : best[1] + 1] = [(a, best[2]), (best[2], b)]
    step = np.zeros(len(order))
    for a, b in segments:
        step[a:b] = -g[a:b].sum() / (h[a:b].sum() + l2)
    out = np.zeros(len(order))
    out[order] = step
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


def _logloss(y: np.ndarray, z: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


class BoostedScorecardModel:
    """Additive boosted scorecard with integer points per bin, scikit-learn style.

    Parameters shared with :class:`scoring.scorecard.ScorecardModel`: ``features``, ``categorical``,
    ``special_codes``, ``pdo``, ``odds``, ``base_points``, ``tier_cutoffs``, ``n_reasons``.

    :param monotonic_trend: one trend for every numerical feature, or a mapping feature -> trend (others
        unconstrained): ``"ascending"`` (the risk never falls as the value grows) or ``"descending"`` constrain the
        shape function; ``"auto"`` (the default) leaves it free. The name and the ascending/descending meaning are
        :class:`~scoring.scorecard.ScorecardModel`'s, so one parameter serves both model types.
    :param max_bins: most fine bins per numerical feature (default 32).
    :param learning_rate: shrinkage per step (default 0.04).
    :param max_cycles: most boosting cycles over all features per bag (default 600).
    :param max_leaves: leaves of each step's tree over one feature's bins (default 3).
    :param min_leaf_rows: fewest training rows in a leaf (default 20).
    :param l2: L2 regularisation of the leaf values (default 5.0).
    :param patience: cycles without a better validation loss before stopping (default 40).
    :param validation_size: share of the training rows each bag holds out for early stopping (default 0.2).
    :param n_bags: bags averaged (default 8).
    :param random_state: seed of the bags' splits (default 0).
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
        max_bins: int = 32,
        learning_rate: float = 0.04,
        max_cycles: int = 600,
        max_leaves: int = 3,
        min_leaf_rows: int = 20,
        l2: float = 5.0,
        patience: int = 40,
        validation_size: float = 0.2,
        n_bags: int = 8,
        random_state: int = 0,
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
        self.max_bins = max_bins
        self.learning_rate = learning_rate
        self.max_cycles = max_cycles
        self.max_leaves = max_leaves
        self.min_leaf_rows = min_leaf_rows
        self.l2 = l2
        self.patience = patience
        self.validation_size = validation_size
        self.n_bags = n_bags
        self.random_state = random_state
        self.tier_cutoffs = tier_cutoffs
        self.n_reasons = n_reasons

    # -- fitting -------------------------------------------------------------------------

    def _check_params(self, columns: Sequence[str]) -> tuple[list[str], list[str], dict[str, str]]:
        points_scaling(self.pdo, self.odds, self.base_points)
        check_int("n_reasons", self.n_reasons, 0)
        check_int("max_bins", self.max_bins, 2)
        check_positive("learning_rate", self.learning_rate)
        if self.learning_rate > 1:
            raise ModelError(f"learning_rate must be at most 1; got {self.learning_rate!r}.")
        check_int("max_cycles", self.max_cycles, 1)
        check_int("max_leaves", self.max_leaves, 2)
        check_int("min_leaf_rows", self.min_leaf_rows, 1)
        check_int("patience", self.patience, 1)
        check_int("n_bags", self.n_bags, 1)
        check_int("random_state", self.random_state, 0)
        if isinstance(self.l2, bool) or not isinstance(self.l2, (int, float)) or not self.l2 >= 0:
            raise ModelError(f"l2 must be a number of at least 0; got {self.l2!r}.")
        if not 0 < self.validation_size < 0.5:
            raise ModelError(f"validation_size must be between 0 and 0.5; got {self.validation_size!r}.")
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
        numerical = [f for f in features if f not in categorical]
        if isinstance(self.monotonic_trend, str):
            trends = {f: self.monotonic_trend for f in numerical}
        elif isinstance(self.monotonic_trend, Mapping):
            trends = {}
            for f, t in self.monotonic_trend.items():
                if f not in numerical:
                    raise ModelError(f"monotonic_trend names '{f}', which is not a numerical feature.")
                trends[f] = t
        else:
            raise ModelError(
                f"monotonic_trend must be a trend or a mapping of feature to trend; got {self.monotonic_trend!r}."
            )
        for f, t in trends.items():
            if t not in TRENDS:
                raise ModelError(f"monotonic_trend for '{f}' must be one of {', '.join(sorted(TRENDS))}; got {t!r}.")
        monotonic = {f: t for f, t in trends.items() if t in MONOTONIC}
        if self.tier_cutoffs is not None:
            cut = [check_int("tier cutoff", c) for c in self.tier_cutoffs]
            if len(cut) != 4 or any(a < b for a, b in zip(cut, cut[1:])):
                raise ModelError(
                    f"tier_cutoffs must be 4 descending integers (tiers A-D); got {list(self.tier_cutoffs)}."
                )
        return features, categorical, monotonic

    def _binner(self, name: str, col: np.ndarray, categorical: bool) -> _Binner:
        special = np.asarray(sorted({float(c) for c in self.special_codes}), dtype=np.float64)
        if categorical:
            cats = sorted({v for v in col if v is not None})
            return _Binner(name, True, np.empty(0), {c: i for i, c in enumerate(cats)}, np.empty(0), False)
        x = np.asarray(col, dtype=np.float64)
        x = x[~np.isnan(x)]
        if len(special):
            x = x[~np.isin(x, special)]
        integer_valued = bool(np.array_equal(x, np.floor(x)))
        return _Binner(name, False, _fine_splits(x, int(self.max_bins)), {}, special, integer_valued)

    def fit(self, X: pd.DataFrame, y: Any) -> BoostedScorecardModel:
        """Bin, boost, average the bags and scale to integer points; returns ``self``."""
        from sklearn.model_selection import train_test_split

        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
        features, categorical, monotonic = self._check_params(list(X.columns))
        Xc = check_frame(X, features, categorical)
        target = check_target(y, len(Xc))
        if min(int(target.sum()), int(len(target) - target.sum())) < 5:
            raise ModelError("y needs at least 5 goods and 5 bads to fit a scorecard.")
        binners = [self._binner(f, Xc[f].to_numpy(), f in categorical) for f in features]
        B = np.stack([b.bins(Xc[b.name].to_numpy()) for b in binners], axis=1)
        sizes = [b.n + 2 for b in binners]
        yf = target.astype(np.float64)

        shapes = [np.zeros(s) for s in sizes]
        intercept = 0.0
        cycles = []
        rows = np.arange(len(target))
        for bag in range(int(self.n_bags)):
            try:
                tr, va = train_test_split(
                    rows,
                    test_size=float(self.validation_size),
                    stratify=target,
                    random_state=int(self.random_state) + bag,
                )
            except ValueError as err:
                raise ModelError(f"cannot hold out validation rows for early stopping: {err}") from err
            tr, va = np.sort(tr), np.sort(va)
            b0, bag_shapes, best = self._boost(
                B[tr],
                yf[tr],
                B[va],
                yf[va],
                sizes,
                [monotonic.get(b.name) for b in binners],
                [b.categorical for b in binners],
            )
            intercept += b0 / self.n_bags
            for s, bs in zip(shapes, bag_shapes):
                s += bs / self.n_bags
            cycles.append(best)

        # centre each shape on the training rows (its mean goes into the intercept)
        counts = [np.bincount(B[:, j], minlength=sizes[j]) for j in range(len(binners))]
        for j, s in enumerate(shapes):
            mean = float(np.dot(counts[j], s) / len(target))
            s -= mean
            s[counts[j] == 0] = 0.0  # bins without training rows (special, missing) score neutral
            intercept += mean

        factor, offset = points_scaling(self.pdo, self.odds, self.base_points)
        self.features_ = tuple(features)
        self.categorical_ = tuple(categorical)
        self.binners_ = tuple(binners)
        self.shapes_ = tuple(shapes)
        self.intercept_ = intercept
        self.cycles_ = tuple(cycles)
        self.tables_ = tuple(np.rint(-factor * s).astype(np.int64) + 0 for s in shapes)
        self.intercept_points_ = int(round(offset - factor * intercept))
        card_bins = [self._card_bins(b, t, c) for b, t, c in zip(binners, self.tables_, counts)]
        self.bins_ = tuple(fb for fb in card_bins if fb is not None)
        if not self.bins_:
            # every feature is flat: keep the first one (all its points are equal) so the card has a feature
            flat = self._card_bins(binners[0], self.tables_[0], counts[0], keep_flat=True)
            assert flat is not None
            self.bins_ = (flat,)
        self.train_scores_ = self._score_bins(B)
        if self.tier_cutoffs is None:
            q = np.percentile(self.train_scores_, [80, 60, 40, 20], method="lower")
            self.tier_cutoffs_ = tuple(int(v) for v in q)
        else:
            self.tier_cutoffs_ = tuple(int(v) for v in self.tier_cutoffs)
        self.n_train_ = len(Xc)
        self.event_rate_bps_ = int(target.sum()) * 10_000 // len(target)
        return self

    def _boost(
        self,
        Btr: np.ndarray,
        ytr: np.ndarray,
        Bva: np.ndarray,
        yva: np.ndarray,
        sizes: Sequence[int],
        mono: Sequence[str | None],
        cats: Sequence[bool],
    ) -> tuple[float, list[np.ndarray], int]:
        rate = float(np.clip(ytr.mean(), 1e-6, 1 - 1e-6))
        b0 = math.log(rate / (1 - rate))
        z = np.full(len(ytr), b0)
        zv = np.full(len(yva), b0)
        shapes = [np.zeros(s) for s in sizes]
        best_shapes = [s.copy() for s in shapes]
        best_loss, best_cycle = _logloss(yva, zv), 0
        counts = [np.bincount(Btr[:, j], minlength=sizes[j]).astype(np.float64) for j in range(len(sizes))]
        lr, l2, leaves, min_rows = (
            float(self.learning_rate),
            float(self.l2),
            int(self.max_leaves),
            int(self.min_leaf_rows),
        )
        for cycle in range(1, int(self.max_cycles) + 1):
            for j, size in enumerate(sizes):
                p = _sigmoid(z)
                col = Btr[:, j]
                g = np.bincount(col, weights=p - ytr, minlength=size)
                h = np.bincount(col, weights=p * (1 - p), minlength=size)
                c = counts[j]
                n = size - 2
                step = np.zeros(size)
                if cats[j]:
                    order = np.argsort(g[:n] / (h[:n] + l2), kind="stable")
                else:
                    order = np.arange(n)
                step[:n] = _tree_step(g[:n], h[:n], c[:n], order, leaves, l2, min_rows)
                for k in (n, n + 1):  # special and missing bins are leaves of their own
                    if c[k] >= min_rows:
                        step[k] = -g[k] / (h[k] + l2)
                new = shapes[j] + lr * step
                if mono[j] is not None:
                    w = c[:n] + 1e-9
                    if mono[j] == "ascending":
                        new[:n] = _pava(new[:n], w)
                    else:
                        new[:n] = -_pava(-new[:n], w)
                delta = new - shapes[j]
                shapes[j] = new
                z += delta[col]
                zv += delta[Bva[:, j]]
            loss = _logloss(yva, zv)
            if loss < best_loss - 1e-9:
                best_loss, best_cycle = loss, cycle
                best_shapes = [s.copy() for s in shapes]
            elif cycle - best_cycle >= int(self.patience):
                break
        return b0, best_shapes, best_cycle

    def _card_bins(
        self, b: _Binner, table: np.ndarray, counts: np.ndarray, keep_flat: bool = False
    ) -> FeatureBins | None:
        n = b.n
        pts, special, missing = table[:n], int(table[n]), int(table[n + 1])
        if not keep_flat and np.all(pts == 0) and special == 0 and missing == 0:
            return None
        if b.categorical:
            names = sorted(b.categories, key=lambda c: b.categories[c])
            levels = sorted({int(v) for v in pts}, reverse=True)
            groups = [tuple(c for c in names if int(pts[b.categories[c]]) == lv) for lv in levels]
            group_counts = [int(sum(counts[b.categories[c]] for c in g)) for g in groups]
            return FeatureBins(
                name=b.name,
                kind="categorical",
                splits=(),
                categories=tuple(groups),
                integer_valued=False,
                points=tuple(levels),
                special_points=special,
                missing_points=missing,
                counts=(*group_counts, int(counts[n]), int(counts[n + 1])),
            )
        keep = [i for i in range(1, n) if pts[i] != pts[i - 1]]  # a split survives where the points change
        splits = tuple(float(b.splits[i - 1]) for i in keep)
        starts = [0, *keep]
        merged_pts = tuple(int(pts[s]) for s in starts)
        merged_counts = tuple(int(counts[a:e].sum()) for a, e in zip(starts, [*keep, n]))
        return FeatureBins(
            name=b.name,
            kind="numerical",
            splits=splits,
            categories=(),
            integer_valued=b.integer_valued,
            points=merged_pts,
            special_points=special,
            missing_points=missing,
            counts=(*merged_counts, int(counts[n]), int(counts[n + 1])),
        )

    # -- using ---------------------------------------------------------------------------

    def check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise ModelError("this BoostedScorecardModel is not fitted yet; call fit(X, y) first.")

    def _score_bins(self, B: np.ndarray) -> np.ndarray:
        total = np.full(len(B), self.intercept_points_, dtype=np.int64)
        for j, t in enumerate(self.tables_):
            total += t[B[:, j]]
        return total

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Integer scores (the model's own fine bins and integer points); higher is lower risk."""
        self.check_fitted()
        Xc = check_frame(X, self.features_, self.categorical_)
        return self._score_bins(np.stack([b.bins(Xc[b.name].to_numpy()) for b in self.binners_], axis=1))

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """The unrounded log-odds of a bad (intercept plus the shape functions)."""
        self.check_fitted()
        Xc = check_frame(X, self.features_, self.categorical_)
        z = np.full(len(Xc), self.intercept_)
        for b, s in zip(self.binners_, self.shapes_):
            z += s[b.bins(Xc[b.name].to_numpy())]
        return z

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities ``[good, bad]`` per row, from the unrounded shape functions."""
        p = _sigmoid(self.log_odds(X))
        return np.stack([1 - p, p], axis=1)

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        """A risk ranking (higher = riskier) for evaluation: the negated integer score."""
        return -self.score(X).astype(np.float64)


class BlendedScorecardModel:
    """The average of a logistic and a boosted scorecard, itself an additive integer scorecard.

    Both scorecards are on the same scale (the same ``pdo``, ``odds`` and ``base_points``), so the average of
    their scores is the score of the average of their log-odds. Per feature the bins are the union of the two
    cards' bins (integer edges for integer-valued features, so no two edges collide); a bin's points are
    ``round((logistic points + boosted points) / 2)`` and the intercept likewise. The model's score is that
    integer sum, so its card scores every row exactly as the model. Parameters are those of both model types.
    """

    def __init__(self, **params: Any) -> None:
        self.params = params

    def fit(self, X: pd.DataFrame, y: Any) -> BlendedScorecardModel:
        import inspect

        from scoring.scorecard import ScorecardModel

        accepted = {cls: set(inspect.signature(cls).parameters) for cls in (ScorecardModel, BoostedScorecardModel)}
        unknown = sorted(set(self.params) - accepted[ScorecardModel] - accepted[BoostedScorecardModel])
        if unknown:
            raise ModelError(f"unknown parameter for a blended scorecard: {', '.join(unknown)}.")
        logistic = ScorecardModel(**{k: v for k, v in self.params.items() if k in accepted[ScorecardModel]})
        boosted = BoostedScorecardModel(
            **{k: v for k, v in self.params.items() if k in accepted[BoostedScorecardModel]}
        )
        return self.fit_from(logistic.fit(X, y), boosted.fit(X, y), X, y)

    def fit_from(self, logistic: Any, boosted: BoostedScorecardModel, X: pd.DataFrame, y: Any) -> BlendedScorecardModel:
        """Blend two scorecards already fitted on ``X, y`` (the same scaling)."""
        logistic.check_fitted()
        boosted.check_fitted()
        scale = ("pdo", "odds", "base_points")
        if [float(getattr(logistic, k)) for k in scale] != [float(getattr(boosted, k)) for k in scale]:
            raise ModelError("a blend needs both scorecards on the same scaling (pdo, odds, base_points).")
        if sorted(logistic.special_codes) != sorted(boosted.special_codes):
            raise ModelError("a blend needs both scorecards with the same special codes.")
        self.logistic_, self.boosted_ = logistic, boosted
        self.pdo, self.odds, self.base_points = logistic.pdo, logistic.odds, logistic.base_points
        self.special_codes = tuple(logistic.special_codes)
        self.n_reasons = logistic.n_reasons
        self.categorical_ = tuple(boosted.categorical_)
        a = {b.name: b for b in logistic.bins_}
        b = {fb.name: fb for fb in boosted.bins_}
        names = [f for f in boosted.features_ if f in a or f in b]
        self.features_ = tuple(names)
        Xc = check_frame(X, names, [f for f in names if f in self.categorical_])
        target = check_target(y, len(Xc))
        self.intercept_points_ = _half(logistic.intercept_points_ + boosted.intercept_points_)
        merged = [_merge(a.get(f), b.get(f), self.special_codes) for f in names]
        self.binners_ = tuple(m[0] for m in merged)
        self.tables_ = tuple(m[1] for m in merged)
        B = np.stack([bn.bins(Xc[bn.name].to_numpy()) for bn in self.binners_], axis=1)
        self.bins_ = tuple(
            _blend_bins(bn, t, np.bincount(B[:, j], minlength=len(t)))
            for j, (bn, t) in enumerate(zip(self.binners_, self.tables_))
        )
        self.train_scores_ = self._score_bins(B)
        cutoffs = logistic.tier_cutoffs
        if cutoffs is None:
            q = np.percentile(self.train_scores_, [80, 60, 40, 20], method="lower")
            self.tier_cutoffs_ = tuple(int(v) for v in q)
        else:
            self.tier_cutoffs_ = tuple(int(v) for v in cutoffs)
        self.n_train_ = len(Xc)
        self.event_rate_bps_ = int(target.sum()) * 10_000 // len(target)
        return self

    def check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise ModelError("this BlendedScorecardModel is not fitted yet; call fit(X, y) first.")

    def _score_bins(self, B: np.ndarray) -> np.ndarray:
        total = np.full(len(B), self.intercept_points_, dtype=np.int64)
        for j, t in enumerate(self.tables_):
            total += t[B[:, j]]
        return total

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Integer scores from the merged bins; higher is lower risk."""
        self.check_fitted()
        Xc = check_frame(X, self.features_, [f for f in self.features_ if f in self.categorical_])
        return self._score_bins(np.stack([b.bins(Xc[b.name].to_numpy()) for b in self.binners_], axis=1))

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        return -self.score(X).astype(np.float64)


def _half(total: int) -> int:
    return int(round(total / 2))


def _merge(a: FeatureBins | None, b: FeatureBins | None, special_codes: Sequence[int]) -> tuple[_Binner, np.ndarray]:
    """The union binning of one feature's two card bins and the blended integer points (regular bins, special,
    missing)."""
    ref = a if a is not None else b
    assert ref is not None
    if ref.kind == "categorical":

        def lookup(fb: FeatureBins | None) -> tuple[dict[str, int], int, int]:
            if fb is None:
                return {}, 0, 0
            return (
                {c: p for group, p in zip(fb.categories, fb.points) for c in group},
                fb.special_points,
                fb.missing_points,
            )

        pa, sa, ma = lookup(a)
        pb, sb, mb = lookup(b)
        cats = sorted(set(pa) | set(pb))
        pts = [_half(pa.get(c, ma) + pb.get(c, mb)) for c in cats]
        binner = _Binner(ref.name, True, np.empty(0), {c: i for i, c in enumerate(cats)}, np.empty(0), False)
        return binner, np.asarray([*pts, _half(sa + sb), _half(ma + mb)], dtype=np.int64)
    integer = all(fb.integer_valued for fb in (a, b) if fb is not None)

    def edges(fb: FeatureBins | None) -> np.ndarray:
        if fb is None:
            return np.empty(0)
        s = np.asarray(fb.splits, dtype=np.float64)
        return np.ceil(s) if integer else s

    ea, eb = edges(a), edges(b)
    union = np.unique(np.concatenate([ea, eb]))
    lower = np.concatenate([[-np.inf], union])  # each merged bin's lowest value

    def points(fb: FeatureBins | None, e: np.ndarray) -> tuple[np.ndarray, int, int]:
        if fb is None:
            return np.zeros(len(lower), dtype=np.int64), 0, 0
        idx = np.searchsorted(e, lower, side="right")
        return np.asarray(fb.points, dtype=np.int64)[idx], fb.special_points, fb.missing_points

    pa_, sa_, ma_ = points(a, ea)
    pb_, sb_, mb_ = points(b, eb)
    pts = [_half(int(x) + int(y)) for x, y in zip(pa_, pb_)]
    special = np.asarray(sorted({float(c) for c in special_codes}), dtype=np.float64)
    binner = _Binner(ref.name, False, union, {}, special, integer)
    return binner, np.asarray([*pts, _half(sa_ + sb_), _half(ma_ + mb_)], dtype=np.int64)


def _blend_bins(b: _Binner, table: np.ndarray, counts: np.ndarray) -> FeatureBins:
    n = b.n
    if b.categorical:
        names = sorted(b.categories, key=lambda c: b.categories[c])
        levels = sorted({int(v) for v in table[:n]}, reverse=True)
        groups = [tuple(c for c in names if int(table[b.categories[c]]) == lv) for lv in levels]
        return FeatureBins(
            name=b.name,
            kind="categorical",
            splits=(),
            categories=tuple(groups),
            integer_valued=False,
            points=tuple(levels),
            special_points=int(table[n]),
            missing_points=int(table[n + 1]),
            counts=(
                *[int(sum(counts[b.categories[c]] for c in g)) for g in groups],
                int(counts[n]),
                int(counts[n + 1]),
            ),
        )
    return FeatureBins(
        name=b.name,
        kind="numerical",
        splits=tuple(float(s) for s in b.splits),
        categories=(),
        integer_valued=b.integer_valued,
        points=tuple(int(v) for v in table[:n]),
        special_points=int(table[n]),
        missing_points=int(table[n + 1]),
        counts=tuple(int(c) for c in counts),
    )
