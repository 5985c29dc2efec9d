"""A synthetic road-freight settlement market (no public data set exists).

The market has shippers (the payers that are scored), a few platforms and a
pool of carriers. Each shipper has a latent quality ``q ~ N(0, 1)`` that the
features never see directly. It drives:

- **distress**: a shipper falls into distress at a random time with hazard
  ``annual_default_rate * exp(-quality_effect * q)`` per year; invoices still
  unpaid at that time become Defaulted (``status_date`` = distress time) and
  the shipper stops trading;
- **lateness**: the probability of paying late is
  ``sigmoid(logit(late_base) - late_quality * q + late_warning * w)``, where
  ``w`` rises from 0 to 1 over the ``warning_days`` before distress (payment
  behaviour deteriorates before a default, which is what the features can see),
  and late payments are later when ``w`` is high;
- **volume**: better shippers trade slightly more.

Carriers have their own quality, which drives disputes. Volume and lateness
follow a yearly cycle of relative amplitude ``seasonality`` peaking around
Chinese New Year (day of year ``season_peak_day``). Payment terms are drawn per
shipper from ``payment_terms_days`` with ``payment_terms_probs``.

Labels are read from the generated data the way they would be from the chain:
a shipper alive and with history at ``as_of`` is bad if one of its invoices
defaults within ``horizon_days`` after ``as_of`` (:func:`default_labels`).
Everything is vectorised; 100,000 shippers take a few seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from scoring.errors import InvalidData
from scoring.factory import role_training_set
from scoring.features import DAY, build_features, carrier_labels, default_labels, platform_labels
from scoring.trips import ENERGY_TYPES, TripLog, check_many, haversine_km


@dataclass(frozen=True)
class MarketParams:
    """Parameters of :func:`generate_market`; the defaults are documented per field."""

    n_subjects: int = 10_000
    """Number of shippers (the scored population)."""
    n_platforms: int | None = None
    """Number of platforms; default ``max(3, n_subjects // 2000)``."""
    n_carriers: int | None = None
    """Number of carriers; default ``max(20, n_subjects // 5)``."""
    as_of: int = 1_735_689_600
    """The scoring date (2025-01-01 UTC); the market runs ``horizon_days`` past it."""
    history_days: int = 730
    """Days of history before ``as_of``."""
    horizon_days: int = 90
    """Default window after ``as_of`` that defines the label."""
    monthly_rate_median: float = 1.2
    """Median settlements per shipper per 30 days."""
    rate_sigma: float = 0.8
    """Log-normal spread of shippers' activity rates."""
    amount_median_fen: int = 800_000
    """Median invoice amount (8,000 CNY)."""
    amount_sigma: float = 0.9
    """Log-normal spread of invoice amounts (per shipper and per invoice)."""
    payment_terms_days: tuple[int, ...] = (30, 45, 60, 90)
    """Payment terms a shipper may have."""
    payment_terms_probs: tuple[float, ...] = (0.4, 0.25, 0.25, 0.1)
    """Probabilities of those payment terms."""
    seasonality: float = 0.25
    """Relative amplitude of the yearly cycle of volume and lateness."""
    season_peak_day: int = 30
    """Day of year of the peak (around Chinese New Year)."""
    annual_default_rate: float = 0.10
    """Distress hazard per year of a shipper of average quality."""
    quality_effect: float = 1.0
    """Log-hazard of distress per standard deviation of latent quality."""
    late_base: float = 0.15
    """Probability of paying late for an average shipper far from distress."""
    late_quality: float = 0.9
    """Log-odds of lateness per standard deviation of latent quality."""
    late_warning: float = 2.0
    """Extra log-odds of lateness just before distress."""
    warning_days: int = 150
    """How long before distress payment behaviour deteriorates."""
    dispute_rate: float = 0.03
    """Probability an invoice with an average carrier is disputed."""
    record_resolved_disputes: bool = True
    """Keep a dispute settled by payment as status Resolved. False records it as Paid (with its paid date),
    as the settlement ledger does: it cannot record the payment of a Resolved settlement."""
    carrier_default_rate: float = 0.0
    """Distress hazard per year of a carrier of average quality. 0 (the default) draws no carrier distress and
    leaves the market exactly as before; the role cards' markets (:func:`role_market`) set it."""
    carrier_quality_effect: float = 1.0
    """Log-hazard of carrier distress per standard deviation of the carrier's latent quality."""
    carrier_warning: float = 3.0
    """Extra log-odds of a dispute (a failed delivery) as a carrier's distress nears; it stays there after."""
    seed: int = 0
    """Seed of the numpy Generator."""

    def check(self) -> None:
        """Raise :class:`InvalidData` for an impossible parameter."""
        if self.n_subjects < 1:
            raise InvalidData(f"n_subjects must be a positive integer; got {self.n_subjects}.")
        if self.history_days < 60:
            raise InvalidData(f"history_days must be at least 60; got {self.history_days}.")
        if self.horizon_days < 1:
            raise InvalidData(f"horizon_days must be positive; got {self.horizon_days}.")
        if len(self.payment_terms_days) != len(self.payment_terms_probs) or not self.payment_terms_days:
            raise InvalidData("payment_terms_days and payment_terms_probs must have the same, non-zero length.")
        if abs(sum(self.payment_terms_probs) - 1.0) > 1e-9:
            raise InvalidData(f"payment_terms_probs must sum to 1; got {sum(self.payment_terms_probs)}.")
        for name in ("monthly_rate_median", "amount_median_fen", "annual_default_rate"):
            if getattr(self, name) <= 0:
                raise InvalidData(f"{name} must be a positive number; got {getattr(self, name)}.")
        for name in ("late_base", "dispute_rate"):
            if not 0 < getattr(self, name) < 1:
                raise InvalidData(f"{name} must be strictly between 0 and 1; got {getattr(self, name)}.")
        if not 0 <= self.seasonality < 1:
            raise InvalidData(f"seasonality must be in [0, 1); got {self.seasonality}.")
        if self.carrier_default_rate < 0:
            raise InvalidData(f"carrier_default_rate must be 0 or more; got {self.carrier_default_rate}.")


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market: settlements, the scored shippers and their labels."""

    settlements: pd.DataFrame
    labels: pd.Series
    """1 = defaulted within ``horizon_days`` after ``as_of``; index = shipper id."""
    as_of: int
    params: MarketParams
    quality: pd.Series = field(repr=False)
    """Latent quality per shipper (ground truth, for diagnostics only)."""
    carriers: pd.DataFrame | None = field(default=None, repr=False)
    """Per carrier (index: carrier id): latent ``quality`` and ``distress`` time (unix seconds; far in the
    future when the market draws no carrier distress). Ground truth: :func:`trip_verdicts` reads it."""

    def features(self, as_of: int | None = None) -> pd.DataFrame:
        """Shipper-role features of the labelled shippers as of ``as_of`` (default the market's)."""
        return build_features(
            self.settlements, self.as_of if as_of is None else as_of, subjects=self.labels.index, roles=("shipper",)
        )

    def labelled(self, as_of: int) -> pd.Series:
        """Labels at another as-of date: shippers with history and not defaulted by then."""
        return _population_labels(self.settlements, as_of, self.params.horizon_days)


def _ids(rng: np.random.Generator, n: int, tag: int) -> np.ndarray:
    raw = rng.bytes(31 * n).hex()
    # the last byte keeps the roles' ids apart
    return np.array([f"0x{raw[62 * i : 62 * i + 62]}{tag:02x}" for i in range(n)], dtype=object)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _season(t: np.ndarray, p: MarketParams) -> np.ndarray:
    doy = (t // DAY) % 365
    return np.cos(2 * np.pi * (doy - p.season_peak_day) / 365.0)


#: a distress time that never comes (a carrier of a market without carrier distress)
_NEVER = np.int64(2**62)


def _carrier_distress(p: MarketParams, car_q: np.ndarray, start: int) -> np.ndarray:
    """When each carrier falls into distress: hazard ``carrier_default_rate * exp(-effect * q)`` a year. Drawn
    from its own generator, so that the shippers' draws (and a market without carrier distress) stay as they were."""
    if p.carrier_default_rate == 0:
        return np.full(len(car_q), _NEVER, dtype=np.int64)
    rng = np.random.default_rng([p.seed, 3])
    hazard = p.carrier_default_rate / (365.0 * DAY) * np.exp(-p.carrier_quality_effect * car_q)
    return start + np.minimum(rng.exponential(1.0 / hazard), float(_NEVER // 2)).astype(np.int64)


def _carrier_warning(distress: np.ndarray, t: np.ndarray, warning_days: int) -> np.ndarray:
    """0 far from the carrier's distress, rising to 1 over the ``warning_days`` before it, 1 after."""
    return np.clip(1.0 - (distress - t) / (warning_days * DAY), 0.0, 1.0)


def _population_labels(settlements: pd.DataFrame, as_of: int, horizon_days: int) -> pd.Series:
    s = settlements
    seen = s["invoice_date"].to_numpy(dtype=np.int64) <= as_of
    gone = (s["status"].to_numpy(dtype=object) == "Defaulted") & (s["status_date"].to_numpy(dtype=np.int64) <= as_of)
    shippers = pd.unique(s["shipper"].to_numpy(dtype=object)[seen])
    dead = set(s["shipper"].to_numpy(dtype=object)[gone])
    alive = sorted(x for x in shippers if x not in dead)
    return default_labels(s, alive, as_of, horizon_days)


def generate_market(params: MarketParams | None = None, **overrides: object) -> SyntheticMarket:
    """Generate a seeded synthetic market; ``overrides`` replace fields of ``params``."""
    base = asdict(params) if params is not None else {}
    unknown = [k for k in overrides if k not in MarketParams.__dataclass_fields__]
    if unknown:
        raise InvalidData(f"unknown market parameters: {', '.join(unknown)}.")
    p = MarketParams(**{**base, **overrides})  # type: ignore[arg-type]
    p.check()
    rng = np.random.default_rng(p.seed)
    n = p.n_subjects
    n_plt = p.n_platforms or max(3, n // 2000)
    n_car = p.n_carriers or max(20, n // 5)
    start = p.as_of - p.history_days * DAY
    end = p.as_of + p.horizon_days * DAY

    shippers, platforms, carriers = _ids(rng, n, 1), _ids(rng, n_plt, 2), _ids(rng, n_car, 3)
    q = rng.standard_normal(n)
    car_q = rng.standard_normal(n_car)
    hazard = p.annual_default_rate / (365.0 * DAY) * np.exp(-p.quality_effect * q)
    entry = start + (rng.uniform(0, p.history_days - 30, n) * DAY).astype(np.int64)
    distress = entry + rng.exponential(1.0 / hazard).astype(np.int64)
    stop = np.minimum(distress, end)
    span = np.maximum(stop - entry, 0)
    rate = np.exp(np.log(p.monthly_rate_median / (30.0 * DAY)) + p.rate_sigma * rng.standard_normal(n) + 0.2 * q)
    terms_days = rng.choice(np.asarray(p.payment_terms_days), size=n, p=np.asarray(p.payment_terms_probs))
    scale = p.amount_sigma * 0.7 * rng.standard_normal(n)
    home_carrier = rng.integers(0, n_car, n)
    plt_weights = 1.0 / np.arange(1, n_plt + 1)
    plt_weights /= plt_weights.sum()

    # candidate invoices, thinned by the yearly cycle
    counts = rng.poisson(rate * span * (1 + p.seasonality))
    who = np.repeat(np.arange(n), counts)
    inv = entry[who] + (rng.uniform(0, 1, len(who)) * span[who]).astype(np.int64)
    keep = rng.uniform(0, 1, len(who)) < (1 + p.seasonality * _season(inv, p)) / (1 + p.seasonality)
    who, inv = who[keep], inv[keep]
    order = np.lexsort((inv, who))
    who, inv = who[order], inv[order]
    m = len(who)

    amount = np.exp(np.log(p.amount_median_fen) + scale[who] + p.amount_sigma * 0.7 * rng.standard_normal(m)) * (
        1 + 0.1 * _season(inv, p)
    )
    amount = np.maximum((amount // 100).astype(np.int64) * 100, 100)
    due = inv + terms_days[who].astype(np.int64) * DAY
    carrier = (home_carrier[who] + rng.geometric(0.35, m) - 1) % n_car
    platform = rng.choice(n_plt, size=m, p=plt_weights)

    # payment: lateness rises as distress approaches
    warn = np.clip(1.0 - (distress[who] - due) / (p.warning_days * DAY), 0.0, 1.0)
    logit_late = (
        _logit(p.late_base) - p.late_quality * q[who] + p.late_warning * warn + 2.0 * p.seasonality * _season(due, p)
    )
    late = rng.uniform(0, 1, m) < _sigmoid(logit_late)
    delay_days = rng.gamma(2.0, 6.0 * (1 + 3 * warn) * np.exp(-0.3 * q[who]))
    early_days = rng.uniform(0, 5, m)
    pay_at = np.where(late, due + (delay_days * DAY).astype(np.int64), due - (early_days * DAY).astype(np.int64))
    pay_at = np.maximum(pay_at, inv + DAY)

    # disputes (failed deliveries), driven by carrier quality and, as a carrier's distress nears, by its warning
    car_distress = _carrier_distress(p, car_q, start)
    logit_dispute = _logit(p.dispute_rate) - 0.8 * car_q[carrier]
    if p.carrier_default_rate > 0:
        logit_dispute = logit_dispute + p.carrier_warning * _carrier_warning(car_distress[carrier], inv, p.warning_days)
    p_dispute = _sigmoid(logit_dispute)
    disputed = rng.uniform(0, 1, m) < p_dispute
    dispute_at = inv + (rng.uniform(3, 20, m) * DAY).astype(np.int64)
    resolved = disputed & (rng.uniform(0, 1, m) < 0.6)
    resolve_at = dispute_at + (rng.uniform(10, 40, m) * DAY).astype(np.int64)
    pay_at = np.where(resolved, np.maximum(pay_at, resolve_at + 2 * DAY), pay_at)

    horizon = np.minimum(distress[who], end)  # nothing is paid after distress or after the snapshot
    open_dispute = disputed & ~resolved & (dispute_at <= horizon)
    is_paid = (pay_at <= horizon) & ~open_dispute
    paid_date = np.where(is_paid, pay_at, 0)
    defaulted = ~is_paid & (distress[who] <= end)

    status = np.full(m, "Invoiced", dtype=object)
    status_date = inv.copy()
    fresh = rng.choice(np.array(["Invoiced", "Confirmed", "Financed"], dtype=object), size=m, p=[0.2, 0.5, 0.3])
    status[:] = fresh
    status_date = status_date + np.where(fresh == "Invoiced", 0, DAY)
    overdue = ~is_paid & (due < horizon)
    status[overdue] = "Overdue"
    status_date = np.where(overdue, due + DAY, status_date)
    status[open_dispute] = "Disputed"
    status_date = np.where(open_dispute, dispute_at, status_date)
    status[is_paid] = "Paid"
    status_date = np.where(is_paid, paid_date, status_date)
    res_paid = is_paid & resolved
    if p.record_resolved_disputes:
        status[res_paid] = "Resolved"
        status_date = np.where(res_paid, np.minimum(resolve_at, paid_date), status_date)
    status[defaulted] = "Defaulted"
    status_date = np.where(defaulted, distress[who], status_date)

    ids = np.array([f"0x{i:064x}" for i in range(1, m + 1)], dtype=object)
    settlements = pd.DataFrame(
        {
            "settlement_id": ids,
            "shipper": shippers[who],
            "platform": platforms[platform],
            "carrier": carriers[carrier],
            "amount": amount,
            "invoice_date": inv,
            "due_date": due,
            "paid_date": paid_date.astype(np.int64),
            "status": status,
            "status_date": status_date.astype(np.int64),
        }
    )
    labels = _population_labels(settlements, p.as_of, p.horizon_days)
    quality = pd.Series(q, index=pd.Index(shippers, name="subject"), name="quality")
    car_state = pd.DataFrame(
        {"quality": car_q, "distress": car_distress}, index=pd.Index(carriers, dtype=object, name="subject")
    )
    return SyntheticMarket(
        settlements=settlements, labels=labels, as_of=p.as_of, params=p, quality=quality, carriers=car_state
    )


#: Named market profiles: overrides of :class:`MarketParams` (n_subjects and seed are given per call).
PROFILES: dict[str, dict[str, object]] = {
    "standard": {},
    # `creditshare demo`: a year of busier shippers on 3 platforms; a higher distress rate so that a
    # training population of a few thousand shippers holds enough defaults to bin.
    # Disputes settled by payment are recorded as Paid, as the demo's ledger records them.
    "freight-demo": {
        "history_days": 365,
        "monthly_rate_median": 70.0,
        "annual_default_rate": 0.2,
        "n_platforms": 3,
        "record_resolved_disputes": False,
    },
}


def market_profile(name: str, **overrides: object) -> SyntheticMarket:
    """:func:`generate_market` with the named profile's parameters, then ``overrides``."""
    if name not in PROFILES:
        raise InvalidData(f"unknown market profile {name!r}; choose from {', '.join(sorted(PROFILES))}.")
    return generate_market(None, **{**PROFILES[name], **overrides})


# -- trips, payouts and the other roles (issue #17) ------------------------------------------------------------

#: freight hubs (lat, lon) the synthetic lanes run between
HUBS: dict[str, tuple[float, float]] = {
    "Shanghai": (31.23, 121.47),
    "Suzhou": (31.30, 120.62),
    "Hangzhou": (30.27, 120.16),
    "Nanjing": (32.06, 118.80),
    "Hefei": (31.82, 117.23),
    "Wuhan": (30.59, 114.31),
    "Zhengzhou": (34.75, 113.63),
    "Jinan": (36.65, 117.12),
    "Tianjin": (39.08, 117.20),
    "Beijing": (39.90, 116.41),
    "Guangzhou": (23.13, 113.26),
    "Changsha": (28.23, 112.94),
}
TRIP_KINDS = ("genuine", "missing", "fabricated", "reused")


@dataclass(frozen=True)
class SyntheticTrip:
    """One settlement's trip as a market would present it: `kind` is the ground truth ("genuine", "missing":
    no log, "fabricated": a made-up track, "reused": another settlement's real track re-timed)."""

    settlement_id: str
    log: TripLog | None
    origin: tuple[float, float]
    destination: tuple[float, float]
    invoice_date: int
    kind: str


def _vehicle_id(carrier: str) -> str:
    """A carrier's vehicle: V and six digits from a sha-256 of its id, the same in every process (Python's hash()
    of a string is salted per process: the same seed gave other trip log bytes in each run)."""
    return f"V{int.from_bytes(hashlib.sha256(carrier.encode()).digest()[:8], 'big') % 10**6:06d}"


def _track(
    rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float], end: int, n: int, speed_kmh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A road-like track from `a` to `b` through one random waypoint, arriving at `end`."""
    mid = np.array([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]) + rng.normal(0, 0.25, 2)
    knots = np.array([a, mid, b])
    u = np.linspace(0, 2, n)
    lat = np.interp(u, [0, 1, 2], knots[:, 0]) + rng.normal(0, 0.0005, n)
    lon = np.interp(u, [0, 1, 2], knots[:, 1]) + rng.normal(0, 0.0005, n)
    seg = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    hours = np.r_[0.0, np.cumsum(seg / speed_kmh)]
    t = end - ((hours[-1] - hours) * 3600).astype(np.int64)
    return t, lat, lon


def generate_trips(
    settlements: pd.DataFrame,
    *,
    seed: int = 0,
    missing: float = 0.10,
    fabricated: float = 0.04,
    reused: float = 0.04,
    new_energy_share: float = 0.2,
    points: int = 48,
) -> list[SyntheticTrip]:
    """Trip logs for `settlements` (a market's frame): each shipper ships along one or two lanes between
    :data:`HUBS`; each carrier drives one energy type (a share `new_energy_share` electric or hydrogen).
    A share of trips has no log, is fabricated (a straight line at impossible speed, the wrong destination or
    a wrong odometer) or reuses an earlier genuine track re-timed; the rest are genuine and pass the checks.
    Seeded separately from :func:`generate_market`, which it does not change."""
    rng = np.random.default_rng(seed + 17)
    hubs = list(HUBS.values())
    shippers = pd.unique(settlements["shipper"].to_numpy(dtype=object))
    lanes = {s: rng.choice(len(hubs), size=(2, 2), replace=True) for s in shippers}
    for lane in lanes.values():
        for row in lane:
            if row[0] == row[1]:
                row[1] = (row[1] + 1) % len(hubs)
    carriers = pd.unique(settlements["carrier"].to_numpy(dtype=object))
    energy = dict(
        zip(
            carriers,
            rng.choice(
                np.array(ENERGY_TYPES, dtype=object),
                size=len(carriers),
                p=[0.55 * (1 - new_energy_share) / 0.8, 0.25 * (1 - new_energy_share) / 0.8]
                + [new_energy_share * 0.7, new_energy_share * 0.3],
            ),
            strict=True,
        )
    )
    kinds = rng.choice(
        np.array(TRIP_KINDS, dtype=object),
        size=len(settlements),
        p=[1 - missing - fabricated - reused, missing, fabricated, reused],
    )
    genuine: list[TripLog] = []
    out: list[SyntheticTrip] = []
    frame = settlements[["settlement_id", "shipper", "carrier", "invoice_date"]].itertuples(index=False)
    for (sid, shipper, carrier, invoice), kind in zip(frame, kinds, strict=True):
        lane = lanes[shipper][int(rng.integers(0, 2))]
        a, b = hubs[lane[0]], hubs[lane[1]]
        invoice = int(invoice)
        end = invoice - int(rng.uniform(0.1, 5) * DAY)
        if kind == "missing":
            out.append(SyntheticTrip(sid, None, a, b, invoice, kind))
            continue
        if kind == "reused" and genuine:
            src = genuine[int(rng.integers(0, len(genuine)))]
            shift = end - int(src.t[-1])
            log = TripLog(
                src.vehicle_id,
                src.energy_type,
                src.odometer_start_km,
                src.odometer_end_km,
                src.t + shift,
                src.lat.copy(),
                src.lon.copy(),
            )
            # presented for another settlement: its declared lane is the copied track's
            a0, b0 = (float(src.lat[0]), float(src.lon[0])), (float(src.lat[-1]), float(src.lon[-1]))
            out.append(SyntheticTrip(sid, log, a0, b0, invoice, kind))
            continue
        kind = "genuine" if kind == "reused" else kind
        t, lat, lon = _track(rng, a, b, end, points, float(rng.uniform(55, 80)))
        path = float(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
        odometer = float(rng.uniform(10_000, 500_000))
        driven = path * float(rng.normal(1.0, 0.02))
        if kind == "fabricated":
            trick = int(rng.integers(0, 3))
            if trick == 0:  # a straight line drawn at home, timed 20 minutes end to end
                lat, lon = np.linspace(a[0], b[0], points), np.linspace(a[1], b[1], points)
                t = end - np.linspace(1200, 0, points).astype(np.int64)
            elif trick == 1:  # a real trip to somewhere else
                far = [h for h in hubs if float(haversine_km(h[0], h[1], b[0], b[1])) > 300]
                other = far[int(rng.integers(0, len(far)))]
                t, lat, lon = _track(rng, a, other, end, points, 70.0)
                driven = float(haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
            else:  # the odometer tells another story
                driven = path * 0.4
        log = TripLog(
            _vehicle_id(str(carrier)),
            str(energy[carrier]),
            odometer,
            odometer + driven,
            t.astype(np.int64),
            lat,
            lon,
        )
        if kind == "genuine":
            genuine.append(log)
        out.append(SyntheticTrip(sid, log, a, b, invoice, kind))
    return out


def trips_frame(trips: Sequence[SyntheticTrip], settlements: pd.DataFrame) -> pd.DataFrame:
    """The trip verdicts as the frame scoring.features.party_features reads: settlement_id, shipper, platform,
    carrier, verdict, energy_type ("" without a log), delivered_at, invoice_date, origin, destination (hub
    coordinates as "lat,lon")."""
    checks = check_many([(t.settlement_id, t.log, t.origin, t.destination, t.invoice_date) for t in trips])
    base = settlements.set_index("settlement_id")
    ids = [t.settlement_id for t in trips]
    return pd.DataFrame(
        {
            "settlement_id": ids,
            "shipper": base.loc[ids, "shipper"].to_numpy(dtype=object),
            "platform": base.loc[ids, "platform"].to_numpy(dtype=object),
            "carrier": base.loc[ids, "carrier"].to_numpy(dtype=object),
            "verdict": [checks[i].verdict for i in ids],
            "energy_type": [checks[i].energy_type for i in ids],
            "delivered_at": np.array([checks[i].delivered_at for i in ids], dtype=np.int64),
            "invoice_date": np.array([t.invoice_date for t in trips], dtype=np.int64),
            "origin": [f"{t.origin[0]:.2f},{t.origin[1]:.2f}" for t in trips],
            "destination": [f"{t.destination[0]:.2f},{t.destination[1]:.2f}" for t in trips],
        }
    )


def generate_payouts(
    market: SyntheticMarket,
    *,
    seed: int = 0,
    annual_default_rate: float = 0.10,
    late_base: float = 0.10,
    dispute_rate: float = 0.02,
    terms_days: int = 7,
) -> pd.DataFrame:
    """What each settlement's platform owes its carrier (85 % of the freight), in the frame of
    scoring.features.PAYOUT_COLUMNS. Each platform has a latent quality: worse platforms pay carriers late
    more often, and a platform in distress (hazard `annual_default_rate` a year for an average one) stops
    paying: its unpaid payouts default. Lateness rises over the 150 days before distress, as shippers' does.
    Seeded separately from the market, which it does not change."""
    rng = np.random.default_rng(seed + 29)
    s = market.settlements
    platforms = pd.unique(s["platform"].to_numpy(dtype=object))
    index = {p: i for i, p in enumerate(platforms)}
    q = rng.standard_normal(len(platforms))
    p = market.params
    start = market.as_of - p.history_days * DAY
    end = market.as_of + p.horizon_days * DAY
    hazard = annual_default_rate / (365.0 * DAY) * np.exp(-q)
    distress = start + rng.exponential(1.0 / hazard).astype(np.int64)
    who = np.array([index[x] for x in s["platform"].to_numpy(dtype=object)], dtype=np.int64)
    m = len(s)
    delivery = s["invoice_date"].to_numpy(dtype=np.int64) - (rng.uniform(0.1, 5, m) * DAY).astype(np.int64)
    delivery = np.maximum(delivery, 946_684_800)
    due = delivery + terms_days * DAY
    warn = np.clip(1.0 - (distress[who] - due) / (150 * DAY), 0.0, 1.0)
    late = rng.uniform(0, 1, m) < _sigmoid(_logit(late_base) - 1.0 * q[who] + 2.5 * warn)
    delay = rng.gamma(2.0, 5.0 * (1 + 3 * warn))
    pay_at = np.where(late, due + (delay * DAY).astype(np.int64), due - (rng.uniform(0, 3, m) * DAY).astype(np.int64))
    pay_at = np.maximum(pay_at, delivery + 3600)
    horizon = np.minimum(distress[who], end)
    disputed = rng.uniform(0, 1, m) < dispute_rate
    dispute_at = delivery + (rng.uniform(2, 10, m) * DAY).astype(np.int64)
    open_dispute = disputed & (dispute_at <= horizon)
    is_paid = (pay_at <= horizon) & ~open_dispute & (delivery <= end)
    defaulted = ~is_paid & (distress[who] <= end) & (delivery < distress[who])
    status = np.full(m, "Confirmed", dtype=object)
    status_date = delivery.copy()
    overdue = ~is_paid & (due < horizon)
    status[overdue], status_date = "Overdue", np.where(overdue, due + DAY, status_date)
    status[open_dispute], status_date = "Disputed", np.where(open_dispute, dispute_at, status_date)
    status[is_paid], status_date = "Paid", np.where(is_paid, pay_at, status_date)
    status[defaulted], status_date = "Defaulted", np.where(defaulted, distress[who], status_date)
    amount = np.maximum(s["amount"].to_numpy(dtype=np.int64) * 85 // 100, 1)
    return pd.DataFrame(
        {
            "payout_id": s["settlement_id"].to_numpy(dtype=object),
            "platform": s["platform"].to_numpy(dtype=object),
            "carrier": s["carrier"].to_numpy(dtype=object),
            "amount": amount,
            "delivery_date": delivery,
            "due_date": due,
            "paid_date": np.where(is_paid, pay_at, 0).astype(np.int64),
            "status": status,
            "status_date": status_date.astype(np.int64),
        }
    )


__all__ = [
    "HUBS",
    "PROFILES",
    "MarketParams",
    "SyntheticMarket",
    "TRIP_KINDS",
    "SyntheticTrip",
    "carrier_labels",
    "generate_market",
    "generate_payouts",
    "generate_trips",
    "market_profile",
    "platform_labels",
    "role_market",
    "role_population",
    "trip_verdicts",
    "trips_frame",
]


def role_population(
    market: SyntheticMarket,
    role: str,
    *,
    payouts: pd.DataFrame | None = None,
    trips: pd.DataFrame | None = None,
    as_of: int | None = None,
    population: str | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """A labelled population of `role` (shipper, platform or carrier) for the factory to train that role's
    card: the role's settlement features and its party features (scoring.features.party_features) as of
    ``as_of`` (default the market's), and its labels (:func:`scoring.factory.role_training_set`, which the
    chain's history goes through too). A platform card needs a market with many platforms
    (``generate_market(n_platforms=...)``)."""
    if role not in ("shipper", "platform", "carrier"):
        raise InvalidData(f"role must be shipper, platform or carrier; got {role!r}.")
    if role == "platform" and payouts is None:
        raise InvalidData("a platform population needs the payouts (generate_payouts).")
    t = market.as_of if as_of is None else as_of
    return role_training_set(
        market.settlements,
        t,
        role,
        payouts=payouts,
        trips=trips,
        horizon_days=market.params.horizon_days,
        population=population,
    )


def trip_verdicts(
    market: SyntheticMarket,
    *,
    seed: int = 0,
    missing: float = 0.10,
    implausible: float = 0.04,
    new_energy_share: float = 0.2,
) -> pd.DataFrame:
    """Trip verdicts of every settlement (the frame of scoring.features.TRIP_COLUMNS), drawn directly rather
    than from GPS tracks (:func:`generate_trips` draws the logs and checks them: ~0.3 ms a trip, too slow for a
    training population of 100,000 settlements). A carrier's trips go missing or are implausible more often
    when its latent quality is low and, over the ``warning_days`` before its distress, increasingly so:
    fabricated trips precede failed deliveries. Seeded on its own; the market does not change."""
    rng = np.random.default_rng([seed, 31])
    s = market.settlements
    m = len(s)
    carriers = pd.unique(s["carrier"].to_numpy(dtype=object))
    if market.carriers is not None:
        state = market.carriers.reindex(carriers)
        q = state["quality"].to_numpy(dtype=np.float64)
        distress = state["distress"].to_numpy(dtype=np.int64)
    else:
        q, distress = np.zeros(len(carriers)), np.full(len(carriers), _NEVER, dtype=np.int64)
    index = {c: i for i, c in enumerate(carriers)}
    who = np.array([index[c] for c in s["carrier"].to_numpy(dtype=object)], dtype=np.int64)
    inv = s["invoice_date"].to_numpy(dtype=np.int64)
    warn = _carrier_warning(distress[who], inv, market.params.warning_days)
    p_missing = _sigmoid(_logit(missing) - 0.3 * q[who] + 1.0 * warn)
    p_bad = _sigmoid(_logit(implausible) - 0.6 * q[who] + 3.0 * warn)
    u = rng.uniform(0, 1, m)
    verdict = np.where(u < p_missing, "no log", np.where(u < p_missing + p_bad, "implausible", "verified"))
    energy = rng.choice(
        np.array(ENERGY_TYPES, dtype=object),
        size=len(carriers),
        p=[0.55 * (1 - new_energy_share) / 0.8, 0.25 * (1 - new_energy_share) / 0.8]
        + [new_energy_share * 0.7, new_energy_share * 0.3],
    )
    return pd.DataFrame(
        {
            "settlement_id": s["settlement_id"].to_numpy(dtype=object),
            "shipper": s["shipper"].to_numpy(dtype=object),
            "platform": s["platform"].to_numpy(dtype=object),
            "carrier": s["carrier"].to_numpy(dtype=object),
            "verdict": verdict.astype(object),
            "energy_type": np.where(verdict == "no log", "", energy[who]).astype(object),
            "invoice_date": inv,
        }
    )


#: what :func:`role_market` draws beyond the profile: carriers fail, and a platform population needs many platforms
ROLE_MARKET: dict[str, object] = {"carrier_default_rate": 0.15}
#: the payouts of a role market: platforms fall into distress often enough for a population to hold defaults
ROLE_PAYOUT_DEFAULT_RATE = 0.4


def role_market(
    role: str,
    n_subjects: int,
    *,
    seed: int = 1,
    market: str = "standard",
    as_of: int | None = None,
    population: str | None = None,
) -> tuple[pd.DataFrame, pd.Series, int]:
    """Features, labels and as-of date of a synthetic `role` population (carrier or platform; shipper too) for
    ``model train --role R --synthetic N``: a market of profile `market` with `n_subjects` shippers, carriers
    that fail (:data:`ROLE_MARKET`), one carrier per 2 shippers (at least 200), one platform per 4 (at least
    50), the payouts its platforms owe and its trip verdicts."""
    overrides: dict[str, object] = {**ROLE_MARKET, "n_subjects": n_subjects, "seed": seed}
    overrides["n_platforms"] = max(50, n_subjects // 4)
    overrides["n_carriers"] = max(200, n_subjects // 2)
    if as_of is not None:
        overrides["as_of"] = as_of
    drawn = market_profile(market, **overrides)
    payouts = generate_payouts(drawn, seed=seed, annual_default_rate=ROLE_PAYOUT_DEFAULT_RATE)
    trips = trip_verdicts(drawn, seed=seed)
    X, y = role_population(drawn, role, payouts=payouts, trips=trips, population=population)
    return X, y, drawn.as_of
