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


#: who a training population holds: "all" (every subject with history by as_of, those already in default
#: included: the population the oracles score) or "alive" (those not yet in default)
POPULATIONS: Final = ("all", "alive")


def _check_population(population: str) -> None:
    if population not in POPULATIONS:
        raise InvalidData(f"population must be one of {', '.join(POPULATIONS)}; got {population!r}.")


def _labels(ids: Iterable[str], bad: set[str]) -> pd.Series:
    ids = [str(s) for s in ids]
    return pd.Series([int(s in bad) for s in ids], index=pd.Index(ids, dtype=object, name="subject"), name="default")


def shipper_labels(
    settlements: pd.DataFrame, as_of: int, horizon_days: int = 90, *, population: str = "alive"
) -> pd.Series:
    """Default labels of the shippers with an invoice by ``as_of``.

    ``population="alive"``: those not in default by ``as_of``, 1 if one of their settlements defaults in
    ``(as_of, as_of + horizon]`` (:func:`default_labels`). ``"all"``: every one of them, 1 if in default by
    ``as_of + horizon`` (a shipper already in default is bad: its debt is still unpaid)."""
    _check_population(population)
    validate_settlements(settlements)
    t = _check_as_of(as_of)
    inv = settlements["invoice_date"].to_numpy(dtype=np.int64)
    shippers = settlements["shipper"].to_numpy(dtype=object)
    sd = settlements["status_date"].to_numpy(dtype=np.int64)
    defaulted = settlements["status"].to_numpy(dtype=object) == "Defaulted"
    seen = set(shippers[inv <= t])
    if population == "alive":
        gone = set(shippers[defaulted & (sd <= t)])
        return default_labels(settlements, sorted(seen - gone), t, horizon_days)
    return _labels(sorted(seen), set(shippers[defaulted & (sd <= t + horizon_days * DAY)]))


# -- every party of the chain: payouts, trips, green freight (issue #17) ---------------------------------------
#
# Added beside the settlement features above, which stay as they are (oracles and registered cards depend on
# their values). The same rules: integers or missing, point in time.
#
# Payouts (what platforms owe carriers; creditshare.bindings.payout_ledger.payout_frame): a payout counts as
# of t if ``delivery_date <= t``; it is paid as of t if ``0 < paid_date <= t`` (only a final payout, status
# Paid, carries a paid date); due if ``due_date < t``; disputed if its status is Disputed, Resolved or
# Defaulted-after-dispute and ``status_date <= t``. Trips (one row per settlement with its verdict:
# verified, implausible or "no log"; creditshare.domain.trips / scoring.synthetic.trips_frame) count as of t
# if the settlement's ``invoice_date <= t``. New energy: electric and hydrogen (scoring.trips.NEW_ENERGY).

PAYOUT_COLUMNS: Final = {
    "payout_id": "str",
    "platform": "str",
    "carrier": "str",
    "amount": "int",
    "delivery_date": "int",
    "due_date": "int",
    "paid_date": "int",
    "status": "str",
    "status_date": "int",
}
TRIP_COLUMNS: Final = {
    "settlement_id": "str",
    "shipper": "str",
    "platform": "str",
    "carrier": "str",
    "verdict": "str",
    "energy_type": "str",
    "invoice_date": "int",
}
PAYOUT_STATUSES: Final = (
    "Recorded",
    "Confirmed",
    "PaymentDeclared",
    "Paid",
    "Overdue",
    "Disputed",
    "Resolved",
    "Defaulted",
)
NEW_ENERGY_TYPES: Final = ("electric", "hydrogen")

