"""Model cards: the champion scorecard as canonical JSON, and integer scoring from it.

A card holds everything needed to score: per feature its exact bin edges
(integers for integer-valued features, otherwise the shortest decimal string
of the binning split) or categories, and integer points per bin, for special
codes and for missing values. Scoring is table lookup and integer addition, so
every oracle node gets the same score bit for bit.

Canonical bytes: ``json.dumps(card, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` encoded as UTF-8, with no float anywhere (metrics are
decimal strings). ``model_hash`` is keccak256 of the canonical bytes of the
card without its ``model_hash`` field; loading a card whose hash does not
match raises :class:`ModelError`.

Bin rule (optbinning's): a numerical value x falls in bin i when
``edges[i-1] <= x < edges[i]``. A value equal to a special code goes to the
special bin; a missing value (``None``/NaN) to the missing bin. An unseen
category also goes to the missing bin (as in optbinning's ``Scorecard.score``).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from eth_utils import keccak

from scoring.errors import InvalidData, ModelError

if TYPE_CHECKING:
    from scoring.metrics import Metrics

SCHEMA = "creditshare.scorecard/1"
#: the kinds of subject a card scores (#17); a card without a "role" field scores shippers (its hash is unchanged)
CARD_ROLES = ("shipper", "carrier", "platform")
TIERS = ("A", "B", "C", "D", "E")
SCORE_BUCKETS = 10


@dataclass(frozen=True)
class Score:
    """A subject's score, tier and reason codes (top adverse features)."""

    score: int
    tier: str
    reasons: tuple[str, ...]


