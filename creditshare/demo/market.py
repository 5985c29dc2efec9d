"""The demo's freight market: a year of the synthetic market replayed as settlement CSVs.

The scorecard is trained on the seeded synthetic market (`scoring/synthetic.py`,
profile ``freight-demo``); the demo plays a smaller draw of the same market on
chain, so the scores it gets spread over the tiers and the observed default rate
by tier means something. Synthetic ids become readable organisation names
(``uscc:DEMOSHIP001``, ``driver:DEMOD0001``); times are whole days (the CSV
format), and the market is drawn around today: the year before it is played.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLATFORMS = [f"uscc:DEMOPLAT{i}" for i in range(1, 4)]
DAY = 86_400


def shipper_org(i: int) -> str:
    return f"uscc:DEMOSHIP{i:03d}"


def carrier_org(i: int) -> str:
    return f"driver:DEMOD{i:04d}"


def keystore_name(org: str) -> str:
    return org.split(":", 1)[1].lower()


@dataclass
class DemoMarket:
    """Per platform, its settlement rows (CSV dicts); per row, what happens to it later."""

    rows: dict[str, list[dict[str, Any]]]
    final: dict[str, str] = field(default_factory=dict)
    """reference -> the synthetic market's final status (what the demo plays)."""
    paid: dict[str, str] = field(default_factory=dict)
    """reference -> paid date (YYYY-MM-DD) of the rows that get paid."""
    status_dates: dict[str, int] = field(default_factory=dict)
    """reference -> when (unix seconds) a Disputed or Defaulted row reached that status."""
    shippers: list[str] = field(default_factory=list)
    carriers: list[str] = field(default_factory=list)

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        return [r for rows in self.rows.values() for r in rows]

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def by_shipper(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.all_rows:
            out[r["shipper"]].append(r)
        return out

    def with_paid_dates(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "paid_date": self.paid[r["reference"]]} for r in rows]

    def select(
        self, *statuses: str, due_before: int | None = None, due_from: int | None = None
    ) -> list[dict[str, Any]]:
        chosen = []
        for r in self.all_rows:
            if self.final[r["reference"]] not in statuses:
                continue
            due = _seconds(r["due_date"])
            if due_before is not None and not due < due_before:
                continue
            if due_from is not None and not due >= due_from:
                continue
            chosen.append(r)
        return chosen


def _day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(int(seconds) // DAY * DAY, dt.UTC).date().isoformat()


def _seconds(day: str) -> int:
    return int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.UTC).timestamp())


def build_market(folder: Path, n_shippers: int, n_carriers: int, seed: int, today: dt.date) -> DemoMarket:
    """Draw the market around today and keep what happened by today: the year before it.

    Each settlement's state at the start of today is played: paid if its payment
    came by then, Defaulted or Disputed if that happened by then, otherwise
    Overdue when past due, else Confirmed (Invoiced if never confirmed or issued in the last 5 days). Writes
    one evidence file per settlement (skipped if present: same seed, same files).
    """
    from scoring.synthetic import PROFILES, market_profile

    as_of = int(dt.datetime.combine(today, dt.time(), dt.UTC).timestamp())
    generated = market_profile("freight-demo", n_subjects=n_shippers, n_carriers=n_carriers, seed=seed, as_of=as_of)
    assert PROFILES["freight-demo"]["n_platforms"] == len(PLATFORMS)
    s = generated.settlements
    s = s[s["invoice_date"] < as_of].sort_values(["invoice_date", "settlement_id"], kind="stable")
    shipper_ids = sorted(s["shipper"].unique())
    carrier_ids = sorted(generated.settlements["carrier"].unique())
    platform_ids = sorted(generated.settlements["platform"].unique())
    shipper_names = {x: shipper_org(i + 1) for i, x in enumerate(shipper_ids)}
    carrier_names = {x: carrier_org(i + 1) for i, x in enumerate(carrier_ids)}
    platform_names = {x: PLATFORMS[i] for i, x in enumerate(platform_ids)}
    market = DemoMarket(
        rows={p: [] for p in PLATFORMS},
        shippers=[shipper_names[x] for x in shipper_ids],
        carriers=[carrier_names[x] for x in carrier_ids],
    )
    evidence = folder / "evidence"
    evidence.mkdir(parents=True, exist_ok=True)
    counters: dict[str, int] = defaultdict(int)
    for rec in s.itertuples(index=False):
        platform = platform_names[rec.platform]
        counters[platform] += 1
        ref = f"{keystore_name(platform).upper()}-{counters[platform]:06d}"
        doc = evidence / f"{ref}.txt"
        if not doc.exists():
            doc.write_text(
                f"waybill {ref}\nshipper {shipper_names[rec.shipper]}\ncarrier {carrier_names[rec.carrier]}\n"
                f"amount_fen {int(rec.amount)}\nsigned consignee\n"
            )
        invoice, due = _day(rec.invoice_date), _day(rec.due_date)
        if due <= invoice:
            due = _day(_seconds(invoice) + DAY)
        row = {
            "reference": ref,
            "shipper": shipper_names[rec.shipper],
            "platform": platform,
            "carrier": carrier_names[rec.carrier],
            "amount_fen": int(rec.amount),
            "invoice_date": invoice,
            "due_date": due,
            "evidence": f"evidence/{ref}.txt",
        }
        status, status_date = str(rec.status), int(rec.status_date)
        if 0 < rec.paid_date < as_of:
            final = "Paid"  # a dispute settled by payment is a payment on chain
            market.paid[ref] = max(_day(rec.paid_date), invoice)
        elif status in ("Defaulted", "Disputed") and status_date < as_of:
            final = status
            market.status_dates[ref] = max(status_date, _seconds(invoice))
        elif status == "Invoiced" or rec.invoice_date >= as_of - 5 * DAY:
            final = "Invoiced"  # not confirmed yet: the shipper confirms within days
        elif _seconds(due) < as_of:
            final = "Overdue"
        else:
            final = "Confirmed"
        market.rows[platform].append(row)
        market.final[ref] = final
    return market
