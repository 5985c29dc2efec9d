"""The demo's second leg and its trip evidence: platforms record and pay what they owe carriers
(`creditshare payouts`), and an oracle checks the settlements' trip logs (`creditshare trips verify`).

Played after the year's replay, at the chain's current time: a payout's paid date may not precede its
recording, so the payouts are those of the last two weeks' deliveries, paid today. A payout due before today
is paid late (a fact about the platform), one due later is on time; some past-due ones stay unpaid and their
carriers mark them overdue, and one carrier disputes a payout. The trip logs are the synthetic market's
(scoring.synthetic.generate_trips: each shipper's lanes between freight hubs, each carrier's energy type),
with one fabricated track (a straight line driven in 20 minutes), one track reused for another settlement
and one settlement without a log. The trip logs are the same bytes for the same market, day and seed (in any
process) and written only when absent or different, and k oracles each attest the verdicts (k of n, the
consortium's oracle.threshold): a rerun sends no trip transaction. Idempotent like the rest of the demo: a
rerun sends only what is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from creditshare.bindings.payout_ledger import PayoutLedger
from creditshare.bindings.payout_ledger import Status as PayoutStatus
from creditshare.bindings.trip_registry import TripRegistry, Verdict
from creditshare.core.ids import settlement_id, subject_id, to_hex
from creditshare.demo import replay
from creditshare.demo.market import PLATFORMS, DemoMarket, keystore_name
from creditshare.domain import payouts as po

DAY = 86_400
#: payouts and trips are played for the deliveries of this many days before today
WINDOW_DAYS = 14
#: at most this many payouts (and trips) per platform
PER_PLATFORM = 20
#: a platform pays a carrier 85 % of the freight, within 7 days of delivery
PAYOUT_SHARE_PCT, PAYOUT_TERMS_DAYS = 85, 7
PAYOUT_COLUMNS = (*po.CSV_COLUMNS, *po.OPTIONAL_COLUMNS)
TRIP_COLUMNS = ("settlement", "trip_log", "origin_lat", "origin_lon", "destination_lat", "destination_lon")
DISPUTE_REASON = "paid 500 fen short"
NEW_ENERGY = frozenset({"electric", "hydrogen"})


@dataclass
class FreightPlan:
    """What the demo plays: per platform its payout rows (CSV dicts); which are paid, left unpaid or disputed;
    and the trips (CSV dicts) with each one's ground truth."""

    payouts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unpaid: set[str] = field(default_factory=set)
    disputed: set[str] = field(default_factory=set)
    trips: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    """settlement id (0x) -> genuine / fabricated / reused / missing"""


def _day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()


