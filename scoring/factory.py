"""The model factory: model types under one fit/evaluate interface, champion/challenger.

Every model type implements :class:`CreditModel` (``fit(X, y) -> self`` and
``risk(X)``, higher = riskier). :func:`evaluate` gives holdout metrics,
:func:`compare` the champion/challenger report. Only a scorecard can become an
on-chain champion (its card scores deterministically); a challenger such as
:class:`GradientBoostingChallenger` informs the committee.

Three scorecard methods give the same deployable card (integer points per bin):
``"logistic"`` (:class:`ScorecardModel`: optbinning bins + logistic regression),
``"boosted"`` (:class:`~scoring.boosted.BoostedScorecardModel`: per-feature
shape functions by cyclic gradient boosting) and ``"blend"``
(:class:`~scoring.boosted.BlendedScorecardModel`: the average of the two, still
additive); ``"auto"`` picks one by stratified cross-validation on the training
split only and records the choice and the figures in the card's ``factory``
entry.

Typical flow (what ``creditshare model train|evaluate|compare|monitor`` calls)::

    X, y = training_set(settlements, as_of)
    result = train_scorecard(X, y, name="freight", version=1, method="auto")
    result.card.save("card.json")
    report = challenge(result.card, X, y)  # the card against a challenger on the same holdout
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from scoring._validate import check_frame, check_int, check_positive, check_target
from scoring.boosted import BlendedScorecardModel, BoostedScorecardModel
from scoring.errors import ModelError
from scoring.features import (
    DAY,
    build_features,
    carrier_labels,
    party_features,
    platform_labels,
    shipper_labels,
)
from scoring.metrics import Metrics, evaluate_scores
from scoring.model_card import ModelCard, card_float
from scoring.scorecard import ScorecardModel

#: a challenger must beat the champion's holdout AUC by this much to be recommended
MIN_AUC_GAIN = 0.005
#: the holdout's share of the rows, and the seed of its stratified split (the same rows for the same data)
TEST_SIZE = 0.3
SPLIT_SEED = 42
#: scorecard methods of :func:`train_scorecard`
METHODS = ("logistic", "boosted", "blend", "auto")
#: what ``method="auto"`` chooses from
CANDIDATES = ("logistic", "boosted", "blend")
#: folds of the cross-validation of ``method="auto"``
CV_FOLDS = 5


@runtime_checkable
class CreditModel(Protocol):
    """What every model type of the factory provides."""

    def fit(self, X: pd.DataFrame, y: Any) -> CreditModel: ...

    def risk(self, X: pd.DataFrame) -> np.ndarray: ...


class GradientBoostingChallenger:
    """scikit-learn ``HistGradientBoostingClassifier`` as a challenger (missing values native).

    :param features: columns to use (default all); ``categorical`` columns hold strings.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] = (),
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.random_state = random_state

    def _encode(self, Xc: pd.DataFrame) -> pd.DataFrame:
        out = Xc.copy()
        for c in self.categorical_:
            codes = self.category_codes_[c]
            out[c] = np.array([codes.get(v, np.nan) if v is not None else np.nan for v in Xc[c]], dtype=np.float64)
        return out

    def fit(self, X: pd.DataFrame, y: Any) -> GradientBoostingChallenger:
        from sklearn.ensemble import HistGradientBoostingClassifier

        check_int("max_iter", self.max_iter, 1)
        check_positive("learning_rate", self.learning_rate)
        check_int("max_leaf_nodes", self.max_leaf_nodes, 2)
        if not isinstance(X, pd.DataFrame):
            raise ModelError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
        features = list(X.columns) if self.features is None else list(self.features)
        self.categorical_ = tuple(self.categorical)
        self.features_ = tuple(features)
        Xc = check_frame(X, features, self.categorical_)
        target = check_target(y, len(Xc))
        self.category_codes_ = {
            c: {v: i for i, v in enumerate(sorted({v for v in Xc[c] if v is not None}))} for c in self.categorical_
        }
        mask = [f in self.categorical_ for f in features]
        self.estimator_ = HistGradientBoostingClassifier(
            max_iter=int(self.max_iter),
            learning_rate=float(self.learning_rate),
            max_leaf_nodes=int(self.max_leaf_nodes),
            categorical_features=mask if any(mask) else None,
            random_state=self.random_state,
        ).fit(self._encode(Xc), target)
        return self

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise ModelError("this GradientBoostingChallenger is not fitted yet; call fit(X, y) first.")
        Xc = check_frame(X, self.features_, self.categorical_)
        return np.asarray(self.estimator_.predict_proba(self._encode(Xc))[:, 1])


