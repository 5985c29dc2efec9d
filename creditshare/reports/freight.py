"""What a lender reads beyond the score: reasons as sentences, the model's features, lanes and green freight.

- **Reasons** (issue #17 item 4): a reason code is a card feature; it reads as the sentence
  ``scoring.features.describe`` writes, with the subject's value of the feature as of its score's date
  (recomputed from this node's chain index, as the oracles computed it) and the direction ("low", "high")
  of the value's bin against the feature's best bin on the card. Where the value cannot be had (a
  feature this node cannot recompute, a card without that feature) the sentence is said without it.
- **Model page**: every card feature with its description, bins and points.
- **Lanes** (item 5): a subject's origin-destination pairs, from the trip logs recorded on chain: TripRegistry
  holds each verdict with the log's digest, the log is read from the evidence store and checked against
  that digest, and the lane runs from the track's first fix to its last (a verified trip's track starts
  at the declared origin and ends at the declared destination; the declared points themselves are not
  recorded). A place is the nearest freight hub within 25 km, else its coordinates to 0.1°. Per lane:
  trips, settlements' amount, verified share.
- **Green freight** (item 6): the share of logged trips on new-energy trucks (electric, hydrogen) among a
  subject's settlements, in any role.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from creditshare.bindings.settlement_ledger import Settlement
from creditshare.core.chain import ChainClient
from creditshare.core.errors import CreditShareError
from creditshare.core.ids import cid_from_digest, to_hex
from creditshare.domain.index import ChainIndex, settlements_as_of

ROLES: Final = ("shipper", "platform", "carrier")
NEW_ENERGY: Final = ("electric", "hydrogen")
HUB_RADIUS_KM: Final = 25.0
_ENERGY: Final = {0: "", 1: "diesel", 2: "lng", 3: "electric", 4: "hydrogen"}
_VERDICT: Final = {1: "no log", 2: "verified", 3: "implausible"}
_ENDS_CACHE: OrderedDict[bytes, tuple[tuple[float, float], tuple[float, float]] | None] = OrderedDict()
_ENDS_CACHE_SIZE: Final = 100_000


# -- reasons and the model page ----------------------------------------------------------------------------


def feature_phrase(feature: str) -> str:
    """What a feature measures, without a value ("on-time payment share of due invoices as shipper"); a
    feature the scoring package does not describe (e.g. cross-platform `xp_*`) is its name."""
    from scoring.features import FEATURE_DESCRIPTIONS

    template = FEATURE_DESCRIPTIONS.get(feature)
    return feature if template is None else template.removesuffix(": {value}")


def _card_features(card: Any) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in card.to_dict().get("features", [])} if card is not None else {}


def direction(feature: dict[str, Any], value: Any) -> str | None:
    """ "low" or "high": where the value's bin lies against the feature's best bin on the card (None when the
    value is missing, categorical or in the best bin)."""
    if value is None or feature.get("kind") == "categorical":
        return None
    points = list(feature["points"])
    if not points:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(v) or int(v) in set(feature.get("special_codes", [])):
        return None
    edges = [float(e) for e in feature.get("edges", [])]
    here = bisect.bisect_right(edges, v)
    best = max(range(len(points)), key=lambda i: points[i])
    if here == best:
        return None
    return "low" if here < best else "high"


def reason_sentence(
    feature: str, value: Any = None, card_feature: dict[str, Any] | None = None, known: bool = True
) -> str:
    """One reason as a sentence with the subject's `value` (None: missing, "no data"); without a `known` value
    the sentence is said without one."""
    from scoring.errors import InvalidData
    from scoring.features import describe

    if not known:
        return feature_phrase(feature)
    way = direction(card_feature, value) if card_feature is not None else None
    try:
        return describe(feature, value, way)
    except InvalidData:  # a feature the scoring package does not describe
        return f"{feature}{' is ' + way if way else ''}: {'no data' if value is None else value}"


def reason_sentences(card: Any, reasons: Sequence[str] | None, values: Mapping[str, Any] | None) -> list[str] | None:
    """The reasons of a score as sentences (None when the reason codes were not recovered); a reason whose
    value is not in `values` is said without a value."""
    if reasons is None:
        return None
    table = _card_features(card)
    values = values or {}
    return [reason_sentence(r, values.get(r), table.get(r), known=r in values) for r in reasons]


def _bin_label(feature: dict[str, Any], i: int) -> str:
    if feature.get("kind") == "categorical":
        cats = feature.get("categories", [])
        return ", ".join(map(str, cats[i])) if i < len(cats) else "-"
    edges = list(feature.get("edges", []))
    low = "-inf" if i == 0 else str(edges[i - 1])
    high = "+inf" if i >= len(edges) else str(edges[i])
    return f"[{low}, {high})"


def model_features(card: Any) -> list[dict[str, Any]]:
    """Every card feature: name, description, kind, bins (range and points), special and missing points."""
    out = []
    for f in card.to_dict().get("features", []):
        out.append(
            {
                "name": f["name"],
                "description": feature_phrase(f["name"]),
                "kind": f["kind"],
                "bins": [{"bin": _bin_label(f, i), "points": p} for i, p in enumerate(f["points"])],
                "special_points": f["special_points"],
                "missing_points": f["missing_points"],
            }
        )
    return out


def feature_values(client: ChainClient, card: Any, as_of: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Each subject's (0x hex -> its score's as-of time) card feature values, recomputed from this node's chain
    index as the oracles compute them (settlement features; party features where the card uses them and
    their sources are deployed). Values are ints or None (missing); a subject or feature that cannot be
    recomputed is left out."""
    import pandas as pd

    from scoring.features import FEATURE_NAMES, PARTY_FEATURE_NAMES, PARTY_FEATURES, build_features, party_features

    names = list(card.feature_names) if card is not None else []
    wanted = [n for n in names if n in FEATURE_NAMES or n in PARTY_FEATURE_NAMES]
    if not wanted or not as_of:
        return {}
    subjects = sorted(as_of)
    prefixes = {n.split("_", 1)[0] for n in wanted}
    roles = [r for r, p in (("shipper", "shp"), ("platform", "plt"), ("carrier", "car")) if p in prefixes]
    try:
        if roles == ["shipper"] and not set(wanted) & set(PARTY_FEATURE_NAMES):
            frame = settlements_as_of(client, subjects=subjects)
        else:
            frame = settlements_as_of(client, subjects=subjects, roles=("shipper", "platform", "carrier"))
        payouts = trips = None
        party = [r for r in roles if set(PARTY_FEATURES[r]) & set(wanted)]
        if party:
            payouts, trips = _party_sources(client)
        out: dict[str, dict[str, Any]] = {}
        for t in sorted(set(as_of.values())):
            group = [s for s in subjects if as_of[s] == t]
            parts = [build_features(frame, t, subjects=group, roles=roles)]
            for role in party:
                parts.append(party_features(frame, t, payouts=payouts, trips=trips, subjects=group, role=role))
            for part in parts:
                for subject, row in part.iterrows():
                    mine = out.setdefault(str(subject), {})
                    for name in wanted:
                        if name in row.index:
                            v = row[name]
                            mine[name] = None if pd.isna(v) else int(v)
        return out
    except (CreditShareError, ValueError, KeyError) as err:  # a source this node cannot read: say it without values
        import logging

        logging.getLogger(__name__).debug("feature values not recomputed: %s", err)
        return {}


