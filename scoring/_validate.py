"""Input checks shared by the estimators: clear errors instead of library crashes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.errors import ModelError


def check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ModelError(f"{name} must be a positive number; got {value!r}.")
    if not np.isfinite(float(value)):
        raise ModelError(f"{name} must be a finite number; got {value!r}.")
    return float(value)


def check_int(name: str, value: object, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ModelError(f"{name} must be an integer; got {value!r}.")
    if minimum is not None and int(value) < minimum:
        raise ModelError(f"{name} must be at least {minimum}; got {value!r}.")
    return int(value)


def check_frame(X: object, features: Sequence[str], categorical: Sequence[str], *, what: str = "X") -> pd.DataFrame:
    """Return a copy of ``X[features]``: numeric columns as float64 (NaN = missing),
    categorical columns as object (None = missing)."""
    if not isinstance(X, pd.DataFrame):
        raise ModelError(f"{what} must be a pandas DataFrame; got {type(X).__name__}.")
    if len(X) == 0:
        raise ModelError(f"{what} is empty: at least one row is needed.")
    missing = [f for f in features if f not in X.columns]
    if missing:
        raise ModelError(f"{what} is missing feature columns: {', '.join(missing)}.")
    out: dict[str, np.ndarray] = {}
    cats = set(categorical)
    for f in features:
        ser = X[f]
        if f in cats:
            values = ser.astype(object).to_numpy()
            bad = [
                v
                for v in values
                if not (isinstance(v, str) or v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)
            ]
            if bad:
                raise ModelError(f"categorical feature '{f}' must hold strings; got {bad[0]!r}.")
            out[f] = np.array(
                [None if (v is pd.NA or (isinstance(v, float) and np.isnan(v))) else v for v in values], dtype=object
            )
            continue
        if pd.api.types.is_bool_dtype(ser.dtype) or not pd.api.types.is_numeric_dtype(ser.dtype):
            raise ModelError(
                f"feature '{f}' must be numeric (declare it categorical if it holds categories); got dtype {ser.dtype}."
            )
        values = ser.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            raise ModelError(f"feature '{f}' holds infinite values; use a missing value or a special code instead.")
        out[f] = values
    return pd.DataFrame(out, index=X.index)


def check_target(y: object, n_rows: int) -> np.ndarray:
    """A binary 0/1 target with both classes, as int64."""
    arr = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
    if arr.ndim != 1:
        raise ModelError(f"y must be one-dimensional; got shape {arr.shape}.")
    if len(arr) != n_rows:
        raise ModelError(f"y has {len(arr)} values but X has {n_rows} rows.")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ModelError(f"y must be a 0/1 or boolean target; got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise ModelError(f"y has {int(np.isnan(arr).sum())} missing values.")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise ModelError(f"y must hold only 0 (good) and 1 (bad); got values {sorted(values)[:5]}.")
    if len(values) < 2:
        raise ModelError(f"y has a single class ({values.pop()}); both goods (0) and bads (1) are needed.")
    return arr.astype(np.int64)