def plan(market: DemoMarket, folder: Path, today: dt.date, seed: int) -> FreightPlan:
    """The payout CSV rows and the trip logs (under `folder`/trips, the same bytes for the same market, day and
    seed; a log left by another day's plan is rewritten, an identical one left alone) of the last
    WINDOW_DAYS' settlements, at most PER_PLATFORM per platform."""
    as_of = replay.seconds(today.isoformat())
    out = FreightPlan()
    chosen: list[dict[str, Any]] = []
    for platform in PLATFORMS:
        recent = [r for r in market.rows[platform] if replay.seconds(r["invoice_date"]) >= as_of - WINDOW_DAYS * DAY]
        rows = recent[:: max(1, len(recent) // PER_PLATFORM)][-PER_PLATFORM:]  # spread over the window
        chosen += rows
        payouts = []
        for i, r in enumerate(rows):
            delivery = min(replay.seconds(r["invoice_date"]) - DAY, as_of - DAY)
            due = delivery + PAYOUT_TERMS_DAYS * DAY
            payouts.append(
                {
                    "reference": f"PO-{r['reference']}",
                    "platform": platform,
                    "carrier": r["carrier"],
                    "amount_fen": max(r["amount_fen"] * PAYOUT_SHARE_PCT // 100, 1),
                    "delivery_date": _day(delivery),
                    "due_date": _day(due),
                    "evidence": r["evidence"],
                    "settlement": to_hex(settlement_id(subject_id(platform), r["reference"])),
                }
            )
            if due < as_of and i % 4 == 1:  # a quarter of the past-due payouts stay unpaid
                out.unpaid.add(payouts[-1]["reference"])
        out.payouts[platform] = payouts
    open_ones = [p for rows in out.payouts.values() for p in rows if p["reference"] not in out.unpaid]
    if len(open_ones) > 2:
        out.disputed.add(open_ones[1]["reference"])
    out.trips, out.kinds = _trips(chosen, folder, seed)
    return out


def _trips(rows: list[dict[str, Any]], folder: Path, seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    import pandas as pd

    from scoring.synthetic import generate_trips
    from scoring.trips import TripLog

    if not rows:
        return [], {}
    frame = pd.DataFrame(
        {
            "settlement_id": [to_hex(settlement_id(subject_id(r["platform"]), r["reference"])) for r in rows],
            "shipper": [r["shipper"] for r in rows],
            "carrier": [r["carrier"] for r in rows],
            "invoice_date": [replay.seconds(r["invoice_date"]) for r in rows],
        }
    )
    trips = generate_trips(frame, seed=seed, missing=0.0, fabricated=0.0, reused=0.0)
    # generate_trips names the vehicle by Python's hash() of the carrier, salted per process: a rerun would
    # write other bytes (another digest, so another claim for the oracles to attest); a digest of the name is
    # the same in every process
    carrier_of = dict(zip(frame["settlement_id"], frame["carrier"], strict=True))
    trips = [
        dataclasses.replace(t, log=dataclasses.replace(t.log, vehicle_id=vehicle_id(carrier_of[t.settlement_id])))
        if t.log is not None
        else t
        for t in trips
    ]
    kinds = {t.settlement_id: "genuine" for t in trips}
    logs: dict[str, Any] = {t.settlement_id: t.log for t in trips}
    ends = {t.settlement_id: (t.origin, t.destination) for t in trips}
    ids = [t.settlement_id for t in trips]
    if len(ids) >= 4:
        # one fabricated track: a straight line between the declared hubs, "driven" in 20 minutes
        sid, src = ids[1], trips[1]
        assert src.log is not None
        n = len(src.log.t)
        end = int(src.log.t[-1])
        logs[sid] = TripLog(
            src.log.vehicle_id,
            src.log.energy_type,
            src.log.odometer_start_km,
            src.log.odometer_end_km,
            end - np.linspace(1200, 0, n).astype(np.int64),
            np.linspace(src.origin[0], src.destination[0], n),
            np.linspace(src.origin[1], src.destination[1], n),
        )
        kinds[sid] = "fabricated"
        # one reused track: settlement 0's genuine log, re-timed and presented for settlement 2 on its lane
        sid, first = ids[2], trips[0].log
        assert first is not None
        shift = int(trips[2].invoice_date - DAY) - int(first.t[-1])
        logs[sid] = TripLog(
            first.vehicle_id,
            first.energy_type,
            first.odometer_start_km,
            first.odometer_end_km,
            first.t + shift,
            first.lat.copy(),
            first.lon.copy(),
        )
        ends[sid] = ((float(first.lat[0]), float(first.lon[0])), (float(first.lat[-1]), float(first.lon[-1])))
        kinds[sid] = "reused"
        logs[ids[3]] = None  # no log
        kinds[ids[3]] = "missing"
    directory = folder / "trips"
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for sid in ids:
        log = logs[sid]
        name = ""
        if log is not None:
            name = f"trips/{sid[2:18]}.json"
            write_if_changed(folder / name, log.dumps())
        (a, b) = ends[sid]
        out.append(
            {
                "settlement": sid,
                "trip_log": name,
                "origin_lat": f"{a[0]:.5f}",
                "origin_lon": f"{a[1]:.5f}",
                "destination_lat": f"{b[0]:.5f}",
                "destination_lon": f"{b[1]:.5f}",
            }
        )
    return out, kinds


def vehicle_id(carrier: str) -> str:
    """The demo's vehicle id of a carrier: V and six digits, the same in every process."""
    return f"V{int.from_bytes(hashlib.sha256(carrier.encode()).digest()[:8], 'big') % 10**6:06d}"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Writes `data` to `path` unless the file holds exactly these bytes already; True if it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.write_bytes(data)
    return True


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    import csv

    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def play(demo: Any, market: DemoMarket) -> FreightPlan:
    """Payouts (record, confirm, pay, confirm receipt, overdue, a dispute) and trip verdicts on chain."""
    cs, folder = demo.cs, demo.folder
    freight = plan(market, folder, demo.today, demo.seed)
    # what each settlement's trip log is (ground truth, for readers checking the verdicts)
    (folder / "trips-presented.json").write_text(json.dumps(freight.kinds, indent=1, sort_keys=True) + "\n")
    if not any(freight.payouts.values()):
        demo.console.print("  no deliveries in the last two weeks: no payouts or trips to play")
        return freight
    ledger = PayoutLedger(demo.client)
    files: dict[str, Path] = {}
    for platform, rows in freight.payouts.items():
        if rows:
            files[platform] = _write(folder / f"payouts-{keystore_name(platform)}.csv", PAYOUT_COLUMNS, rows)
    # 1. each platform records what it owes (the whole file is checked first; a rerun skips what is on chain)
    for i, (platform, path) in enumerate(files.items()):
        cs("payouts", "submit", str(path), "--account", keystore_name(platform), show=i == 0)
    parsed = {p: po.parse_csv(path) for p, path in files.items()}
    by_ref = {row.reference: row.payout for rows in parsed.values() for row in rows}
    carrier_of = {p["reference"]: p["carrier"] for rows in freight.payouts.values() for p in rows}
    # 2. carriers confirm amount and delivery date; 3. platforms pay (today, by the declaration's block time);
    # 4. carriers confirm receipt; 5. carriers mark unpaid past-due payouts overdue; 6. one carrier disputes
    every = list(by_ref)
    paid = [r for r in every if r not in freight.unpaid and r not in freight.disputed]
    _carriers_step(demo, ledger, "confirm", every, by_ref, carrier_of)
    for i, (platform, platform_rows) in enumerate(parsed.items()):
        mine = [r.reference for r in platform_rows if r.reference in set(paid)]
        todo = _todo(ledger, "pay", [by_ref[r] for r in mine])
        if not todo:
            continue
        path = _write(
            folder / f"payouts-pay-{keystore_name(platform)}.csv",
            PAYOUT_COLUMNS,
            [p for p in freight.payouts[platform] if p["reference"] in {mine[j] for j in todo}],
        )
        cs("payouts", "pay", "--file", str(path), "--account", keystore_name(platform), show=i == 0)
    _carriers_step(demo, ledger, "confirm-receipt", paid, by_ref, carrier_of)
    _carriers_step(demo, ledger, "overdue", sorted(freight.unpaid), by_ref, carrier_of)
    for ref in sorted(freight.disputed):
        if _todo(ledger, "dispute", [by_ref[ref]]):
            cs(
                "payouts",
                "dispute",
                to_hex(by_ref[ref].id),
                "--reason",
                DISPUTE_REASON,
                "--account",
                keystore_name(carrier_of[ref]),
            )
    cs("payouts", "show", PLATFORMS[0], "--limit", "5")
    # the trip logs: k oracles each check them and attest a verdict per settlement; k agreeing make it final
    if freight.trips:
        _oracles_attest(demo, _write(folder / "trips.csv", TRIP_COLUMNS, freight.trips), freight)
        fabricated = next((s for s, k in freight.kinds.items() if k == "fabricated"), None)
        if fabricated:
            cs("trips", "show", fabricated)
    return freight


def _oracles_attest(demo: Any, path: Path, freight: FreightPlan) -> None:
    """`creditshare trips verify` run by k oracle operators, each with its own account (k: the demo's
    oracle.threshold, set here if the oracles' step has not yet). Each one's claims are attested once: a rerun
    (same logs, same bytes) sends nothing."""
    from creditshare.demo.run import ORACLE_THRESHOLD, ORACLES

    demo._parameters({"oracle.threshold": ORACLE_THRESHOLD})
    for i, oracle in enumerate(ORACLES[:ORACLE_THRESHOLD]):
        result = demo.cs("trips", "verify", str(path), "--account", keystore_name(oracle), json_out=True)
        if not result:
            continue
        demo.console.print(
            f"  oracle {i + 1} of {ORACLE_THRESHOLD} ({oracle}): {result['trips']} trips: {result['verified']} "
            f"verified, {result['implausible']} implausible, {result['no_log']} without a log; "
            f"{result['attested']} trip attestations sent, {result['already_attested']} attested already; "
            f"{result['final']} final, {result['waiting']} waiting for more oracles",
            highlight=False,
        )
        if i == 0:
            for item in result["results"]:
                kind = freight.kinds.get(item["settlement"], "")
                if kind != "genuine" or item["verdict"] != "verified":
                    demo.console.print(
                        f"    {item['settlement'][:18]}… ({kind}): {item['verdict']}"
                        + (f": {'; '.join(item['reasons'])}" if item["reasons"] else ""),
                        highlight=False,
                    )


#: a disputed payout leaves the demo's flow (the committee resolves it): a rerun on a later day, whose plan may
#: name it for another step, leaves it alone
CLOSED_BY_DISPUTE = frozenset({PayoutStatus.DISPUTED, PayoutStatus.RESOLVED, PayoutStatus.DEFAULTED})


def _todo(ledger: PayoutLedger, step: str, records: list[Any]) -> list[int]:
    """Indexes in `records` of those `step` is still to be done for (a rerun sends only what is missing)."""
    states = ledger.states([r.id for r in records])
    keep = [i for i, st in enumerate(states) if step == "dispute" or st.status not in CLOSED_BY_DISPUTE]
    plan_ = po.plan_lifecycle(step, [records[i] for i in keep], [states[i] for i in keep])
    if plan_.errors:
        raise po.InvalidPayoutFile(Path(f"<{step}: {len(records)} payouts>"), plan_.errors)
    return [keep[j] for j in plan_.todo]


def _carriers_step(
    demo: Any, ledger: PayoutLedger, step: str, refs: list[str], by_ref: dict[str, Any], carrier_of: dict[str, str]
) -> None:
    """`step` for `refs` by each one's carrier: the first carrier through `creditshare payouts STEP ID...`, the
    others with the same library calls in this process (each with its own key)."""
    if not refs:
        return
    records = [by_ref[r] for r in refs]
    todo = _todo(ledger, step, records)
    groups: dict[str, list[Any]] = defaultdict(list)
    for i in todo:
        groups[carrier_of[refs[i]]].append(records[i])
    for n, (carrier, mine) in enumerate(groups.items()):
        if n == 0:
            demo.cs("payouts", step, *[to_hex(p.id) for p in mine], "--account", keystore_name(carrier))
            continue
        account = demo.account(carrier)
        own = PayoutLedger(demo.client)
        if step == "confirm":
            own.confirm(mine, account)
        elif step == "confirm-receipt":
            own.confirm_receipt(mine, account)
        else:
            own.mark_overdue(mine, account)


def summary(demo: Any, freight: FreightPlan) -> None:
    """Payouts by platform (on time, late, overdue, disputed), trip verdicts against the known fraud, and the
    new-energy shares of verified trips by platform and carrier."""
    every = [p for rows in freight.payouts.values() for p in rows]
    if not every:
        return
    client = demo.client
    states = PayoutLedger(client).states([settlement_id(subject_id(p["platform"]), p["reference"]) for p in every])
    table = Table(title="Payouts to carriers by platform (paid on time = by the due date)")
    for column in ("platform", "payouts", "paid on time", "paid late", "overdue", "disputed", "open"):
        table.add_column(column, justify="right")
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for p, st in zip(every, states, strict=True):
        c = per[p["platform"]]
        c["payouts"] += 1
        if st.status == PayoutStatus.PAID:
            late = st.paid_date >= replay.seconds(p["due_date"]) + DAY  # paid after its due day
            c["paid late" if late else "paid on time"] += 1
        elif st.status == PayoutStatus.OVERDUE:
            c["overdue"] += 1
        elif st.status == PayoutStatus.DISPUTED:
            c["disputed"] += 1
        else:
            c["open"] += 1
    for platform, c in per.items():
        table.add_row(
            platform, *(str(c[k]) for k in ("payouts", "paid on time", "paid late", "overdue", "disputed", "open"))
        )
    demo.console.print(table)
    demo.counts["payouts"] = len(every)
    if not freight.trips:
        return
    ids = [bytes.fromhex(t["settlement"][2:]) for t in freight.trips]
    records = TripRegistry(client).verdicts(ids)
    verdicts = Table(title="Trip verdicts on chain (TripRegistry) by what the demo presented")
    for column in ("trip log", "verified", "implausible", "no log"):
        verdicts.add_column(column, justify="right")
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for t, rec in zip(freight.trips, records, strict=True):
        by_kind[freight.kinds[t["settlement"]]][rec.verdict.label] += 1
    for kind in ("genuine", "fabricated", "reused", "missing"):
        if kind in by_kind:
            verdicts.add_row(kind, *(str(by_kind[kind][v]) for v in ("verified", "implausible", "no log")))
    demo.console.print(verdicts)
    demo.counts["trips verified"] = sum(1 for r in records if r.verdict == Verdict.VERIFIED)
    who = {bytes.fromhex(p["settlement"][2:]): (p["platform"], p["carrier"]) for p in every}
    green: dict[str, list[bool]] = defaultdict(list)
    for sid, rec in zip(ids, records, strict=True):
        if rec.verdict == Verdict.VERIFIED:
            platform, carrier = who[sid]
            flag = rec.energy.label in NEW_ENERGY
            green[platform].append(flag)
            green[carrier].append(flag)
    shares = Table(title="New-energy share of verified trips (electric, hydrogen): platforms, then carriers")
    for column in ("party", "verified trips", "new energy", "share"):
        shares.add_column(column, justify="right")
    parties = [p for p in PLATFORMS if p in green] + sorted(
        (k for k in green if k not in PLATFORMS), key=lambda k: (-sum(green[k]), k)
    )[:5]
    for party in parties:
        flags = green[party]
        shares.add_row(party, str(len(flags)), str(sum(flags)), f"{100 * sum(flags) / len(flags):.0f}%")
    demo.console.print(shares)
