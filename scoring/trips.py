"""IoT trip evidence: the trip log format and pure plausibility checks of one trip against what was declared.

A trip log is a JSON document stored and hashed like a waybill (creditshare.domain.evidence)::

    {
      "vehicle_id": "沪A12345" or any 1-64 character id,
      "energy_type": "diesel" | "lng" | "electric" | "hydrogen",
      "odometer_start_km": 120345.2,
      "odometer_end_km": 121562.9,
      "points": [[unix_seconds, latitude, longitude], ...]      (2 to 100,000 points, time increasing)
    }

:func:`check_trip` judges one trip against the settlement's declared origin and destination and its invoice
date: the track starts near the origin and ends near the destination; the path distance is plausible against
the great-circle distance (no shorter, not a wild detour) and against the odometer; no segment is faster than
a truck can drive; the delivery (the last point) lies before the invoice and not long before it. A trip
passing every check is ``verified``, one failing any is ``implausible`` with the reasons; a settlement without
a log is ``no log``. :func:`find_reused` finds the same track presented for more than one settlement (a
fabricated "scene" reusing a real trip): the track's fingerprint ignores the clock (a copy re-timed
keeps it). A copy with every fix moved a little is not found: a known limit.

The checks are vectorised with numpy over the points; :func:`check_trip_loop` is the same judgement as a plain
per-point Python loop, kept only as the benchmark's baseline (bench/trip_bench.py) and to test that both agree.
Nothing here imports the chain: the domain (creditshare.domain.trips) reads the logs and records the verdicts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from scoring.errors import InvalidData

ENERGY_TYPES: Final = ("diesel", "lng", "electric", "hydrogen")
#: new-energy vehicles (China's NEV classes for trucks): battery-electric and hydrogen fuel cell; LNG is a
#: cleaner fossil fuel, not new energy
NEW_ENERGY: Final = frozenset({"electric", "hydrogen"})
VERDICTS: Final = ("no log", "verified", "implausible")
MAX_POINTS: Final = 100_000
EARTH_RADIUS_KM: Final = 6371.0088
DAY: Final = 86_400
EARLIEST: Final = 946_684_800  # 2000-01-01, the ledger's bound
LATEST: Final = 4_102_444_799  # 2099-12-31


@dataclass(frozen=True)
class TripLog:
    vehicle_id: str
    energy_type: str
    odometer_start_km: float
    odometer_end_km: float
    t: np.ndarray  # int64 unix seconds
    lat: np.ndarray  # float64 degrees
    lon: np.ndarray  # float64 degrees

    def to_json(self) -> dict[str, Any]:
        return {
            "vehicle_id": self.vehicle_id,
            "energy_type": self.energy_type,
            "odometer_start_km": self.odometer_start_km,
            "odometer_end_km": self.odometer_end_km,
            "points": [[int(a), float(b), float(c)] for a, b, c in zip(self.t, self.lat, self.lon, strict=True)],
        }

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


@dataclass(frozen=True)
class TripBounds:
    """What a plausible trip may look like; defaults for Chinese road freight."""

    endpoint_km: float = 25.0
    """How far the first point may lie from the origin, and the last from the destination."""
    min_path_ratio: float = 0.9
    """Path distance at least this share of the great-circle distance (less is a shortcut through nowhere)."""
    max_path_ratio: float = 2.5
    """Path distance at most this multiple of the great-circle distance (plus both endpoint radii)."""
    odometer_tolerance: float = 0.15
    """Odometer distance within this share of the path distance (plus 5 km)."""
    max_speed_kmh: float = 130.0
    """No segment faster than this (trucks are limited to 100 km/h in China; GPS noise on top)."""
    max_days_before_invoice: int = 60
    """The delivery (last point) lies at most this long before the invoice date."""
    invoice_grace_days: int = 1
    """...and at most this long after it (a same-day invoice may precede the last GPS point)."""


@dataclass(frozen=True)
class TripCheck:
    verdict: str
    reasons: tuple[str, ...] = ()
    path_km: float = 0.0
    fingerprint: str = ""
    energy_type: str = ""
    delivered_at: int = 0
    details: dict[str, float] = field(default_factory=dict)


def _number(raw: Mapping[str, Any], key: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidData(f"trip log: {key} must be a non-negative number of km; got {value!r}.")
    return float(value)


def parse_trip_log(data: bytes | str) -> TripLog:
    """Reads and checks a trip log's shape (not its plausibility); raises InvalidData naming the problem."""
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidData(f"trip log is not JSON: {err}.") from err
    if not isinstance(raw, dict):
        raise InvalidData("trip log must be a JSON object with vehicle_id, energy_type, odometer and points.")
    vehicle = raw.get("vehicle_id")
    if not isinstance(vehicle, str) or not 1 <= len(vehicle) <= 64:
        raise InvalidData(f"trip log: vehicle_id must be 1-64 characters; got {vehicle!r}.")
    energy = raw.get("energy_type")
    if energy not in ENERGY_TYPES:
        raise InvalidData(f"trip log: energy_type must be one of {', '.join(ENERGY_TYPES)}; got {energy!r}.")
    start, end = _number(raw, "odometer_start_km"), _number(raw, "odometer_end_km")
    points = raw.get("points")
    if not isinstance(points, list) or not 2 <= len(points) <= MAX_POINTS:
        raise InvalidData(f"trip log: points must be a list of 2 to {MAX_POINTS} [time, lat, lon] triples.")
    try:
        array = np.array(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidData("trip log: every point must be [unix_seconds, latitude, longitude] numbers.") from err
    if array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all():
        raise InvalidData("trip log: every point must be [unix_seconds, latitude, longitude] numbers.")
    t = array[:, 0]
    if (t != np.floor(t)).any() or t.min() < EARLIEST or t.max() > LATEST:
        raise InvalidData("trip log: point times must be whole unix seconds between 2000 and 2099.")
    if (np.abs(array[:, 1]) > 90).any() or (np.abs(array[:, 2]) > 180).any():
        raise InvalidData("trip log: latitudes must lie in [-90, 90] and longitudes in [-180, 180].")
    return TripLog(vehicle, str(energy), start, end, t.astype(np.int64), array[:, 1].copy(), array[:, 2].copy())


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km (numpy arrays or floats)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _judge(
    log: TripLog,
    path: float,
    max_speed: float,
    backwards: bool,
    start_off: float,
    end_off: float,
    origin: tuple[float, float],
    destination: tuple[float, float],
    invoice_date: int,
    b: TripBounds,
) -> list[str]:
    """The reasons a trip is implausible, from its measures (shared by the numpy and the loop versions)."""
    reasons = []
    if backwards:
        reasons.append("point times do not increase")
    if start_off > b.endpoint_km:
        reasons.append(f"starts {start_off:.0f} km from the declared origin")
    if end_off > b.endpoint_km:
        reasons.append(f"ends {end_off:.0f} km from the declared destination")
    direct = float(haversine_km(origin[0], origin[1], destination[0], destination[1]))
    if path < b.min_path_ratio * direct - 2 * b.endpoint_km:
        reasons.append(f"path {path:.0f} km is shorter than the {direct:.0f} km between origin and destination")
    if path > b.max_path_ratio * direct + 2 * b.endpoint_km:
        reasons.append(f"path {path:.0f} km is a detour of over {b.max_path_ratio:g}x the {direct:.0f} km")
    odometer = log.odometer_end_km - log.odometer_start_km
    if abs(odometer - path) > b.odometer_tolerance * path + 5:
        reasons.append(f"odometer shows {odometer:.0f} km for a {path:.0f} km track")
    if max_speed > b.max_speed_kmh:
        reasons.append(f"a segment at {max_speed:.0f} km/h")
    delivered = int(log.t[-1])
    if delivered > invoice_date + b.invoice_grace_days * DAY:
        reasons.append("delivered after the invoice date")
    elif delivered < invoice_date - b.max_days_before_invoice * DAY:
        reasons.append(f"delivered more than {b.max_days_before_invoice} days before the invoice date")
    return reasons


def check_trip(
    log: TripLog,
    origin: tuple[float, float],
    destination: tuple[float, float],
    invoice_date: int,
    bounds: TripBounds | None = None,
) -> TripCheck:
    """Judges one trip (vectorised over its points); see the module docstring for the checks."""
    b = bounds or TripBounds()
    seg = haversine_km(log.lat[:-1], log.lon[:-1], log.lat[1:], log.lon[1:])
    dt = np.diff(log.t)
    path = float(seg.sum())
    moving = dt > 0
    speeds = np.where(moving, seg / np.maximum(dt, 1) * 3600.0, 0.0)
    # two fixes at the same second far apart is a jump too
    jump = bool(((~moving) & (seg > 0.5)).any())
    max_speed = float(speeds.max()) if len(speeds) else 0.0
    if jump:
        max_speed = max(max_speed, math.inf)
    start_off = float(haversine_km(log.lat[0], log.lon[0], origin[0], origin[1]))
    end_off = float(haversine_km(log.lat[-1], log.lon[-1], destination[0], destination[1]))
    reasons = _judge(
        log, path, max_speed, bool((dt < 0).any()), start_off, end_off, origin, destination, invoice_date, b
    )
    return TripCheck(
        "implausible" if reasons else "verified",
        tuple(reasons),
        path,
        track_fingerprint(log),
        log.energy_type,
        int(log.t[-1]),
        {"max_speed_kmh": max_speed, "start_off_km": start_off, "end_off_km": end_off},
    )


def check_trip_loop(
    log: TripLog,
    origin: tuple[float, float],
    destination: tuple[float, float],
    invoice_date: int,
    bounds: TripBounds | None = None,
) -> TripCheck:
    """The same judgement as :func:`check_trip` with a plain per-point Python loop (the benchmark's baseline)."""
    b = bounds or TripBounds()
    path, max_speed, backwards = 0.0, 0.0, False
    t, lat, lon = log.t.tolist(), log.lat.tolist(), log.lon.tolist()
    for i in range(1, len(t)):
        p1, p2 = math.radians(lat[i - 1]), math.radians(lat[i])
        dl = math.radians(lon[i] - lon[i - 1])
        a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        d = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))
        path += d
        dt = t[i] - t[i - 1]
        if dt < 0:
            backwards = True
        if dt > 0:
            max_speed = max(max_speed, d / dt * 3600.0)
        elif d > 0.5:
            max_speed = math.inf
    start_off = float(haversine_km(lat[0], lon[0], origin[0], origin[1]))
    end_off = float(haversine_km(lat[-1], lon[-1], destination[0], destination[1]))
    reasons = _judge(log, path, max_speed, backwards, start_off, end_off, origin, destination, invoice_date, b)
    return TripCheck(
        "implausible" if reasons else "verified", tuple(reasons), path, track_fingerprint(log), log.energy_type, t[-1]
    )


