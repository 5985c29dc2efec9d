"""Human-readable reason codes: a scorecard feature name (`shp_dpd_max`, `car_verified_bps`) as a lender reads it.

The descriptions are scoring.features' (through creditshare.reports.freight.feature_phrase, the CLI's and the
report's); a name they do not describe (e.g. cross-platform `xp_*` features) is read from its parts here."""

from __future__ import annotations

import re

from creditshare.reports.freight import feature_phrase

_METRICS = {
    "n": "number of settlements",
    "amt": "amount invoiced",
    "ontime_bps": "share of invoices paid on time",
    "dpd_mean": "average days past due",
    "dpd_max": "longest delay past due",
    "dpd_p90": "delay past due of the slowest tenth of invoices",
    "overdue_n": "settlements overdue",
    "overdue_amt": "amount overdue",
    "default_n": "settlements defaulted",
    "default_amt": "amount defaulted",
    "dispute_bps": "share of settlements disputed",
    "tenure_days": "time on the network",
    "counterparties": "number of counterparties",
    "recency_days": "days since the last settlement",
    "trend_bps": "trend of monthly volume",
}
_ROLES = {"shp": "as shipper", "car": "as carrier", "xp": "across platforms"}
_NAME = re.compile(r"^(?P<role>[a-z]+)_(?P<metric>[a-z0-9_]+?)(?:_(?P<days>30|90|180|365))?$")


def reason_text(feature: str) -> str:
    """`shp_dpd_max` -> "longest days past due as shipper"; an unknown name is returned as it is."""
    described = feature_phrase(feature)
    if described != feature:
        return described
    m = _NAME.match(feature)
    if not m or m["metric"] not in _METRICS:
        return feature
    text = _METRICS[m["metric"]]
    if m["days"]:
        text += f" over the last {m['days']} days"
    role = _ROLES.get(m["role"])
    return f"{text} ({role})" if role else text