#: the features of every party beyond the settlement features, by role
PARTY_FEATURES: Final = {
    "shipper": ("shp_verified_bps", "shp_newenergy_bps"),
    "platform": (
        "plt_payout_n_365",
        "plt_payout_amt_365",
        "plt_payout_ontime_bps",
        "plt_payout_dpd_mean",
        "plt_payout_overdue_n",
        "plt_payout_dispute_bps",
        "plt_shipper_top_bps",
        "plt_verified_bps",
        "plt_newenergy_bps",
    ),
    "carrier": (
        "car_delivery_ok_bps",
        "car_verified_bps",
        "car_trips_365",
        "car_payout_n_365",
        "car_payout_amt_365",
        "car_payout_ontime_bps",
        "car_payout_overdue_n",
        "car_newenergy_bps",
    ),
}
PARTY_FEATURE_NAMES: Final = tuple(f for names in PARTY_FEATURES.values() for f in names)


def _validate(frame: object, columns: dict[str, str], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidData(f"{what} must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidData(f"{what} are missing columns: {', '.join(missing)}.")
    for col, kind in columns.items():
        if frame[col].isna().any():
            raise InvalidData(f"{what} column '{col}' has missing values.")
        if kind == "int" and (not pd.api.types.is_integer_dtype(frame[col].dtype) or (frame[col] < 0).any()):
            raise InvalidData(f"{what} column '{col}' must hold non-negative integers.")
    return frame


def validate_payouts(payouts: object) -> pd.DataFrame:
    frame = _validate(payouts, PAYOUT_COLUMNS, "payouts")
    bad = ~frame["status"].isin(PAYOUT_STATUSES)
    if bad.any():
        raise InvalidData(f"unknown payout status {frame['status'][bad].iloc[0]!r}.")
    return frame


def validate_trips(trips: object) -> pd.DataFrame:
    frame = _validate(trips, TRIP_COLUMNS, "trips")
    bad = ~frame["verdict"].isin(("verified", "implausible", "no log"))
    if bad.any():
        raise InvalidData(f"unknown trip verdict {frame['verdict'][bad].iloc[0]!r}.")
    return frame


def _bps(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part * 10000 // whole per subject, missing where whole is 0."""
    whole = whole.astype("Int64")
    out = (part.reindex(whole.index).fillna(0).astype("Int64") * 10_000) // whole.where(whole > 0)
    return out.astype("Int64")


def _payout_side(payouts: pd.DataFrame, t: int, side: str, prefix: str) -> pd.DataFrame:
    seen = payouts[payouts["delivery_date"] <= t]
    if seen.empty:
        return pd.DataFrame(index=pd.Index([], name="subject", dtype=object))
    paid = (seen["paid_date"] > 0) & (seen["paid_date"] <= t)
    due = seen["due_date"] < t
    recent = (t - seen["delivery_date"]) < 365 * DAY
    disputed = seen["status"].isin(("Disputed", "Resolved", "Defaulted")) & (seen["status_date"] <= t)
    end = seen["paid_date"].where(paid, t)
    dpd = ((end - seen["due_date"]).clip(lower=0) // DAY).where(due, 0)
    g = seen.assign(
        _recent=recent.astype(int),
        _amt=seen["amount"].where(recent, 0),
        _due=due.astype(int),
        _ontime=(due & paid & (seen["paid_date"] <= seen["due_date"])).astype(int),
        _overdue=(due & ~paid).astype(int),
        _dpd=dpd,
        _disputed=disputed.astype(int),
        _n=1,
    ).groupby(side)
    sums = g[["_recent", "_amt", "_due", "_ontime", "_overdue", "_dpd", "_disputed", "_n"]].sum()
    out = pd.DataFrame(index=pd.Index(sums.index.astype(object), name="subject"))
    out[f"{prefix}_payout_n_365"] = sums["_recent"].astype("Int64").to_numpy()
    out[f"{prefix}_payout_amt_365"] = sums["_amt"].astype("Int64").to_numpy()
    out[f"{prefix}_payout_ontime_bps"] = _bps(sums["_ontime"], sums["_due"]).to_numpy()
    out[f"{prefix}_payout_overdue_n"] = sums["_overdue"].astype("Int64").to_numpy()
    if prefix == "plt":
        safe = sums["_due"].where(sums["_due"] > 0)
        out["plt_payout_dpd_mean"] = (sums["_dpd"].astype("Int64") // safe.astype("Int64")).astype("Int64").to_numpy()
        out["plt_payout_dispute_bps"] = _bps(sums["_disputed"], sums["_n"]).to_numpy()
    return out


def _trip_side(trips: pd.DataFrame, t: int, side: str, prefix: str, settled: pd.Series) -> pd.DataFrame:
    """`settled`: settlements per subject as of t (a settlement never checked counts as not verified)."""
    seen = trips[trips["invoice_date"] <= t]
    if seen.empty:
        return pd.DataFrame(index=pd.Index([], name="subject", dtype=object))
    logged = seen["verdict"] != "no log"
    g = seen.assign(
        _recent=((t - seen["invoice_date"]) < 365 * DAY).astype(int),
        _logged=logged.astype(int),
        _verified=(seen["verdict"] == "verified").astype(int),
        _green=(logged & seen["energy_type"].isin(NEW_ENERGY_TYPES)).astype(int),
    ).groupby(side)
    sums = g[["_recent", "_logged", "_verified", "_green"]].sum()
    out = pd.DataFrame(index=pd.Index(sums.index.astype(object), name="subject"))
    total = settled.reindex(sums.index).fillna(0).astype("int64").clip(lower=1)
    out[f"{prefix}_verified_bps"] = _bps(sums["_verified"], total.clip(lower=sums["_verified"])).to_numpy()
    out[f"{prefix}_newenergy_bps"] = _bps(sums["_green"], sums["_logged"]).to_numpy()
    if prefix == "car":
        out["car_trips_365"] = sums["_recent"].astype("Int64").to_numpy()
    return out


def party_features(
    settlements: pd.DataFrame,
    as_of: int,
    *,
    payouts: pd.DataFrame | None = None,
    trips: pd.DataFrame | None = None,
    subjects: Iterable[str] | None = None,
    role: str = "carrier",
) -> pd.DataFrame:
    """The features of :data:`PARTY_FEATURES` for `role` (shipper, platform or carrier) as of ``as_of``.

    A feature whose source is not given (no payouts, no trips) is missing. Returns a frame indexed by
    subject, nullable ``Int64`` columns in :data:`PARTY_FEATURES` order."""
    if role not in PARTY_FEATURES:
        raise InvalidData(f"role must be one of {', '.join(PARTY_FEATURES)}; got {role!r}.")
    validate_settlements(settlements)
    t = _check_as_of(as_of)
    prefix = ROLES[role]
    parts: list[pd.DataFrame] = []
    if payouts is not None and role != "shipper":
        parts.append(_payout_side(validate_payouts(payouts), t, role, prefix))
    seen = settlements[settlements["invoice_date"] <= t]
    if trips is not None:
        parts.append(_trip_side(validate_trips(trips), t, role, prefix, seen.groupby(role).size()))
    if role == "platform" and not seen.empty:
        recent = seen[(t - seen["invoice_date"]) < 365 * DAY]
        by = recent.groupby(["platform", "shipper"])["amount"].sum()
        if len(by):
            top = by.groupby(level=0).max()
            total = by.groupby(level=0).sum()
            share = (top * 10_000 // total).astype("Int64")
            parts.append(pd.DataFrame({"plt_shipper_top_bps": share.to_numpy()}, index=top.index.astype(object)))
    if role == "carrier" and not seen.empty:
        # a delivery failed if its settlement was disputed or its trip log is implausible (counted once)
        failed = seen["status"].isin(("Disputed", "Resolved", "Defaulted")) & (seen["status_date"] <= t)
        if trips is not None:
            implausible = trips.loc[trips["verdict"] == "implausible", "settlement_id"]
            failed = failed | seen["settlement_id"].isin(implausible)
        counts = seen.assign(_ok=(~failed).astype(int), _n=1).groupby("carrier")[["_ok", "_n"]].sum()
        parts.append(
            pd.DataFrame({"car_delivery_ok_bps": _bps(counts["_ok"], counts["_n"]).to_numpy()}, index=counts.index)
        )
    joined = pd.concat(parts, axis=1, join="outer", sort=True) if parts else pd.DataFrame()
    joined.index = pd.Index(joined.index.astype(object), name="subject")
    if subjects is not None:
        joined = joined.reindex(pd.Index([str(s) for s in subjects], dtype=object, name="subject"))
    return joined.reindex(columns=list(PARTY_FEATURES[role])).astype("Int64")


# -- what every feature means, as a sentence with the subject's value -----------------------------------------

_ROLE_NOUN: Final = {"shp": "shipper", "plt": "platform", "car": "carrier"}
#: suffix -> (phrase with {role}, unit: count | fen | bps | days)
_SUFFIX_TEXT: Final[dict[str, tuple[str, str]]] = {
    "n_30": ("settlements as {role} over 30 days", "count"),
    "n_90": ("settlements as {role} over 90 days", "count"),
    "n_365": ("settlements as {role} over 365 days", "count"),
    "amt_30": ("amount settled as {role} over 30 days", "fen"),
    "amt_90": ("amount settled as {role} over 90 days", "fen"),
    "amt_365": ("amount settled as {role} over 365 days", "fen"),
    "ontime_bps": ("on-time payment share of due invoices as {role}", "bps"),
    "dpd_mean": ("mean days past due as {role}", "days"),
    "dpd_max": ("longest days past due as {role}", "days"),
    "dpd_p90": ("90th percentile of days past due as {role}", "days"),
    "overdue_n": ("invoices overdue now as {role}", "count"),
    "overdue_amt": ("amount overdue now as {role}", "fen"),
    "default_n": ("defaulted settlements as {role}", "count"),
    "default_amt": ("defaulted amount as {role}", "fen"),
    "dispute_bps": ("share of settlements disputed as {role}", "bps"),
    "tenure_days": ("time since the first settlement as {role}", "days"),
    "counterparties": ("distinct counterparties as {role}", "count"),
    "recency_days": ("time since the last settlement as {role}", "days"),
    "trend_bps": ("change of volume over the last 90 days vs the 90 before, as {role}", "bps"),
    "verified_bps": ("share of settlements as {role} with a verified trip log", "bps"),  # of all settlements
    "newenergy_bps": ("share of logged trips as {role} on electric or hydrogen trucks", "bps"),
    "payout_n_365": ("carrier payouts over 365 days as {role}", "count"),
    "payout_amt_365": ("carrier payout amount over 365 days as {role}", "fen"),
    "payout_ontime_bps": ("share of due carrier payouts paid on time as {role}", "bps"),
    "payout_dpd_mean": ("mean days carrier payouts were late", "days"),
    "payout_overdue_n": ("carrier payouts overdue now as {role}", "count"),
    "payout_dispute_bps": ("share of carrier payouts disputed", "bps"),
    "shipper_top_bps": ("share of the largest shipper in the platform's volume over 365 days", "bps"),
    "delivery_ok_bps": ("share of deliveries neither disputed nor with an implausible trip", "bps"),
    "trips_365": ("trips over 365 days", "count"),
}


def _feature_text(feature: str) -> tuple[str, str]:
    prefix, _, suffix = feature.partition("_")
    if prefix not in _ROLE_NOUN or suffix not in _SUFFIX_TEXT:
        raise InvalidData(f"unknown feature {feature!r}.")
    phrase, unit = _SUFFIX_TEXT[suffix]
    return phrase.format(role=_ROLE_NOUN[prefix]), unit


#: every feature (settlement and party features) -> its sentence template; {value} is the formatted value
FEATURE_DESCRIPTIONS: Final[dict[str, str]] = {
    f: _feature_text(f)[0] + ": {value}" for f in (*FEATURE_NAMES, *PARTY_FEATURE_NAMES)
}


def format_value(feature: str, value: object) -> str:
    """A feature value as people read it: basis points as a percentage, fen as yuan, days, counts."""
    _phrase, unit = _feature_text(feature)
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "no data"
    number = int(value)  # type: ignore[call-overload]
    if unit == "bps":
        return f"{number / 100:g} %"
    if unit == "fen":
        return f"{number / 100:,.2f} yuan"
    if unit == "days":
        return f"{number} day{'s' if number != 1 else ''}"
    return f"{number:,}"


def describe(feature: str, value: object, direction: str | None = None) -> str:
    """One sentence for a reason code: ``"on-time payment share of due invoices as shipper is low: 42 %"``.
    `direction` (e.g. "low", "high") comes from the scorecard's points for the value's bin."""
    phrase, _unit = _feature_text(feature)
    return f"{phrase}{' is ' + direction if direction else ''}: {format_value(feature, value)}"


# -- labels of the other roles (issue #17) --------------------------------------------------------------------


def platform_labels(
    payouts: pd.DataFrame, as_of: int, horizon_days: int = 90, *, population: str = "alive"
) -> pd.Series:
    """1 if a payout the platform owes defaults in ``(as_of, as_of + horizon]``; platforms with payouts by
    ``as_of`` and none defaulted by then. ``population="all"`` keeps those too (already in default: bad)."""
    _check_population(population)
    sd = payouts["status_date"].to_numpy(dtype=np.int64)
    defaulted = payouts["status"].to_numpy(dtype=object) == "Defaulted"
    seen = payouts["delivery_date"].to_numpy(dtype=np.int64) <= as_of
    platforms = payouts["platform"].to_numpy(dtype=object)
    dead = set(platforms[defaulted & (sd <= as_of)])
    if population == "all":
        return _labels(
            sorted(pd.unique(platforms[seen])), set(platforms[defaulted & (sd <= as_of + horizon_days * DAY)])
        )
    bad = set(platforms[defaulted & (sd > as_of) & (sd <= as_of + horizon_days * DAY)])
    ids = sorted(x for x in pd.unique(platforms[seen]) if x not in dead)
    return pd.Series([int(x in bad) for x in ids], index=pd.Index(ids, dtype=object, name="subject"), name="default")


def carrier_labels(
    settlements: pd.DataFrame,
    as_of: int,
    horizon_days: int = 90,
    *,
    share_bps: int = 1_000,
    least: int = 2,
    population: str = "all",
) -> pd.Series:
    """1 if the carrier's deliveries fail in ``(as_of, as_of + horizon]``: at least `least` of the settlements
    it carried invoiced in the window are disputed, and at least `share_bps` of them; carriers with
    settlements by ``as_of`` (``population="alive"``: only those whose deliveries did not fail so over the
    ``horizon_days`` up to ``as_of``)."""
    _check_population(population)
    inv = settlements["invoice_date"].to_numpy(dtype=np.int64)
    carriers = settlements["carrier"].to_numpy(dtype=object)
    window = (inv > as_of) & (inv <= as_of + horizon_days * DAY)
    disputed = settlements["status"].isin(("Disputed", "Resolved")).to_numpy() & window
    frame = pd.DataFrame({"carrier": carriers[window], "d": disputed[window].astype(np.int64)})
    counts = frame.groupby("carrier")["d"].agg(["sum", "count"])
    bad = counts[(counts["sum"] >= least) & (counts["sum"] * 10_000 >= share_bps * counts["count"])].index
    ids = sorted(pd.unique(carriers[inv <= as_of]))
    if population == "alive":
        failed = carrier_labels(settlements, as_of - horizon_days * DAY, horizon_days, share_bps=share_bps, least=least)
        gone = set(failed.index[failed.to_numpy() == 1])
        ids = [x for x in ids if x not in gone]
    bad_set = set(bad)
    return pd.Series(
        [int(x in bad_set) for x in ids], index=pd.Index(ids, dtype=object, name="subject"), name="default"
    )