def track_fingerprint(log: TripLog) -> str:
    """The track's identity without its clock: every fix rounded to 1e-4 degrees (about 10 m) and the time
    gaps between fixes, hashed. A track presented again re-timed (every timestamp shifted) keeps its
    fingerprint; two real trips never share one, even on the same road (their fixes and GPS noise differ).
    What goes on chain, so that a later batch finds a track presented before."""
    fixes = np.round(np.c_[log.lat, log.lon] * 10_000).astype(np.int64)
    gaps = np.diff(log.t).astype(np.int64)
    return hashlib.sha256(fixes.tobytes() + b"|" + gaps.tobytes()).hexdigest()


def find_reused(fingerprints: Mapping[str, str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settlements whose track another settlement presented first: ``{settlement: that settlement}``.

    `fingerprints` maps settlement -> :func:`track_fingerprint`, in the order presented; `known` maps
    fingerprints recorded earlier (on chain) to the settlement that presented them."""
    first: dict[str, str] = dict(known or {})
    reused: dict[str, str] = {}
    for settlement, print_ in fingerprints.items():
        owner = first.setdefault(print_, settlement)
        if owner != settlement:
            reused[settlement] = owner
    return reused


def check_many(
    trips: Sequence[tuple[str, TripLog | None, tuple[float, float], tuple[float, float], int]],
    known: Mapping[str, str] | None = None,
    bounds: TripBounds | None = None,
) -> dict[str, TripCheck]:
    """Judges many trips ``(settlement, log or None, origin, destination, invoice_date)`` and flags reused
    tracks (within the batch, and against `known`: fingerprint -> settlement recorded earlier): a reused
    track is implausible whatever else it shows."""
    out: dict[str, TripCheck] = {}
    for settlement, log, origin, destination, invoice in trips:
        out[settlement] = TripCheck("no log") if log is None else check_trip(log, origin, destination, invoice, bounds)
    prints = {s: c.fingerprint for s, c in out.items() if c.verdict != "no log"}
    for settlement, owner in find_reused(prints, known).items():
        c = out[settlement]
        reason = f"the same track as settlement {owner}"
        out[settlement] = TripCheck(
            "implausible", (*c.reasons, reason), c.path_km, c.fingerprint, c.energy_type, c.delivered_at, c.details
        )
    return out
