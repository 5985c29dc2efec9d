"""The demo's year in chain time: when each settlement is submitted, confirmed, paid, marked overdue,
disputed and closed as a default.

The ledger dates a payment by the block time of its declaration's checks: a paid date may not precede the
confirmation of the invoice, nor lie in the future, and a settlement is overdue only once the block time is
past its due date. So the demo cannot play a year of history "today": every payment would be late. Instead the
demo's chain starts about a year back (`creditshare chain start --genesis`) and the demo moves its clock
(`creditshare.core.localchain.travel_to`, development chains only) to each step of `steps`: the 1st and the
16th of every month, then the start of today. At a step, everything whose date lies before the step is done,
in lifecycle order. A step is at most 16 days after an invoice, and the market's payments come at least 21 days
after theirs, so every invoice is confirmed before its payment date and the payment keeps its own date.

Pure: no chain, no I/O. The demo (creditshare.demo.run) executes the plan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from creditshare.demo.market import DemoMarket

DAY: Final = 86_400
# lifecycle order within a step: a phase only acts on what the phases before it (at this or an earlier step) did
PHASES: Final = ("submit", "confirm", "pay", "confirm-payment", "overdue", "dispute", "resolve-default")
# who acts in each phase: the platform that issued the invoice, its shipper, or the committee
ACTOR: Final = {
    "submit": "platform",
    "confirm": "shipper",
    "pay": "shipper",
    "confirm-payment": "platform",
    "overdue": "platform",
    "dispute": "platform",
    "resolve-default": "committee",
}


def seconds(day: str) -> int:
    return int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.UTC).timestamp())


def day_of(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


def steps(first_invoice: int, as_of: int) -> list[int]:
    """The 1st and the 16th of every month after `first_invoice` and before `as_of`, then `as_of`."""
    out = []
    month = dt.datetime.fromtimestamp(first_invoice, dt.UTC).date().replace(day=1)
    while seconds(month.isoformat()) < as_of:
        for day in (1, 16):
            at = seconds(month.replace(day=day).isoformat())
            if first_invoice < at < as_of:
                out.append(at)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return [*out, as_of]


@dataclass(frozen=True)
class Action:
    phase: str
    reference: str
    at: int
    """done at the first step later than this (unix seconds)"""


def actions(market: DemoMarket) -> list[Action]:
    """Every lifecycle action of the market's rows, dated: the row's invoice date for submit and confirm, its
    paid date for the payment and its receipt, its due date for overdue, its status date for disputes and
    defaults (a default after the due date is closed from Overdue, one before it from a dispute)."""
    out = []
    for row in market.all_rows:
        ref, final = row["reference"], market.final[row["reference"]]
        invoice, due = seconds(row["invoice_date"]), seconds(row["due_date"])
        out.append(Action("submit", ref, invoice))
        if final == "Invoiced":
            continue
        out.append(Action("confirm", ref, invoice))
        if ref in market.paid:
            paid = seconds(market.paid[ref])
            out += [Action("pay", ref, paid), Action("confirm-payment", ref, paid)]
        elif final == "Overdue":
            out.append(Action("overdue", ref, due))
        elif final == "Disputed":
            out.append(Action("dispute", ref, market.status_dates[ref]))
        elif final == "Defaulted":
            status_date = market.status_dates[ref]
            if due < status_date:
                out += [Action("overdue", ref, due), Action("resolve-default", ref, status_date)]
            else:
                out += [Action("dispute", ref, status_date), Action("resolve-default", ref, status_date)]
    return out


def due_by(plan: list[Action], cutoff: int, done: set[tuple[str, str]]) -> dict[str, list[Action]]:
    """Per phase, the actions dated before `cutoff` that are not done yet."""
    out: dict[str, list[Action]] = {p: [] for p in PHASES}
    for a in plan:
        if a.at < cutoff and (a.phase, a.reference) not in done:
            out[a.phase].append(a)
    return out


def paid_date(paid: int, confirmed_at: int) -> int:
    """The paid date to declare: the market's, unless the invoice was confirmed later (then the confirmation's
    time, the earliest the ledger accepts)."""
    return max(paid, confirmed_at)
