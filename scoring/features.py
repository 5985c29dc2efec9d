"""Scene features of a subject as of a date, from its settlement history.

Every feature value is an integer (counts, amounts in fen, whole days, ratios
in basis points) or missing, so that k oracle nodes computing them from the
same settlements get bit-identical inputs to the scorecard. Integer means are
floored (``sum // count``); the 90th percentile is the nearest-rank one.

Point-in-time rules for an as-of date ``t`` (unix seconds):

- a settlement counts only if ``invoice_date <= t``;
- it is paid as of ``t`` only if ``0 < paid_date <= t``; only a final payment
  carries a paid date (status Paid: the payee confirmed it, or its dispute
  window passed): a declared one (status PaymentDeclared) has paid_date 0 and
  counts as unpaid, so the payer alone never changes its own features;
- it is due as of ``t`` if ``due_date < t``; overdue as of ``t`` if due and unpaid;
- it counts as defaulted only if its status is Defaulted and ``status_date <= t``;
  as disputed only if its status is Disputed or Resolved (a dispute was raised
  and settled) and ``status_date <= t``.

So nothing that happened after ``t`` (a later payment, a later default, a later
invoice) changes the features at ``t``.

Features are computed for each role a subject plays, prefixed ``shp_``
(shipper: the payer of the invoice), ``plt_`` (platform) and ``car_``
(carrier). A subject that never played a role (as of ``t``) has that role's
features missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from scoring.errors import InvalidData

DAY: Final = 86_400
STATUSES: Final = (
    "Invoiced",
    "Confirmed",
    "Financed",
    "Paid",
    "Overdue",
    "Disputed",
    "Resolved",
    "Defaulted",
    "PaymentDeclared",
)
SETTLEMENT_COLUMNS: Final = {
    "settlement_id": "str",
    "shipper": "str",
    "platform": "str",
    "carrier": "str",
    "amount": "int",
    "invoice_date": "int",
    "due_date": "int",
    "paid_date": "int",
    "status": "str",
    "status_date": "int",
}
#: role column -> feature prefix
ROLES: Final = {"shipper": "shp", "platform": "plt", "carrier": "car"}
#: whose distinct count is a role's counterparty diversity
COUNTERPARTY: Final = {"shipper": "carrier", "platform": "shipper", "carrier": "shipper"}
WINDOWS_DAYS: Final = (30, 90, 365)
TREND_DAYS: Final = 90

#: feature suffixes, in order, for every role
ROLE_FEATURES: Final = (
    "n_30",
    "n_90",
    "n_365",
    "amt_30",
    "amt_90",
    "amt_365",
    "ontime_bps",
    "dpd_mean",
    "dpd_max",
    "dpd_p90",
    "overdue_n",
    "overdue_amt",
    "default_n",
    "default_amt",
    "dispute_bps",
    "tenure_days",
    "counterparties",
    "recency_days",
    "trend_bps",
)
FEATURE_NAMES: Final = tuple(f"{p}_{f}" for p in ROLES.values() for f in ROLE_FEATURES)


def validate_settlements(settlements: object) -> pd.DataFrame:
    """Check the settlements frame's columns, types and values; return it.

    Raises :class:`InvalidData` naming the first problem found.
    """
    if not isinstance(settlements, pd.DataFrame):
        raise InvalidData(f"settlements must be a pandas DataFrame; got {type(settlements).__name__}.")
    missing = [c for c in SETTLEMENT_COLUMNS if c not in settlements.columns]
    if missing:
        raise InvalidData(f"settlements are missing columns: {', '.join(missing)}.")
    for col, kind in SETTLEMENT_COLUMNS.items():
        ser = settlements[col]
        n_null = int(ser.isna().sum())
        if n_null:
            raise InvalidData(f"settlements column '{col}' has {n_null} missing values.")
        if kind == "int":
            if not pd.api.types.is_integer_dtype(ser.dtype) or pd.api.types.is_bool_dtype(ser.dtype):
                raise InvalidData(
                    f"settlements column '{col}' must hold integers (fen or unix seconds); got dtype {ser.dtype}."
                )
            if len(ser) and int(ser.min()) < 0:
                raise InvalidData(f"settlements column '{col}' must not be negative; got {int(ser.min())}.")
        elif len(ser) and not (pd.api.types.is_string_dtype(ser.dtype) or ser.dtype == object):
            raise InvalidData(f"settlements column '{col}' must hold strings; got dtype {ser.dtype}.")
    if len(settlements):
        bad = ~settlements["status"].isin(STATUSES)
        if bad.any():
            raise InvalidData(
                f"unknown settlement status {settlements['status'][bad].iloc[0]!r}; "
                f"expected one of {', '.join(STATUSES)}."
            )
        late_due = settlements["due_date"] < settlements["invoice_date"]
        if late_due.any():
            sid = settlements["settlement_id"][late_due].iloc[0]
            raise InvalidData(f"settlement {sid} is due before it was invoiced.")
    return settlements


def _check_as_of(as_of: object) -> int:
    if isinstance(as_of, bool) or not isinstance(as_of, (int, np.integer)) or int(as_of) < 0:
        raise InvalidData(f"as_of must be a non-negative integer unix time; got {as_of!r}.")
    return int(as_of)


def role_features(settlements: pd.DataFrame, as_of: int, role: str) -> pd.DataFrame:
    """Features of every subject that played ``role`` as of ``as_of``.

    ``settlements`` must already be validated. Returns a frame indexed by
    subject id, one nullable ``Int64`` column per feature, prefixed by the role.
    """
    if role not in ROLES:
        raise InvalidData(f"role must be one of {', '.join(ROLES)}; got {role!r}.")
    prefix = ROLES[role]
    columns = [f"{prefix}_{f}" for f in ROLE_FEATURES]
    seen = settlements[settlements["invoice_date"].to_numpy(dtype=np.int64) <= as_of]
    if seen.empty:
        return pd.DataFrame({c: pd.array([], dtype="Int64") for c in columns}, index=pd.Index([], name="subject"))

    codes, subjects = pd.factorize(seen[role], sort=True)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    n_groups = len(subjects)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])

    def col(name: str) -> np.ndarray:
        return seen[name].to_numpy(dtype=np.int64)[order]

    inv, due, paid, amt, status_date = (
        col(c) for c in ("invoice_date", "due_date", "paid_date", "amount", "status_date")
    )
    status = seen["status"].to_numpy(dtype=object)[order]

    def gsum(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values.astype(np.int64), starts)

    out: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    age = as_of - inv
    for w in WINDOWS_DAYS:
        in_w = age < w * DAY
        out[f"n_{w}"] = gsum(in_w)
        out[f"amt_{w}"] = gsum(np.where(in_w, amt, 0))

    # a declared payment is not final: it never counts as paid, whatever date a frame gives it
    paid_asof = (paid > 0) & (paid <= as_of) & (status != "PaymentDeclared")
    is_due = due < as_of
    n_due = gsum(is_due)
    no_due = n_due == 0
    safe_due = np.maximum(n_due, 1)
    ontime = is_due & paid_asof & (paid <= due)
    out["ontime_bps"] = gsum(ontime) * 10_000 // safe_due
    missing["ontime_bps"] = no_due

    end = np.where(paid_asof, paid, as_of)
    dpd = np.where(is_due, np.maximum(end - due, 0) // DAY, -1)
    out["dpd_mean"] = gsum(np.where(is_due, dpd, 0)) // safe_due
    out["dpd_max"] = np.maximum.reduceat(dpd, starts)
    # nearest-rank 90th percentile over due settlements: rows that are not due
    # carry -1 and sort first inside their subject's segment
    by_dpd = np.lexsort((dpd, codes))
    dpd_sorted = dpd[by_dpd]
    rank = (9 * n_due + 9) // 10 - 1
    pos = starts + (sizes - n_due) + np.maximum(rank, 0)
    out["dpd_p90"] = dpd_sorted[np.minimum(pos, len(dpd_sorted) - 1)]
    for f in ("dpd_mean", "dpd_max", "dpd_p90"):
        missing[f] = no_due

    overdue = is_due & ~paid_asof
    out["overdue_n"] = gsum(overdue)
    out["overdue_amt"] = gsum(np.where(overdue, amt, 0))
    defaulted = (status == "Defaulted") & (status_date <= as_of)
    out["default_n"] = gsum(defaulted)
    out["default_amt"] = gsum(np.where(defaulted, amt, 0))
    disputed = ((status == "Disputed") | (status == "Resolved")) & (status_date <= as_of)
    out["dispute_bps"] = gsum(disputed) * 10_000 // sizes

    out["tenure_days"] = (as_of - np.minimum.reduceat(inv, starts)) // DAY
    out["recency_days"] = (as_of - np.maximum.reduceat(inv, starts)) // DAY

    cp_codes, _ = pd.factorize(seen[COUNTERPARTY[role]].to_numpy(dtype=object)[order])
    pairs = np.unique(codes.astype(np.int64) * (int(cp_codes.max()) + 1) + cp_codes)
    out["counterparties"] = np.bincount(pairs // (int(cp_codes.max()) + 1), minlength=n_groups)

    recent = gsum(np.where(age < TREND_DAYS * DAY, amt, 0))
    before = gsum(np.where((age >= TREND_DAYS * DAY) & (age < 2 * TREND_DAYS * DAY), amt, 0))
    total = recent + before
    out["trend_bps"] = (recent - before) * 10_000 // np.maximum(total, 1)
    missing["trend_bps"] = total == 0

    frame = {}
    for f in ROLE_FEATURES:
        arr = pd.array(out[f].astype(np.int64), dtype="Int64")
        if f in missing:
            arr[missing[f]] = pd.NA
        frame[f"{prefix}_{f}"] = arr
    return pd.DataFrame(frame, index=pd.Index(np.asarray(subjects, dtype=object), name="subject"))


def build_features(
    settlements: pd.DataFrame,
    as_of: int,
    subjects: Iterable[str] | None = None,
    roles: Sequence[str] = tuple(ROLES),
) -> pd.DataFrame:
    """Scene features of subjects as of ``as_of`` (unix seconds).

    :param settlements: frame with the columns of :data:`SETTLEMENT_COLUMNS`.
    :param subjects: subject ids to return, in this order (subjects without
        history get missing features); default every subject seen as of ``as_of``.
    :param roles: the roles whose features to compute.
    :returns: frame indexed by subject id, nullable ``Int64`` columns named
        ``<prefix>_<feature>`` in :data:`FEATURE_NAMES` order.
    """
    validate_settlements(settlements)
    t = _check_as_of(as_of)
    for r in roles:
        if r not in ROLES:
            raise InvalidData(f"role must be one of {', '.join(ROLES)}; got {r!r}.")
    parts = [role_features(settlements, t, r) for r in roles]
    joined = pd.concat(parts, axis=1, join="outer", sort=True)
    joined.index.name = "subject"
    if subjects is not None:
        wanted = [str(s) for s in subjects]
        joined = joined.reindex(pd.Index(wanted, dtype=object, name="subject"))
    columns = [c for c in FEATURE_NAMES if c.split("_", 1)[0] in {ROLES[r] for r in roles}]
    return joined[columns].astype("Int64")


def default_labels(settlements: pd.DataFrame, subjects: Iterable[str], as_of: int, horizon_days: int = 90) -> pd.Series:
    """1 if a settlement the subject pays (as shipper) defaulted in ``(as_of, as_of + horizon]``.

    This reads the future on purpose: it is the training target, never a feature.
    """
    validate_settlements(settlements)
    t = _check_as_of(as_of)
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, np.integer)) or horizon_days <= 0:
        raise InvalidData(f"horizon_days must be a positive integer; got {horizon_days!r}.")
    sd = settlements["status_date"].to_numpy(dtype=np.int64)
    hit = (settlements["status"].to_numpy(dtype=object) == "Defaulted") & (sd > t) & (sd <= t + horizon_days * DAY)
    bad = set(settlements["shipper"].to_numpy(dtype=object)[hit])
    ids = [str(s) for s in subjects]
    return pd.Series([int(s in bad) for s in ids], index=pd.Index(ids, dtype=object, name="subject"), name="default")