def _party_sources(client: ChainClient) -> tuple[Any, Any]:
    payouts = trips = None
    addresses = client.deployment.addresses
    if "PayoutLedger" in addresses:
        from creditshare.bindings.payout_ledger import PayoutLedger, payout_frame

        payouts = payout_frame(PayoutLedger(client))
    if "TripRegistry" in addresses:
        from creditshare.bindings.settlement_ledger import SettlementLedger
        from creditshare.bindings.trip_registry import TripRegistry
        from creditshare.domain.trips import trip_frame

        trips = trip_frame(SettlementLedger(client), TripRegistry(client))
    return payouts, trips


def with_reason_text(client: ChainClient, items: list[dict[str, Any]], cards: Mapping[str, Any]) -> None:
    """Adds `reason_text` (sentences, or None when the reasons were not recovered) to each scored item of
    `verify_scores`; `cards` maps a model hash to its card. An item's model (the entry's: its role's champion
    when a report scores several roles) missing from `cards` has its card fetched from the evidence store by
    the registry's digest; without one its reasons are said without values."""
    known: dict[str, Any] = dict(cards)
    groups: dict[str, dict[str, int]] = {}
    for item in items:
        if not item.get("scored") or item.get("reasons") is None:
            continue
        model_hash = item["model_hash"]
        if model_hash not in known:
            known[model_hash] = _published_card(client, model_hash)
        if known[model_hash] is not None:
            groups.setdefault(model_hash, {})[item["subject"]] = int(item["as_of"])
    values: dict[str, dict[str, Any]] = {}
    for model_hash, as_of in groups.items():
        values.update(feature_values(client, known[model_hash], as_of))
    for item in items:
        if item.get("scored"):
            card = known.get(item.get("model_hash", ""))
            item["reason_text"] = reason_sentences(card, item.get("reasons"), values.get(item["subject"]))


