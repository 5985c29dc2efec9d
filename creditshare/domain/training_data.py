"""The population a model is trained, evaluated or monitored on: the settlement history as the DataFrame that
scoring/ reads, and the population's as-of date.

Three sources, exactly one at a time: the ledger itself (read through the chain client), a settlement-history
CSV (the columns of :func:`creditshare.bindings.settlement_ledger.settlement_frame`), or a seeded synthetic
market (:func:`scoring.synthetic.market_profile`). What `creditshare model train|evaluate|promote|monitor` and
`creditshare report --html` read; the errors name their options (--settlements, --synthetic, --as-of).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from creditshare.bindings.settlement_ledger import FRAME_COLUMNS
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput
from creditshare.core.files import read_csv_rows
from creditshare.domain.settlements import EARLIEST_DATE, parse_date

#: the ``settlements`` source that reads the ledger
CHAIN = "chain"
#: the text columns of a settlement-history CSV; the others are integers (unix seconds, fen)
TEXT_COLUMNS = ("settlement_id", "shipper", "platform", "carrier", "status")
#: the columns of a settlement-history CSV: settlement_frame's, in its order; its evidence column is optional
HISTORY_COLUMNS = tuple(c for c in FRAME_COLUMNS if c != "evidence")
#: the latest --as-of, 2100-12-31: a year after the last date the ledger takes (a label window follows the as-of)
LATEST_AS_OF = parse_date("2100-12-31", "--as-of")


def as_of_date(text: str) -> int:
    """--as-of as unix seconds, within the ledger's dates (2000-01-01 to a year after 2099-12-31): 1970 drew a
    synthetic market with negative dates ("invoice_date must not be negative"), 9999 one that no ledger holds."""
    when = parse_date(text, "--as-of")
    if not EARLIEST_DATE <= when <= LATEST_AS_OF:
        raise InvalidInput(f"--as-of must be from 2000-01-01 to 2100-12-31, the ledger's dates; got {text}.")
    return when


#: an integer column's values: ASCII digits that fit the int64 columns scoring/ computes with
_WHOLE = re.compile(r"[0-9]{1,18}")


def settlement_history(
    settlements: str | Path | None = None,
    synthetic: int | None = None,
    *,
    as_of: str | None = None,
    seed: int = 1,
    market: str = "standard",
    chain: Callable[[], ChainClient] | None = None,
) -> tuple[Any, int]:
    """The settlements DataFrame and the population's as-of date (unix seconds).

    ``settlements`` is a CSV file or ``"chain"`` (the ledger, through the client ``chain()`` returns: called
    only for that source); ``synthetic`` is the number of shippers of a synthetic market of profile ``market``
    drawn with ``seed``. ``as_of`` (YYYY-MM-DD) is needed with ``settlements``; with ``synthetic`` the market is
    drawn around it when given (its history before, its label window after), else around the profile's date.
    """
    if (settlements is None) == (synthetic is None):
        raise InvalidInput("give the data either as --settlements FILE (or `chain`) or as --synthetic N.")
    if settlements is not None and str(settlements) == CHAIN:
        if as_of is None:
            raise InvalidInput("--as-of YYYY-MM-DD is needed with --settlements chain.")
        if chain is None:
            raise InvalidInput("reading the settlements from the chain needs a chain client.")
        return chain_settlements(chain()), as_of_date(as_of)
    if synthetic is not None:
        from scoring.synthetic import market_profile

        when = {} if as_of is None else {"as_of": as_of_date(as_of)}
        generated = market_profile(market, n_subjects=synthetic, seed=seed, **when)
        return generated.settlements, generated.as_of
    if as_of is None:
        raise InvalidInput("--as-of YYYY-MM-DD is needed with --settlements.")
    assert settlements is not None
    return read_settlement_history(Path(settlements)), as_of_date(as_of)


def chain_settlements(client: ChainClient) -> Any:
    """The ledger's whole settlement history (as of the latest block), from this node's chain index."""
    from creditshare.domain.index import settlements_as_of

    return settlements_as_of(client)


def chain_party_history(client: ChainClient, settlements: Any, block: int | None = None) -> tuple[Any, Any]:
    """What carriers' and platforms' party features read from the chain, as of `block` (default the latest):
    the payouts platforms owe carriers (PayoutLedger; None when it is not deployed) and the latest trip verdict
    of each settlement of `settlements` (from this node's chain index; None when TripRegistry is not deployed),
    as scoring.features.PAYOUT_COLUMNS and TRIP_COLUMNS. The same sources as the oracles' (oracle/scores.py)."""
    import pandas as pd

    from creditshare.bindings.trip_registry import Energy, Verdict
    from creditshare.domain.index import ChainIndex

    addresses = client.deployment.addresses
    payouts = None
    if addresses.get("PayoutLedger"):
        from creditshare.bindings.payout_ledger import PayoutLedger, payout_frame

        payouts = payout_frame(PayoutLedger(client), block)
    if not addresses.get("TripRegistry"):
        return payouts, None
    with ChainIndex(client) as index:
        rows = index.trip_rows(block)
    columns = ["settlement_id", "shipper", "platform", "carrier", "verdict", "energy_type", "invoice_date"]
    records = []
    if rows and not settlements.empty:
        parties = settlements.set_index("settlement_id")[["shipper", "platform", "carrier", "invoice_date"]]
        for sid, verdict, energy in rows:
            if sid in parties.index and Verdict(verdict) != Verdict.NONE:
                p = parties.loc[sid]
                records.append(
                    [
                        sid,
                        p["shipper"],
                        p["platform"],
                        p["carrier"],
                        Verdict(verdict).label,
                        Energy(energy).label,
                        int(p["invoice_date"]),
                    ]
                )
    trips = pd.DataFrame(records, columns=columns)
    trips["invoice_date"] = trips["invoice_date"].astype("int64")
    return payouts, trips


def read_settlement_history(path: Path) -> Any:
    """A settlement-history CSV (columns settlement_id, shipper, platform, carrier, amount, invoice_date,
    due_date, paid_date, status, status_date) as a DataFrame; scoring/ validates its content.

    Read with the project's one CSV reader (creditshare.core.files.read_csv_rows), like every other CSV: pandas
    took a repeated column as `amount.1`, a NUL byte or a stray quote as text. An integer column holds ASCII
    digits (unix seconds, fen) below 10^18; a bad value is named with its line."""
    import pandas as pd

    # `evidence`: settlement_frame's column, which a frame written out as CSV carries
    rows = read_csv_rows(path, required=HISTORY_COLUMNS, optional=("evidence",))
    errors: list[str] = []
    numbers: dict[str, list[int]] = {c: [] for c in HISTORY_COLUMNS if c not in TEXT_COLUMNS}
    for line, row in rows:
        for column, values in numbers.items():
            text = row[column]
            if _WHOLE.fullmatch(text):
                values.append(int(text))
            else:
                values.append(0)
                errors.append(f"line {line}: {column} must be a whole number below 10^18 (digits only); got {text!r}")
    if errors:
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise InvalidInput(f"{path}: {len(errors)} bad value(s):\n  " + "\n  ".join(errors[:20]) + more)
    extra = ["evidence"] if rows and "evidence" in rows[0][1] else []
    frame = pd.DataFrame({c: pd.Series([r[c] for _, r in rows], dtype=str) for c in (*TEXT_COLUMNS, *extra)})
    for column, values in numbers.items():
        frame[column] = pd.Series(values, dtype="int64")
    return frame[[*HISTORY_COLUMNS, *extra]]