def canonical_bytes(obj: Any) -> bytes:
    """Canonical JSON bytes; refuses floats so nothing inexact is ever hashed."""
    _reject_floats(obj, "card")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _reject_floats(obj: Any, where: str) -> None:
    if isinstance(obj, float):
        raise ModelError(f"{where} holds a float ({obj!r}); cards hold integers and decimal strings only.")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ModelError(f"{where} has a non-string key {k!r}.")
            _reject_floats(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _reject_floats(v, f"{where}[{i}]")
    elif not (obj is None or isinstance(obj, (str, bool, int))):
        raise ModelError(f"{where} holds a {type(obj).__name__}; cards hold JSON values only.")


def _decimal(value: float) -> str:
    return repr(float(value))


def card_float(value: float) -> str:
    """A scaling parameter as a decimal string ("20" for 20.0)."""
    v = float(value)
    return str(int(v)) if v == int(v) else repr(v)


@dataclass(frozen=True)
class _Feature:
    name: str
    kind: str
    edges_int: tuple[int, ...]
    edges_float: np.ndarray
    integer: bool
    categories: dict[str, int]
    points: np.ndarray
    special_codes: frozenset[int]
    special_points: int
    missing_points: int
    best: int

    @property
    def table(self) -> np.ndarray:
        """Points by bin index: regular bins, then special, then missing."""
        return np.concatenate([self.points, [self.special_points, self.missing_points]]).astype(np.int64)

    @property
    def edges_int_array(self) -> np.ndarray:
        return np.asarray(self.edges_int, dtype=np.int64) if self.integer else self.edges_float

    def bin_points(self, value: int | str | None) -> int:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return self.missing_points
        if self.kind == "categorical":
            if not isinstance(value, str):
                raise InvalidData(f"feature '{self.name}' is categorical; got {value!r}.")
            idx = self.categories.get(value)
            return self.missing_points if idx is None else int(self.points[idx])
        if isinstance(value, bool) or isinstance(value, str):
            raise InvalidData(f"feature '{self.name}' must be a number; got {value!r}.")
        if isinstance(value, (int, np.integer)):
            v = int(value)
            if v in self.special_codes:
                return self.special_points
            if self.integer:
                return int(self.points[bisect.bisect_right(self.edges_int, v)])
            return int(self.points[bisect.bisect_right(list(self.edges_float), float(v))])
        if isinstance(value, (float, np.floating)) and not self.integer and math.isfinite(value):
            if value == int(value) and int(value) in self.special_codes:
                return self.special_points
            return int(self.points[bisect.bisect_right(list(self.edges_float), float(value))])
        raise InvalidData(f"feature '{self.name}' must be an integer; got {value!r}.")


class ModelCard:
    """A verified model card. Build with :meth:`from_scorecard`, load with :meth:`load`/:meth:`from_json`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        body = {k: v for k, v in data.items() if k != "model_hash"}
        self._body = json.loads(canonical_bytes(body))
        self._canonical = canonical_bytes(self._body)
        self.model_hash = "0x" + keccak(self._canonical).hex()
        claimed = data.get("model_hash")
        if claimed is not None and str(claimed).lower() != self.model_hash:
            raise ModelError(
                f"model card hash mismatch: the card says {claimed} but its content hashes to {self.model_hash}."
            )
        self._parse()

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_scorecard(
        cls,
        model: Any,
        *,
        name: str,
        version: int,
        metrics: Metrics | None = None,
        training: Mapping[str, int | str | None] | None = None,
        factory: Mapping[str, Any] | None = None,
    ) -> ModelCard:
        """The card of a fitted :class:`scoring.scorecard.ScorecardModel`,
        :class:`scoring.boosted.BoostedScorecardModel` or :class:`scoring.boosted.BlendedScorecardModel`.

        ``factory`` (optional) is how the model factory chose and fitted the model (method, cross-validation
        figures; integers and decimal strings only); a card without it is exactly the card of before."""
        from scoring.boosted import BlendedScorecardModel, BoostedScorecardModel
        from scoring.scorecard import ScorecardModel

        if not isinstance(model, (ScorecardModel, BoostedScorecardModel, BlendedScorecardModel)):
            raise ModelError(
                f"model must be a ScorecardModel, BoostedScorecardModel or BlendedScorecardModel; "
                f"got {type(model).__name__}."
            )
        model.check_fitted()
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelError(f"version must be a positive integer; got {version!r}.")
        features = []
        for b in model.bins_:
            entry: dict[str, Any] = {
                "name": b.name,
                "kind": b.kind,
                "points": list(b.points),
                "special_points": b.special_points,
                "missing_points": b.missing_points,
                "counts": list(b.counts),
            }
            if b.kind == "categorical":
                entry["categories"] = [list(c) for c in b.categories]
            else:
                entry["special_codes"] = sorted(int(c) for c in model.special_codes)
                if b.integer_valued:
                    # for integer x, x >= s exactly when x >= ceil(s)
                    entry["edges"] = [int(math.ceil(s)) for s in b.splits]
                    entry["edge_type"] = "int"
                else:
                    entry["edges"] = [_decimal(s) for s in b.splits]
                    entry["edge_type"] = "decimal"
            features.append(entry)
        train = np.asarray(model.train_scores_, dtype=np.int64)
        edges = sorted({int(v) for v in np.percentile(train, np.arange(10, 100, 100 // SCORE_BUCKETS), method="lower")})
        counts = np.bincount(np.searchsorted(np.asarray(edges), train, side="right"), minlength=len(edges) + 1)
        data = {
            "schema": SCHEMA,
            "name": str(name),
            "version": version,
            "model_type": "scorecard",
            "features": features,
            "intercept_points": int(model.intercept_points_),
            "scaling": {
                "method": "pdo_odds",
                "pdo": card_float(model.pdo),
                "odds": card_float(model.odds),
                "base_points": int(model.base_points),
                "higher_is_better": True,
            },
            "tiers": [{"tier": t, "min_score": c} for t, c in zip(TIERS, model.tier_cutoffs_)],
            "n_reasons": int(model.n_reasons),
            "training": {
                "n_rows": int(model.n_train_),
                "event_rate_bps": int(model.event_rate_bps_),
                **({k: v for k, v in training.items()} if training else {}),
            },
            "metrics": metrics.as_card() if metrics is not None else {},
            "score_distribution": {"edges": edges, "counts": [int(c) for c in counts]},
        }
        if factory is not None:
            data["factory"] = dict(factory)
        return cls(data)

    @classmethod
    def from_json(cls, raw: bytes | str) -> ModelCard:
        """Parse and verify a card (raises :class:`ModelError` if malformed or tampered)."""
        text = raw
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                line = raw.count(b"\n", 0, err.start) + 1
                raise ModelError(f"model card is not UTF-8 (byte 0x{raw[err.start]:02X} on line {line}).") from err
        try:
            data = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
        except json.JSONDecodeError as err:
            where = f"line {err.lineno}, column {err.colno}"
            raise ModelError(f"model card is not valid JSON: {err.msg} ({where}).") from err
        except RecursionError as err:
            raise ModelError("model card is not valid JSON: nested too deeply.") from err
        except ValueError as err:  # _no_float, or an integer of more than 4300 digits
            raise ModelError(f"model card is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise ModelError("model card must be a JSON object.")
        if "model_hash" not in data:
            raise ModelError("model card has no model_hash.")
        try:
            return cls(data)
        except RecursionError as err:
            raise ModelError("model card is malformed: nested too deeply.") from err

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        """Read and verify a card file."""
        try:
            raw = Path(path).read_bytes()
        except OSError as err:
            raise ModelError(f"cannot read model card {path}: {err.strerror or err}") from err
        try:
            return cls.from_json(raw)
        except ModelError as err:
            raise ModelError(f"{path}: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        return {**json.loads(self._canonical), "model_hash": self.model_hash}

    def with_role(self, role: str) -> ModelCard:
        """This card scoring subjects of `role`: a shipper card has no "role" field (so cards of before keep
        their hashes), any other role is written into the card and so changes its hash."""
        if role not in CARD_ROLES:
            raise ModelError(f"role must be one of {', '.join(CARD_ROLES)}; got {role!r}.")
        body = {k: v for k, v in json.loads(self._canonical).items() if k != "role"}
        if role != "shipper":
            body["role"] = role
        return ModelCard(body)

    def to_json(self) -> bytes:
        """Canonical bytes including ``model_hash``."""
        return canonical_bytes(self.to_dict())

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_bytes(self.to_json())
        return p

    @property
    def file_digest(self) -> str:
        """sha2-256 of :meth:`to_json` (the digest inside the card file's CIDv1), 0x-hex."""
        return "0x" + hashlib.sha256(self.to_json()).hexdigest()

    @property
    def canonical_body(self) -> bytes:
        """The bytes that are hashed (the card without ``model_hash``)."""
        return self._canonical

    # -- parsing --------------------------------------------------------------------------

    def _parse(self) -> None:
        d = self._body
        try:
            if d.get("schema") != SCHEMA:
                raise ModelError(f"model card schema must be {SCHEMA!r}; got {d.get('schema')!r}.")
            self.name: str = str(d["name"])
            self.version: int = _int(d["version"], "version")
            self.intercept_points: int = _int(d["intercept_points"], "intercept_points")
            self.n_reasons: int = _int(d["n_reasons"], "n_reasons")
            self.tiers: tuple[tuple[str, int], ...] = tuple(
                (str(t["tier"]), _int(t["min_score"], "tier min_score")) for t in d["tiers"]
            )
            if [t for t, _ in self.tiers] != list(TIERS[: len(self.tiers)]) or len(self.tiers) != len(TIERS) - 1:
                raise ModelError("model card tiers must be A, B, C, D (E is below D).")
            feats = []
            for f in d["features"]:
                feats.append(self._parse_feature(f))
            if not feats:
                raise ModelError("model card has no features.")
            self._features: tuple[_Feature, ...] = tuple(feats)
            sd = d["score_distribution"]
            self.score_edges: tuple[int, ...] = tuple(_int(v, "score edge") for v in sd["edges"])
            self.score_counts: tuple[int, ...] = tuple(_int(v, "score count") for v in sd["counts"])
            if len(self.score_counts) != len(self.score_edges) + 1:
                raise ModelError("model card score distribution needs one more count than edges.")
            self.metrics: dict[str, Any] = _object(d.get("metrics", {}), "metrics")
            for key in ("auc", "ks", "gini"):
                if self.metrics.get(key) is not None:
                    _decimal_string(self.metrics[key], f"metrics {key}")
            self.training: dict[str, Any] = _object(d.get("training", {}), "training")
            self.scaling: dict[str, Any] = _object(d["scaling"], "scaling")
            #: how the model factory chose the model (absent from cards trained before the field existed)
            self.factory: dict[str, Any] = _object(d.get("factory", {}), "factory")
            #: the kind of subject it scores (ModelRegistry holds one champion per role)
            self.role: str = str(d.get("role", "shipper"))
            if self.role not in CARD_ROLES:
                raise ModelError(f"model card role must be one of {', '.join(CARD_ROLES)}; got {self.role!r}.")
        except (KeyError, TypeError, IndexError, AttributeError) as err:
            raise ModelError(f"model card is malformed: missing or wrong field {err}.") from err

    def _parse_feature(self, f: Mapping[str, Any]) -> _Feature:
        f = _object(f, "feature")
        name = str(f["name"])
        kind = f["kind"]
        points = np.asarray([_int(v, f"{name} points") for v in f["points"]], dtype=np.int64)
        if not len(points):
            raise ModelError(f"model card feature '{name}' has no bins.")
        counts = [_int(v, f"{name} counts") for v in f["counts"]]
        if len(counts) != len(points) + 2:
            raise ModelError(f"model card feature '{name}' needs a count per bin plus special and missing.")
        special = _int(f["special_points"], f"{name} special_points")
        missing = _int(f["missing_points"], f"{name} missing_points")
        if kind == "categorical":
            cats: dict[str, int] = {}
            for i, group in enumerate(f["categories"]):
                if not isinstance(group, list):
                    raise ModelError(f"model card feature '{name}' categories must be lists of strings.")
                for c in group:
                    if not isinstance(c, str) or c in cats:
                        raise ModelError(f"model card feature '{name}' has a bad or repeated category {c!r}.")
                    cats[c] = i
            if len(f["categories"]) != len(points):
                raise ModelError(f"model card feature '{name}' needs one points value per category bin.")
            return _Feature(
                name, kind, (), np.empty(0), False, cats, points, frozenset(), special, missing, int(points.max())
            )
        if kind != "numerical":
            raise ModelError(f"model card feature '{name}' has unknown kind {kind!r}.")
        edge_type = f["edge_type"]
        if edge_type == "int":
            edges_int = tuple(_int(v, f"{name} edge") for v in f["edges"])
            edges_float = np.asarray(edges_int, dtype=np.float64)
        elif edge_type == "decimal":
            edges_float = np.asarray([_decimal_string(v, f"feature '{name}' edge") for v in f["edges"]])
            edges_int = ()
        else:
            raise ModelError(f"model card feature '{name}' has unknown edge_type {edge_type!r}.")
        if len(edges_float) + 1 != len(points):
            raise ModelError(f"model card feature '{name}' needs one more points value than edges.")
        if np.any(np.diff(edges_float) <= 0):
            raise ModelError(f"model card feature '{name}' edges must increase strictly.")
        codes = frozenset(_int(v, f"{name} special code") for v in f.get("special_codes", []))
        return _Feature(
            name,
            kind,
            edges_int,
            edges_float,
            edge_type == "int",
            {},
            points,
            codes,
            special,
            missing,
            int(points.max()),
        )

    @property
    def training_population(self) -> str:
        """Who the card was trained on (scoring.features.POPULATIONS): "all" (those in default included) or
        "alive"; a card that does not say (trained before the choice existed) was trained on "alive". A
        holdout recomputed for its ROC must draw the same population, or the curve is not the card's."""
        said = self.training.get("population")
        return said if said in ("all", "alive") else "alive"

    # -- scoring --------------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self._features)

    def tier(self, score: int) -> str:
        """Tier of a score: the first of A-D whose minimum it reaches, else E."""
        for t, minimum in self.tiers:
            if score >= minimum:
                return t
        return TIERS[-1]

    def score_one(self, features: Mapping[str, int | str | None]) -> Score:
        """Score one subject: integer table lookup and addition.

        Every card feature must be a key of ``features`` (``None`` = missing);
        other keys are ignored. Reason codes are the card's features where the
        subject's points fall furthest below the feature's best bin, worst
        first (ties by name), at most ``n_reasons`` of them.
        """
        if not isinstance(features, Mapping):
            raise InvalidData(f"features must be a mapping of feature name to value; got {type(features).__name__}.")
        absent = [f.name for f in self._features if f.name not in features]
        if absent:
            raise InvalidData(f"features are missing: {', '.join(absent)}.")
        total = self.intercept_points
        adverse = []
        for f in self._features:
            pts = f.bin_points(features[f.name])
            total += pts
            if f.best > pts:
                adverse.append((pts - f.best, f.name))
        adverse.sort()
        return Score(score=total, tier=self.tier(total), reasons=tuple(n for _, n in adverse[: self.n_reasons]))

    def _check_columns(self, df: pd.DataFrame) -> None:
        if not isinstance(df, pd.DataFrame):
            raise InvalidData(f"df must be a pandas DataFrame; got {type(df).__name__}.")
        absent = [f.name for f in self._features if f.name not in df.columns]
        if absent:
            raise InvalidData(f"df is missing feature columns: {', '.join(absent)}.")

    def feature_points(self, df: pd.DataFrame) -> np.ndarray:
        """Points per row and feature, shape ``(rows, features)``, int64."""
        self._check_columns(df)
        out = np.empty((len(df), len(self._features)), dtype=np.int64)
        for j, f in enumerate(self._features):
            out[:, j] = f.table[self._column_bins(f, df[f.name])]
        return out

    def score_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Scores of every row of ``df`` (vectorised), int64.

        Integer columns (numpy ``int64`` or pandas nullable ``Int64``, ``<NA>`` =
        missing) are compared with integer edges in integer arithmetic; float
        columns must hold whole numbers for integer-edged features.
        """
        self._check_columns(df)
        total = np.full(len(df), self.intercept_points, dtype=np.int64)
        for f in self._features:
            total += np.take(f.table, self._column_bins(f, df[f.name]))
        return total

    def tiers_of(self, scores: np.ndarray) -> np.ndarray:
        """Tier letter of every score."""
        mins = np.asarray([m for _, m in self.tiers][::-1], dtype=np.int64)  # ascending: D, C, B, A
        letters = np.asarray(list(TIERS[::-1]))  # E, D, C, B, A
        return letters[np.searchsorted(mins, np.asarray(scores, dtype=np.int64), side="right")]

    def bin_indices(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Bin index per row and feature (regular bins, then special, then missing): for CSI."""
        self._check_columns(df)
        return {f.name: self._column_bins(f, df[f.name]).astype(np.int64) for f in self._features}

    def _column_bins(self, f: _Feature, col: pd.Series) -> np.ndarray:
        n_bins = len(f.points)
        if f.kind == "categorical":
            if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
                bad = next(v for v in col.astype(object) if not (isinstance(v, str) or pd.isna(v)))
                raise InvalidData(f"feature '{f.name}' is categorical; got {bad!r}.")
            # unseen categories and missing values both map to the missing bin
            codes = col.astype(object).map(f.categories)
            return codes.fillna(n_bins + 1).to_numpy(dtype=np.int64)
        values, miss = _numeric_column(f, col)
        edges = f.edges_int_array if values.dtype == np.int64 else f.edges_float
        if len(edges) <= 32:
            # a few comparisons beat a binary search per row; x >= edge moves x up one bin
            idx: np.ndarray = np.zeros(len(values), dtype=np.int8)
            for e in edges:
                idx += values >= e
        else:
            idx = np.searchsorted(edges, values, side="right")
        if f.special_codes:
            idx[np.isin(values, np.asarray(sorted(f.special_codes), dtype=values.dtype))] = n_bins
        if miss is not None:
            idx[miss] = n_bins + 1
        return idx

    def training_bin_counts(self) -> dict[str, tuple[int, ...]]:
        """Training rows per bin (regular, special, missing) per feature: the CSI baseline."""
        return {f["name"]: tuple(f["counts"]) for f in self._body["features"]}

    def summary(self) -> dict[str, Any]:
        """What a CLI shows: name, version, hash, metrics, tiers, features."""
        return {
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "model_hash": self.model_hash,
            "metrics": self.metrics,
            "tiers": {t: m for t, m in self.tiers},
            "features": list(self.feature_names),
            "scaling": self.scaling,
            "training": self.training,
            **({"factory": self.factory} if self.factory else {}),
        }


def _numeric_column(f: _Feature, col: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Values (int64 when exact, else float64) and the missing mask (None if nothing is missing)."""
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise InvalidData(f"feature '{f.name}' must be numeric; got dtype {dtype}.")
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return col.to_numpy(dtype=np.int64), None
        miss = col.isna().to_numpy()
        return col.to_numpy(dtype=np.int64, na_value=0), (miss if miss.any() else None)
    x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    miss = np.isnan(x)
    finite = x[~miss]
    if np.isinf(finite).any():
        raise InvalidData(f"feature '{f.name}' holds infinite values.")
    if f.integer and not np.array_equal(finite, np.floor(finite)):
        raise InvalidData(f"feature '{f.name}' must hold integers; got a fractional value.")
    return x, (miss if miss.any() else None)


def _no_float(value: str) -> Any:
    raise ModelError(f"model card holds a non-integer number {value}; cards hold integers and decimal strings only.")


#: integers in a card (points, edges, counts) stay exact in float64 and far from int64 overflow when summed
MAX_CARD_INT = 2**53


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelError(f"model card {what} must be an integer; got {value!r}.")
    if not -MAX_CARD_INT <= value <= MAX_CARD_INT:
        raise ModelError(f"model card {what} must lie within +-2^53; got {value}.")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelError(f"model card {what} must be a JSON object; got {type(value).__name__}.")
    return dict(value)


def _decimal_string(value: Any, what: str) -> float:
    """A finite decimal written as a string (cards hold no floats)."""
    try:
        number = float(value) if isinstance(value, str) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ModelError(f"model card {what} must be a finite decimal string; got {value!r}.")
    return number


def metrics_bps(card: ModelCard) -> dict[str, int]:
    """The card's AUC/KS/Gini in basis points (for ModelRegistry.register)."""
    out = {}
    for k in ("auc", "ks", "gini"):
        v = card.metrics.get(k)
        out[k] = 0 if v is None else int(round(float(v) * 10_000))
    return out