def evaluate(model: CreditModel, X: pd.DataFrame, y: Any) -> Metrics:
    """Holdout AUC, KS and Gini of a fitted model."""
    if not isinstance(model, CreditModel):
        raise ModelError(f"model must provide fit and risk; got {type(model).__name__}.")
    return evaluate_scores(y, model.risk(X))


def compare(
    champion: CreditModel,
    challenger: CreditModel,
    X: pd.DataFrame,
    y: Any,
    *,
    champion_name: str = "champion",
    challenger_name: str = "challenger",
    min_auc_gain: float = MIN_AUC_GAIN,
) -> dict[str, Any]:
    """Champion/challenger report on the same holdout (JSON-ready dict)."""
    a = evaluate(champion, X, y)
    b = evaluate(challenger, X, y)
    gain = b.auc - a.auc
    better = gain >= min_auc_gain
    deployable = isinstance(challenger, (ScorecardModel, BoostedScorecardModel, BlendedScorecardModel))
    if not better:
        verdict = "keep the champion"
    elif deployable:
        verdict = "promote the challenger"
    else:
        verdict = "keep the champion; the challenger ranks better but cannot score on chain: refit the scorecard"
    return {
        "holdout": {"n": a.n, "event_rate": round(a.event_rate, 6)},
        "champion": {"name": champion_name, "type": type(champion).__name__, **_rounded(a)},
        "challenger": {"name": challenger_name, "type": type(challenger).__name__, **_rounded(b)},
        "delta": {"auc": round(gain, 6), "ks": round(b.ks - a.ks, 6), "gini": round(b.gini - a.gini, 6)},
        "min_auc_gain": min_auc_gain,
        "challenger_better": better,
        "challenger_deployable": deployable,
        "recommendation": verdict,
    }


class _CardModel:
    """A model card seen as a fitted model (risk = minus the score). Its class name is the champion's ``type``
    in :func:`challenge`'s report."""

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    def fit(self, X: pd.DataFrame, y: Any) -> _CardModel:
        raise ModelError("a model card is already fitted.")

    def risk(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(-self.card.score_frame(X))


def challenge(
    card: ModelCard, X: pd.DataFrame, y: Any, *, test_size: float = TEST_SIZE, random_state: int = SPLIT_SEED
) -> dict[str, Any]:
    """The card (champion) against a gradient-boosting challenger fitted on the card's features, both evaluated
    on the holdout :func:`train_scorecard` keeps: the :func:`compare` report."""
    X_tr, X_te, y_tr, y_te = holdout_split(X, y, test_size=test_size, random_state=random_state)
    challenger = GradientBoostingChallenger(features=list(card.feature_names)).fit(X_tr, y_tr)
    return compare(
        _CardModel(card), challenger, X_te, y_te, champion_name=card.name, challenger_name="hist-gradient-boosting"
    )


def _rounded(m: Metrics) -> dict[str, float]:
    return {"auc": round(m.auc, 6), "ks": round(m.ks, 6), "gini": round(m.gini, 6)}


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, indent=2)


#: the deployable model types (each has a card)
Scorecard = ScorecardModel | BoostedScorecardModel | BlendedScorecardModel


@dataclass(frozen=True)
class TrainResult:
    """A trained scorecard, its card and its holdout."""

    model: Scorecard
    card: ModelCard
    metrics: Metrics
    X_test: pd.DataFrame
    y_test: np.ndarray
    seconds: float


_MODELS: dict[str, type[ScorecardModel] | type[BoostedScorecardModel]] = {
    "logistic": ScorecardModel,
    "boosted": BoostedScorecardModel,
}


