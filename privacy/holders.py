"""A platform's own MPC inputs from its settlement book, and their plaintext sum.

Each platform (data holder) computes, from the settlements it brokered, one
row per shipper in :data:`privacy.inputs.CROSS_FEATURES` order, as of a date,
with the point-in-time rules of :mod:`scoring.features`:

- ``outstanding_fen``: invoiced by ``t``, not paid by ``t`` and not defaulted by ``t``;
- ``overdue_fen``: the part of that which is due (``due_date < t``);
- ``default_count``: settlements Defaulted with ``status_date <= t``;
- ``has_relationship``: 1 (the platform brokered at least one of its settlements by ``t``);
- ``worst_dpd``: the largest days past due over its due settlements (0 if none).

:func:`platform_inputs` is what a platform feeds `creditshare mpc party`;
:func:`cross_platform_frame` is the same aggregate computed in the clear
(``computations.plaintext_cross_platform`` over every platform's rows), which
is what the MPC job reveals: used to train models on the synthetic market and
to check the MPC path end to end.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from creditshare.core.errors import InvalidInput
from privacy.computations import plaintext_cross_platform
from privacy.features import OUTPUT_FEATURES
from privacy.inputs import CROSS_FEATURES, MAX_DPD, MAX_FEN

DAY = 86_400


def _per_pair(settlements: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """CROSS_FEATURES per (platform, shipper) pair, int64."""
    from scoring.features import validate_settlements

    validate_settlements(settlements)
    if isinstance(as_of, bool) or not isinstance(as_of, (int, np.integer)) or as_of < 0:
        raise InvalidInput(f"as_of must be a non-negative integer unix time; got {as_of!r}.")
    seen = settlements[settlements["invoice_date"].to_numpy(dtype=np.int64) <= as_of]
    amt = seen["amount"].to_numpy(dtype=np.int64)
    due = seen["due_date"].to_numpy(dtype=np.int64)
    paid = seen["paid_date"].to_numpy(dtype=np.int64)
    paid_asof = (paid > 0) & (paid <= as_of)
    defaulted = (seen["status"].to_numpy(dtype=object) == "Defaulted") & (
        seen["status_date"].to_numpy(dtype=np.int64) <= as_of
    )
    is_due = due < as_of
    open_ = ~paid_asof & ~defaulted
    end = np.where(paid_asof, paid, as_of)
    rows = pd.DataFrame(
        {
            "platform": seen["platform"].to_numpy(dtype=object),
            "shipper": seen["shipper"].to_numpy(dtype=object),
            "outstanding_fen": np.where(open_, amt, 0),
            "overdue_fen": np.where(open_ & is_due, amt, 0),
            "default_count": defaulted.astype(np.int64),
            "has_relationship": np.ones(len(seen), dtype=np.int64),
            "worst_dpd": np.where(is_due, np.maximum(end - due, 0) // DAY, 0),
        }
    )
    g = rows.groupby(["platform", "shipper"], sort=True)
    out = g[["outstanding_fen", "overdue_fen", "default_count"]].sum()
    out["has_relationship"] = 1
    out["worst_dpd"] = g["worst_dpd"].max()
    out["outstanding_fen"] = out["outstanding_fen"].clip(upper=MAX_FEN)
    out["overdue_fen"] = out["overdue_fen"].clip(upper=MAX_FEN)
    out["worst_dpd"] = out["worst_dpd"].clip(upper=MAX_DPD)
    return out[list(CROSS_FEATURES)].astype(np.int64)


def platform_inputs(settlements: pd.DataFrame, as_of: int) -> dict[str, dict[str, list[int]]]:
    """Per platform: its own inputs file content ``{shipper: [5 integers]}`` (shippers it knows)."""
    pairs = _per_pair(settlements, int(as_of))
    out: dict[str, dict[str, list[int]]] = {}
    for (platform, shipper), row in zip(pairs.index, pairs.to_numpy(dtype=np.int64).tolist()):
        out.setdefault(str(platform), {})[str(shipper).lower()] = [int(v) for v in row]
    return out


def cross_platform_frame(settlements: pd.DataFrame, as_of: int, subjects: Iterable[str] | None = None) -> pd.DataFrame:
    """What a cross_platform_features job over every platform reveals, computed in the clear.

    Indexed by shipper id (lower-case), int64 columns :data:`OUTPUT_FEATURES`;
    ``subjects`` selects and orders the rows (subjects no platform knows get zeros).
    """
    per_platform = platform_inputs(settlements, int(as_of))
    index = (
        sorted({s for rows in per_platform.values() for s in rows})
        if subjects is None
        else [str(s).lower() for s in subjects]
    )
    pos = {s: j for j, s in enumerate(index)}
    matrices = []
    for rows in per_platform.values():
        m = np.zeros((len(CROSS_FEATURES), len(index)), dtype=np.int64)
        for s, values in rows.items():
            j = pos.get(s)
            if j is not None:
                m[:, j] = values
        matrices.append(m)
    if not matrices:
        matrices = [np.zeros((len(CROSS_FEATURES), len(index)), dtype=np.int64)]
    result = plaintext_cross_platform(matrices)
    return pd.DataFrame(result.T, index=pd.Index(index, dtype=object, name="subject"), columns=list(OUTPUT_FEATURES))