def _published_card(client: ChainClient, model_hash: str) -> Any:
    """The registered card of `model_hash` from the evidence store, or None (not published, not registered)."""
    from creditshare.bindings.model_registry import ModelRegistry
    from creditshare.domain.cards import card_of_model

    try:
        return card_of_model(ModelRegistry(client), client.settings.evidence_dir, bytes.fromhex(model_hash[2:]))
    except (CreditShareError, ValueError):
        return None


# -- trips: lanes and green freight -------------------------------------------------------------------------


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def place(point: tuple[float, float]) -> str:
    """A point's name: the nearest freight hub within HUB_RADIUS_KM, else its coordinates to 0.1°."""
    from scoring.synthetic import HUBS

    name, hub = min(HUBS.items(), key=lambda kv: _distance_km(point, kv[1]))
    if _distance_km(point, hub) <= HUB_RADIUS_KM:
        return name
    lat, lon = point
    return f"{abs(lat):.1f}°{'N' if lat >= 0 else 'S'} {abs(lon):.1f}°{'E' if lon >= 0 else 'W'}"


def _track_ends(evidence_dir: Path, digest: bytes) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The first and last fix of the trip log stored under `digest` (checked against it), or None."""
    if digest in _ENDS_CACHE:
        return _ENDS_CACHE[digest]
    from creditshare.domain import evidence as ev
    from scoring.errors import InvalidData
    from scoring.trips import parse_trip_log

    ends: tuple[tuple[float, float], tuple[float, float]] | None
    try:
        log = parse_trip_log(ev.load(evidence_dir, cid_from_digest(digest)))
        ends = ((float(log.lat[0]), float(log.lon[0])), (float(log.lat[-1]), float(log.lon[-1])))
    except (CreditShareError, InvalidData, IndexError):
        return None  # not cached: the store may be reachable later
    _ENDS_CACHE[digest] = ends
    if len(_ENDS_CACHE) > _ENDS_CACHE_SIZE:
        _ENDS_CACHE.popitem(last=False)
    return ends


def trip_verdicts(client: ChainClient, ids: Iterable[bytes]) -> dict[bytes, dict[str, Any]]:
    """The latest TripRegistry verdict of each settlement that has one (from this node's chain index):
    verdict, energy, log digest. Empty where TripRegistry is not deployed."""
    wanted = list(dict.fromkeys(ids))
    if not wanted or "TripRegistry" not in client.deployment.addresses:
        return {}
    out: dict[bytes, dict[str, Any]] = {}
    with ChainIndex(client) as index:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = index.rows("trips", f"settlementId IN ({', '.join('?' * len(chunk))})", chunk)
            for row in rows:  # oldest first: the latest verdict wins
                out[bytes(row["settlementId"])] = {
                    "verdict": _VERDICT.get(int(row["verdict"]), "none"),
                    "energy": _ENERGY.get(int(row["energy"]), ""),
                    "log_digest": bytes(row["logDigest"]),
                }
    return out


def green_of(verdicts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """New-energy share of the logged trips among `verdicts` (basis points; None without a logged trip)."""
    by_energy: dict[str, int] = {}
    logged = new = 0
    for v in verdicts:
        if v["verdict"] in ("verified", "implausible") and v["energy"]:
            logged += 1
            new += v["energy"] in NEW_ENERGY
            by_energy[v["energy"]] = by_energy.get(v["energy"], 0) + 1
    return {
        "logged_trips": logged,
        "new_energy_trips": new,
        "new_energy_bps": new * 10_000 // logged if logged else None,
        "by_energy": dict(sorted(by_energy.items())),
    }


def trip_facts(client: ChainClient, records: Sequence[Settlement]) -> dict[str, Any]:
    """A subject's lanes and green share from its settlements' recorded trips (see the module doc)."""
    verdicts = trip_verdicts(client, [r.id for r in records])
    evidence_dir = client.settings.evidence_dir
    lanes: dict[tuple[str, str], dict[str, Any]] = {}
    without = unreadable = 0
    for r in records:
        v = verdicts.get(r.id)
        if v is None or v["verdict"] not in ("verified", "implausible") or not any(v["log_digest"]):
            without += 1
            continue
        ends = _track_ends(evidence_dir, v["log_digest"])
        if ends is None:
            unreadable += 1
            continue
        key = (place(ends[0]), place(ends[1]))
        lane = lanes.setdefault(
            key,
            {"origin": key[0], "destination": key[1], "trips": 0, "verified": 0, "amount_fen": 0, "new_energy": 0},
        )
        lane["trips"] += 1
        lane["verified"] += v["verdict"] == "verified"
        lane["amount_fen"] += r.amount
        lane["new_energy"] += v["energy"] in NEW_ENERGY
    rows = sorted(lanes.values(), key=lambda x: (-x["trips"], x["origin"], x["destination"]))
    for lane in rows:
        lane["verified_bps"] = lane["verified"] * 10_000 // lane["trips"]
    return {
        "lanes": rows,
        "lanes_note": {
            "settlements_without_log": without,
            "logs_unreadable": unreadable,
            "source": "trip logs recorded in TripRegistry (digest on chain, log from the evidence store): "
            "first fix to last fix, named by the nearest hub within 25 km",
        },
        "green": green_of(verdicts.values()),
    }


def new_energy_shares(client: ChainClient, subjects: Sequence[bytes]) -> dict[str, dict[str, Any]]:
    """Green freight of each subject (0x hex -> green_of) over its settlements in any role."""
    with ChainIndex(client) as index:
        records = {to_hex(s): index.records_of(s, ROLES) for s in subjects}
    verdicts = trip_verdicts(client, [r.id for rs in records.values() for r in rs])
    return {s: green_of(verdicts[r.id] for r in rs if r.id in verdicts) for s, rs in records.items()}


def bar_svg(lanes: Sequence[dict[str, Any]], limit: int = 12) -> str:
    """The lanes as horizontal bars (trips; the verified part dark), a plain SVG without scripts or styles."""
    import html

    shown = list(lanes[:limit])
    if not shown:
        return ""
    width, row, label = 640, 22, 260
    top = max(lane["trips"] for lane in shown)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(shown) + 8}" '
        f'role="img" aria-label="lanes by trips, verified share dark">'
    ]
    for i, lane in enumerate(shown):
        y = 4 + i * row
        w = (width - label - 60) * lane["trips"] / top
        wv = (width - label - 60) * lane["verified"] / top
        name = html.escape(f"{lane['origin']} → {lane['destination']}")
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{name}</text>')
        parts.append(f'<rect x="{label}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#9ecae1"/>')
        parts.append(f'<rect x="{label}" y="{y}" width="{wv:.1f}" height="{row - 6}" fill="#3182bd"/>')
        parts.append(
            f'<text x="{label + w + 4:.1f}" y="{y + 15}" font-size="12">{lane["trips"]} '
            f"({lane['verified_bps'] / 100:g} % verified)</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