def _params_of(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    accepted = set(inspect.signature(cls).parameters)
    return {k: v for k, v in params.items() if k in accepted}


def _check_method_params(method: str, params: Mapping[str, Any]) -> None:
    if method not in METHODS:
        raise ModelError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    kinds = ("logistic", "boosted") if method in ("auto", "blend") else (method,)
    known = set().union(*(set(_params_of(_MODELS[k], params)) for k in kinds))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelError(f"unknown parameter for method {method!r}: {', '.join(unknown)}.")


def fit_scorecard(method: str, X: pd.DataFrame, y: Any, **params: Any) -> Scorecard:
    """Fit a ``"logistic"``, ``"boosted"`` or ``"blend"`` scorecard with the parameters its model type accepts
    (shared ones such as ``categorical`` go to both; ``"auto"`` is :func:`train_scorecard`'s)."""
    if method == "blend":
        known = set(_params_of(ScorecardModel, params)) | set(_params_of(BoostedScorecardModel, params))
        return BlendedScorecardModel(**{k: v for k, v in params.items() if k in known}).fit(X, y)
    if method not in _MODELS:
        raise ModelError(f"method must be one of {', '.join(CANDIDATES)}; got {method!r}.")
    return _MODELS[method](**_params_of(_MODELS[method], params)).fit(X, y)


def cross_validate(
    X: pd.DataFrame, y: Any, *, folds: int = CV_FOLDS, random_state: int = SPLIT_SEED, **params: Any
) -> dict[str, Any]:
    """Stratified ``folds``-fold cross-validated AUC of the logistic, the boosted and the blended scorecard on
    ``X`` (call it on the training split only) and the choice: the highest mean AUC (ties: the simpler model,
    in the order logistic, boosted, blend). The blend of a fold is the average of that fold's two models."""
    check_int("cv folds", folds, 2)
    target = check_target(y, len(X))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    aucs: dict[str, list[float]] = {m: [] for m in CANDIDATES}
    try:
        splits = list(splitter.split(np.zeros(len(target)), target))
    except ValueError as err:
        raise ModelError(f"cannot split the training rows into {folds} folds: {err}") from err
    for tr, va in splits:
        X_f, y_f, X_v, y_v = X.iloc[tr], target[tr], X.iloc[va], target[va]
        logistic = fit_scorecard("logistic", X_f, y_f, **params)
        boosted = fit_scorecard("boosted", X_f, y_f, **params)
        assert isinstance(logistic, ScorecardModel) and isinstance(boosted, BoostedScorecardModel)
        blend = BlendedScorecardModel().fit_from(logistic, boosted, X_f, y_f)
        fold_models: tuple[CreditModel, ...] = (logistic, boosted, blend)
        for method, model in zip(CANDIDATES, fold_models):
            aucs[method].append(evaluate(model, X_v, y_v).auc)
    mean = {m: float(np.mean(v)) for m, v in aucs.items()}
    chosen = max(CANDIDATES, key=lambda m: (round(mean[m], 9), -CANDIDATES.index(m)))
    return {
        "method": "auto",
        "chosen": chosen,
        "cv": {
            "folds": folds,
            "seed": random_state,
            **{f"{m}_auc": f"{mean[m]:.6f}" for m in aucs},
            **{f"{m}_fold_auc": [f"{a:.6f}" for a in v] for m, v in aucs.items()},
        },
    }


def train_scorecard(
    X: pd.DataFrame,
    y: Any,
    *,
    name: str,
    version: int,
    method: str = "logistic",
    test_size: float = TEST_SIZE,
    random_state: int = SPLIT_SEED,
    training: Mapping[str, int | str | None] | None = None,
    cv_folds: int = CV_FOLDS,
    **params: Any,
) -> TrainResult:
    """Split (stratified), fit a scorecard with ``params``, evaluate on the holdout, build the card.

    ``method``: ``"logistic"`` (:class:`ScorecardModel`; its card is the card of before, with no ``factory``
    entry), ``"boosted"`` (:class:`~scoring.boosted.BoostedScorecardModel`), ``"blend"``
    (:class:`~scoring.boosted.BlendedScorecardModel`) or ``"auto"`` (whichever has the best :func:`cross_validate`
    AUC on the training split, ``cv_folds`` folds; the holdout is never used to choose). Boosted, blend and auto
    cards record the method (and the CV figures) in their ``factory`` entry.
    ``seconds`` is the time to fit (for auto, the cross-validation included)."""
    if not isinstance(X, pd.DataFrame):
        raise ModelError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
    if len(X) == 0:
        raise ModelError("X is empty: at least one row is needed.")
    _check_method_params(method, params)
    target = check_target(y, len(X))
    X_tr, X_te, y_tr, y_te = holdout_split(X, target, test_size=test_size, random_state=random_state)
    start = time.perf_counter()
    factory: dict[str, Any] | None = None
    if method == "auto":
        factory = cross_validate(X_tr, y_tr, folds=cv_folds, random_state=random_state, **params)
        model = fit_scorecard(factory["chosen"], X_tr, y_tr, **params)
    else:
        model = fit_scorecard(method, X_tr, y_tr, **params)
    if isinstance(model, BoostedScorecardModel):
        factory = {**(factory or {"method": "boosted"}), "boosted": _boosted_entry(model)}
    elif isinstance(model, BlendedScorecardModel):
        factory = {**(factory or {"method": "blend"}), "boosted": _boosted_entry(model.boosted_)}
    seconds = time.perf_counter() - start
    metrics = evaluate(model, X_te, y_te)
    card = ModelCard.from_scorecard(
        model, name=name, version=version, metrics=metrics, training=training, factory=factory
    )
    return TrainResult(model=model, card=card, metrics=metrics, X_test=X_te, y_test=y_te, seconds=seconds)


def _boosted_entry(model: BoostedScorecardModel) -> dict[str, Any]:
    """What a boosted card records of its fit (integers and decimal strings)."""
    return {
        "bags": int(model.n_bags),
        "best_cycles": [int(c) for c in model.cycles_],
        "learning_rate": card_float(model.learning_rate),
        "max_bins": int(model.max_bins),
        "max_leaves": int(model.max_leaves),
        "seed": int(model.random_state),
    }


def compare_methods(
    X: pd.DataFrame,
    y: Any,
    *,
    test_size: float = TEST_SIZE,
    random_state: int = SPLIT_SEED,
    **params: Any,
) -> dict[str, Any]:
    """The logistic, boosted and blended scorecards and the gradient-boosting challenger fitted on the same
    training split and evaluated on the same holdout: ``{"holdout": ..., "models": [...], "best_deployable": ...}``
    (JSON-ready). Only the scorecards can score on chain."""
    _check_method_params("auto", params)
    target = check_target(y, len(X))
    X_tr, X_te, y_tr, y_te = holdout_split(X, target, test_size=test_size, random_state=random_state)
    rows: list[tuple[str, CreditModel, bool, float]] = []
    fitted: dict[str, Any] = {}
    for method in ("logistic", "boosted"):
        start = time.perf_counter()
        fitted[method] = fit_scorecard(method, X_tr, y_tr, **params)
        rows.append((method, fitted[method], True, time.perf_counter() - start))
    start = time.perf_counter()
    blend = BlendedScorecardModel().fit_from(fitted["logistic"], fitted["boosted"], X_tr, y_tr)
    rows.append(("blend", blend, True, rows[0][3] + rows[1][3] + time.perf_counter() - start))
    start = time.perf_counter()
    gb = GradientBoostingChallenger(features=params.get("features"), categorical=params.get("categorical", ())).fit(
        X_tr, y_tr
    )
    rows.append(("hist-gradient-boosting", gb, False, time.perf_counter() - start))
    models: list[dict[str, Any]] = []
    for name, model, deployable, seconds in rows:
        m = evaluate(model, X_te, y_te)
        models.append(
            {
                "name": name,
                "type": type(model).__name__,
                "deployable": deployable,
                **_rounded(m),
                "fit_seconds": round(seconds, 3),
            }
        )
    best = max((float(r["auc"]), str(r["name"])) for r in models if r["deployable"])[1]
    return {
        "holdout": {"n": int(len(y_te)), "event_rate": round(float(np.mean(y_te)), 6)},
        "models": models,
        "best_deployable": best,
    }


def optbinning_default_auc(
    X_train: pd.DataFrame, y_train: Any, X_test: pd.DataFrame, y_test: Any, categorical: Sequence[str] = ()
) -> float:
    """Holdout AUC of optbinning's defaults (``BinningProcess`` + ``LogisticRegression`` on WoE): the reference
    the quality targets and the ``scorecard_auc`` benchmark compare with."""
    import warnings

    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    # optbinning's prebinning fails on a column without a single value: such a column carries nothing anyway
    columns = [c for c in X_train.columns if X_train[c].notna().any()]
    X_train, X_test = X_train[columns], X_test[columns]
    cats = [c for c in categorical if c in columns]
    pipe = Pipeline(
        [
            ("binning", BinningProcess(columns, categorical_variables=cats or None)),
            ("logistic", LogisticRegression()),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(_optb_frame(X_train, cats), np.asarray(y_train))
        proba = pipe.predict_proba(_optb_frame(X_test, cats))[:, 1]
    return float(evaluate_scores(y_test, proba).auc)


def _optb_frame(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: (X[c].astype(object) if c in categorical else X[c].astype("float64")) for c in X.columns}, index=X.index
    )


def holdout_split(
    X: pd.DataFrame, y: Any, *, test_size: float = TEST_SIZE, random_state: int = SPLIT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test``: the stratified split :func:`train_scorecard` evaluates on."""
    if not 0 < test_size < 1:
        raise ModelError(f"test_size must be between 0 and 1; got {test_size}.")
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=random_state)
    except ValueError as err:
        raise ModelError(f"cannot split the data for a holdout: {err}") from err
    return X_tr, X_te, np.asarray(y_tr), np.asarray(y_te)


def training_set(
    settlements: pd.DataFrame,
    as_of: int,
    horizon_days: int = 90,
    roles: Sequence[str] = ("shipper",),
    *,
    population: str = "alive",
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features as of ``as_of`` and default labels over the following ``horizon_days``.

    The population: shippers with an invoice by ``as_of`` and no default by then (``population="alive"``), or
    all of them, those in default included and labelled bad (``"all"``: the population the oracles score;
    :func:`scoring.features.shipper_labels`).
    """
    feats = build_features(settlements, as_of, roles=roles)  # validates settlements and as_of
    labels = shipper_labels(settlements, as_of, horizon_days, population=population)
    if labels.empty:
        raise ModelError(f"no shipper has history by as_of {as_of}; nothing to train on.")
    X = feats.reindex(labels.index)
    return X, labels.to_numpy()


def role_training_set(
    settlements: pd.DataFrame,
    as_of: int,
    role: str,
    *,
    payouts: pd.DataFrame | None = None,
    trips: pd.DataFrame | None = None,
    horizon_days: int = 90,
    population: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """A labelled population of `role` (shipper, carrier or platform): its settlement features and party
    features (payouts, trips: :func:`scoring.features.party_features`) as of ``as_of``, and its labels
    (:func:`~scoring.features.shipper_labels`, :func:`~scoring.features.carrier_labels`,
    :func:`~scoring.features.platform_labels`). The same for a synthetic market and for the chain's history.

    ``population``: "all" (those already in default included) or "alive"; None keeps each role's label
    function's own default (shippers and platforms alive, every carrier)."""
    kw: dict[str, Any] = {} if population is None else {"population": population}
    if role == "shipper":
        labels = shipper_labels(settlements, as_of, horizon_days, **kw)
    elif role == "platform":
        if payouts is None:
            raise ModelError("a platform population needs the payouts.")
        labels = platform_labels(payouts, as_of, horizon_days, **kw)
    elif role == "carrier":
        labels = carrier_labels(settlements, as_of, horizon_days, **kw)
    else:
        raise ModelError(f"role must be shipper, platform or carrier; got {role!r}.")
    base = build_features(settlements, as_of, subjects=labels.index, roles=(role,))
    extra = party_features(settlements, as_of, payouts=payouts, trips=trips, subjects=labels.index, role=role)
    return pd.concat([base, extra], axis=1), labels


def training_window(as_of: int, horizon_days: int = 90) -> dict[str, int]:
    """The card's ``training`` entry for a model trained at ``as_of``."""
    return {"as_of": int(as_of), "label_horizon_days": int(horizon_days), "label_end": int(as_of + horizon_days * DAY)}
