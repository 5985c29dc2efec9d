"""Score batches on chain: propose a report from the ledger and the champion card, sign it (each
operator recomputes it first), submit it with k signatures, and read scores back.

The k-of-n exchange is a report file passed between operators: each `sign`
recomputes the batch from its own view of the chain and its own copy of the
card, and signs only if its entries hash to the same root.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address

from creditshare.bindings.model_registry import ModelRegistry, SubjectRole
from creditshare.bindings.score_oracle import MAX_REPORT_TTL, ScoreOracle
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput, TransactionRejected
from creditshare.core.ids import parse_bytes32, to_hex
from creditshare.domain.cards import CardUnavailable, card_of_model
from creditshare.domain.index import ChainIndex, settlements_as_of
from oracle.batch import build_reports, score_subjects
from oracle.mpc_features import merge_aggregates
from oracle.provenance import MODEL_STATUS
from oracle.report import Entry, ScoreReport, entries_root, order_signatures, recover_signer, report_digest, sign_report
from scoring.features import build_features, party_features
from scoring.model_card import TIERS

#: roles in the order of ModelRegistry.SubjectRole
ROLE_ORDER = ("shipper", "carrier", "platform")


def _as_cards(card: Any) -> list[Any]:
    """One card or several (a list or tuple of cards) as a list."""
    return list(card) if isinstance(card, (list, tuple)) else [card]


def role_cards(client: ChainClient, card: Any, *, block: int | None = None) -> dict[str, Any]:
    """The champion card of every role (shipper, carrier, platform) as of `block`.

    `card` is this operator's copy of one or more champion cards: each must be the champion of its role
    (else InvalidInput, as before roles). A role whose champion was not given is read from the evidence store
    by the registry's digest (domain.cards.card_of_model: `model register` publishes every card there); a
    role without a champion, or whose card is not in the store, is left out (its subjects are not scored)."""
    registry = ModelRegistry(client)
    champions = {r.label: h for r, h in registry.champions(block=block).items()}
    out: dict[str, Any] = {}
    for given in _as_cards(card):
        role = getattr(given, "role", "shipper")
        champion = champions.get(role)
        if champion is None or to_hex(champion) != given.model_hash:
            what = "champion" if role == "shipper" else f"{role} champion"
            raise InvalidInput(
                f"the card {given.model_hash} is not the registered {what} "
                f"({to_hex(champion) if champion else 'none promoted'})."
            )
        out[role] = given
    for role, champion in champions.items():
        if role not in out:
            with contextlib.suppress(CardUnavailable):
                out[role] = card_of_model(registry, client.settings.evidence_dir, champion)
    return out


def report_model(client: ChainClient, *, block: int | None = None) -> bytes:
    """The model hash a report as of `block` names: the shipper champion while it is the only champion (reports
    as before roles), else the registry's champion set (one report scores every role; each entry's model is
    its subject's role's champion in that set)."""
    registry = ModelRegistry(client)
    champions = registry.champions(block=block)
    if not champions:
        raise InvalidInput("no model has been promoted to champion: nothing to score with.")
    if set(champions) == {SubjectRole.SHIPPER}:
        return champions[SubjectRole.SHIPPER]
    found = registry.champion_set(block=block)
    assert found is not None  # some role has a champion
    return found


def score_from_ledger(
    client: ChainClient,
    card: Any,
    as_of: int,
    *,
    block: int | None = None,
    subjects: set[str] | None = None,
    aggregates: dict[str, dict[str, int]] | None = None,
) -> list[Any]:
    """Scores every subject with its role's champion card from the chain index: the one place where features
    are assembled.

    `card` is the operator's champion card, or a list of champion cards (one per role; `role_cards` fetches
    the others). Each subject is scored in one role (ChainIndex.subject_roles: shipper, else platform, else
    carrier) with that role's features (scoring.features: settlement features of the role plus its party
    features from payouts and trip verdicts) and that role's champion. With `block`, everything is read as of
    that block number, so every oracle node computes the same entries; with `subjects` (0x ids), only those
    subjects are scored, and those without history as of `as_of` are left out. Entries are sorted by subject.
    """
    cards = role_cards(client, card, block=block)
    shipper_card = cards.get("shipper")
    if subjects is None and shipper_card is not None and len(cards) == 1:
        # no other role has a champion: shippers only, as before roles
        only = _score_shippers(client, shipper_card, as_of, block, None, aggregates)
        if not only:
            raise InvalidInput("the ledger holds no settlements to score.")
        return only
    with ChainIndex(client) as index:
        roles_of = index.subject_roles(block, subjects)
    by_role: dict[str, list[str]] = {}
    for subject, role in roles_of.items():
        by_role.setdefault(role, []).append(subject)
    scored: list[Any] = []
    if shipper_card is not None and by_role.get("shipper"):
        scored += _score_shippers(client, shipper_card, as_of, block, set(by_role["shipper"]), aggregates)
    for role in [r for r in ("carrier", "platform") if r in cards and by_role.get(r)]:
        # only the rows of this role's subjects: their settlements in that role, their payouts, those trips
        # (features of a role are grouped by the subject's own column, so other rows change nothing)
        wanted = by_role[role] if subjects is not None else None
        frame = settlements_as_of(client, block, subjects=wanted, roles=(role,))
        payouts, trips = _payouts(client, block, wanted), _trips(client, frame, block, partial=wanted is not None)
        features = _party_frame(frame, as_of, role, by_role[role], payouts, trips)
        scored += score_subjects(cards[role], features)
    if subjects is None and not scored:
        raise InvalidInput("the ledger holds no settlements to score.")
    return sorted(scored, key=lambda x: x.subject)


def _score_shippers(
    client: ChainClient,
    card: Any,
    as_of: int,
    block: int | None,
    subjects: set[str] | None,
    aggregates: dict[str, dict[str, int]] | None,
) -> list[Any]:
    # from this node's chain index (creditshare.domain.index): only the settlements the scored subjects pay
    # when `subjects` is given (a round's due subjects), so a round costs what changed, not the whole history;
    # the same frame rows as settlement_frame, so the same features and scores (tests/domain/test_index_property.py)
    frame = settlements_as_of(client, block, subjects=None if subjects is None else sorted(subjects))
    if frame.empty:
        return []
    features = build_features(frame, as_of, roles=("shipper",))
    # cross-platform aggregates revealed by a recorded MPC job (oracle/mpc_features.py)
    if aggregates is not None:
        features = merge_aggregates(features, aggregates)
    elif any(name.startswith("xp_") for name in card.feature_names):
        raise InvalidInput(
            "the card uses cross-platform xp_* features: pass the output file of a recorded "
            "cross_platform_features MPC job with --mpc-output."
        )
    if subjects is not None:
        features = features[features.index.isin(sorted(subjects))]
    missing = [f for f in card.feature_names if f not in features.columns]
    if missing and all(f.startswith("shp_") for f in missing):
        # the shipper's party features (trip-verified and new-energy shares), when the card uses them
        extra = party_features(
            frame,
            as_of,
            trips=_trips(client, frame, block, partial=subjects is not None),
            subjects=features.index,
            role="shipper",
        )
        features = features.join(extra[[c for c in missing if c in extra.columns]])
    return score_subjects(card, features)


def _party_frame(frame: Any, as_of: int, role: str, subjects: list[str], payouts: Any, trips: Any) -> Any:
    """The features of `role` (its settlement features and party features) of `subjects`, indexed by subject."""
    import pandas as pd

    wanted = sorted(subjects)
    if frame.empty:
        base = pd.DataFrame(index=pd.Index(wanted, dtype=object, name="subject"))
    else:
        base = build_features(frame, as_of, subjects=wanted, roles=(role,))
    extra = party_features(frame, as_of, payouts=payouts, trips=trips, subjects=wanted, role=role)
    return pd.concat([base, extra], axis=1)


def _payouts(client: ChainClient, block: int | None, subjects: Sequence[str] | None = None) -> Any:
    """The payout frame as of `block` (None when PayoutLedger is not deployed); with `subjects`, only the
    payouts they are platform or carrier of (ids from the chain index)."""
    if not client.deployment.addresses.get("PayoutLedger"):
        return None
    from creditshare.bindings.payout_ledger import PayoutLedger, payout_frame

    if subjects is None:
        return payout_frame(PayoutLedger(client), block)
    with ChainIndex(client) as index:
        ids = index.payout_ids(subjects, block)
    return payout_frame(PayoutLedger(client), block, ids=ids)


def _trips(client: ChainClient, frame: Any, block: int | None, *, partial: bool = False) -> Any:
    """The latest trip verdict of each settlement as of `block`, as scoring.features.TRIP_COLUMNS, from the
    chain index (None when TripRegistry is not deployed). `partial`: `frame` holds only some subjects' rows,
    so only its settlements' verdicts are read."""
    import pandas as pd

    from creditshare.bindings.trip_registry import Energy, Verdict

    if not client.deployment.addresses.get("TripRegistry"):
        return None
    with ChainIndex(client) as index:
        rows = index.trip_rows(block, list(frame["settlement_id"]) if partial else None)
    columns = ["settlement_id", "shipper", "platform", "carrier", "verdict", "energy_type", "invoice_date"]
    if not rows or frame.empty:
        out = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        out["invoice_date"] = out["invoice_date"].astype("int64")
        return out
    parties = frame.set_index("settlement_id")[["shipper", "platform", "carrier", "invoice_date"]]
    records = []
    for sid, verdict, energy in rows:
        if sid in parties.index and Verdict(verdict) != Verdict.NONE:
            p = parties.loc[sid]
            label = Verdict(verdict).label
            records.append(
                [sid, p["shipper"], p["platform"], p["carrier"], label, Energy(energy).label, p["invoice_date"]]
            )
    out = pd.DataFrame(records, columns=columns)
    out["invoice_date"] = out["invoice_date"].astype("int64")
    return out


def propose(
    client: ChainClient,
    card: Any,
    *,
    as_of: int,
    epoch: int,
    expiry: int,
    out_dir: Path,
    batch: int = 500,
    aggregates: dict[str, dict[str, int]] | None = None,
) -> list[Path]:
    """Writes one report file per batch; returns their paths.

    The report must pass `check_report_window` (what every signer checks): epoch a confirmed block,
    as_of its time, expiry within the TTL. Everything is read as of block `epoch`, as signers recompute it.
    """
    check_report_window(client, epoch=epoch, as_of=as_of, expiry=expiry)
    scored = score_from_ledger(client, card, as_of, block=epoch, aggregates=aggregates)
    reports = build_reports(
        scored, epoch=epoch, model_hash=report_model(client, block=epoch), as_of=as_of, expiry=expiry, batch=batch
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    contract = ScoreOracle(client).address
    paths = []
    for i, (report, entries) in enumerate(reports, start=1):
        path = out_dir / f"report-{epoch}-{i:03d}.json"
        _write(
            path,
            {
                "chain_id": client.settings.network.chain_id,
                "contract": contract,
                "report": {
                    "epoch": report.epoch,
                    "model_hash": to_hex(report.model_hash),
                    "as_of": report.as_of,
                    "expiry": report.expiry,
                    "entries_root": to_hex(report.entries_root),
                },
                "entries": [
                    {
                        "subject": to_hex(e.subject),
                        "score": e.score,
                        "tier": TIERS[e.tier],
                        "reasons_hash": to_hex(e.reasons_hash),
                    }
                    for e in entries
                ],
                "signatures": {},
            },
        )
        paths.append(path)
    return paths


class ReportOutsideWindow(InvalidInput):
    """A report's epoch, as_of or expiry is outside what an oracle signs (see `check_report_window`)."""


def confirmed_head(client: ChainClient, confirmations: int) -> int:
    """The newest block an oracle treats as final: the head minus `confirmations`."""
    return int(client.read(lambda: client.w3.eth.block_number, "block number")) - confirmations


def check_report_window(
    client: ChainClient, *, epoch: int, as_of: int, expiry: int, confirmations: int = 0, ttl: int = MAX_REPORT_TTL
) -> None:
    """The one rule every signer applies (`oracle sign` and the daemon, leader and peers) before signing.

    - `epoch` is a confirmed block number: 1 <= epoch <= head − `confirmations` (a future or absurd
      epoch, e.g. 2^64 − 1, would freeze its subjects: the contract's epoch guard refuses every later one);
    - `as_of` is exactly that block's time (no old `--as-of` rolls a score back to an earlier state);
    - `expiry` is at most `ttl` after `as_of` (`ttl` capped at the contract's MAX_REPORT_TTL, 7 days) and
      after the latest block's time, which also bounds the epoch's age: a block older than `ttl` is refused.
    """
    ttl = min(int(ttl), MAX_REPORT_TTL)
    head = int(client.read(lambda: client.w3.eth.block_number, "block number"))
    confirmed = head - confirmations
    if not 1 <= epoch <= confirmed:
        raise ReportOutsideWindow(
            f"epoch must be a confirmed block number between 1 and {confirmed} (the latest block number {head} "
            f"minus {confirmations} confirmations; epochs are block numbers); got {epoch}."
        )
    block_time = client.block_timestamp(epoch)
    if as_of != block_time:
        raise ReportOutsideWindow(
            f"as_of must be the time of the epoch's block {epoch} ({block_time}); got {as_of}: not signing."
        )
    if expiry <= as_of:
        raise ReportOutsideWindow(f"expiry {expiry} is not after as_of {as_of}: the report would never be valid.")
    if expiry > as_of + ttl:
        raise ReportOutsideWindow(
            f"expiry {expiry} is more than {ttl} seconds after as_of {as_of} (the signing TTL); "
            "the ScoreOracle refuses it (use a shorter --ttl)."
        )
    latest = client.block_timestamp(head)
    if expiry <= latest:
        raise ReportOutsideWindow(
            f"the report expired at {expiry}, before the latest block's time {latest}: epoch {epoch} is too old "
            f"(older than the {ttl} s TTL); propose a new report at a recent block."
        )


def _write(path: Path, body: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n")
    os.replace(tmp, path)


def load_report_file(path: Path) -> tuple[dict[str, Any], ScoreReport, list[Entry]]:
    """A report file written by `propose` (body, header, entries); anything else is one InvalidInput
    naming the file: unreadable, not JSON, a field missing, of the wrong type or out of range."""
    try:
        body = json.loads(path.read_bytes())
        if not isinstance(body, dict):
            raise TypeError("not a JSON object")
        if not isinstance(body.get("chain_id"), int) or isinstance(body["chain_id"], bool):
            raise TypeError("chain_id must be an integer")
        if not isinstance(body.get("contract"), str) or not is_address(body["contract"]):
            raise TypeError("contract must be an address")
        signatures = body.get("signatures")
        if not isinstance(signatures, dict) or not all(
            isinstance(a, str) and is_address(a) and isinstance(v, str) and _is_signature(v)
            for a, v in signatures.items()
        ):
            raise TypeError("signatures must map addresses to 65-byte 0x signatures")
        r = body["report"]
        if not isinstance(r, dict):
            raise TypeError("report must be an object")
        report = ScoreReport(
            epoch=_int(r["epoch"], "epoch"),
            model_hash=parse_bytes32(str(r["model_hash"])),
            as_of=_int(r["as_of"], "as_of"),
            expiry=_int(r["expiry"], "expiry"),
            entries_root=parse_bytes32(str(r["entries_root"])),
        )
        if not isinstance(body["entries"], list) or not all(isinstance(e, dict) for e in body["entries"]):
            raise TypeError("entries must be a list of objects")
        entries = [
            Entry(
                parse_bytes32(str(e["subject"])),
                _int(e["score"], "score"),
                TIERS.index(e["tier"]),
                parse_bytes32(str(e["reasons_hash"])),
            )
            for e in body["entries"]
        ]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
        raise InvalidInput(f"{path} is not a score report file: {err}") from err
    return body, report, entries


_load = load_report_file


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer; got {value!r}")
    return value


def _is_signature(value: str) -> bool:
    try:
        return value.startswith("0x") and len(bytes.fromhex(value[2:])) == 65
    except ValueError:
        return False


def _check_target(client: ChainClient, body: dict[str, Any]) -> str:
    contract = ScoreOracle(client).address
    if int(body["chain_id"]) != client.settings.network.chain_id or body["contract"].lower() != contract.lower():
        raise InvalidInput(
            f"the report is for chain {body['chain_id']} contract {body['contract']}, not this "
            f"network's ScoreOracle {contract}."
        )
    return str(contract)


def sign(
    client: ChainClient,
    card: Any,
    path: Path,
    account: LocalAccount,
    *,
    aggregates: dict[str, dict[str, int]] | None = None,
    confirmations: int = 0,
    ttl: int = MAX_REPORT_TTL,
) -> str:
    """Recomputes the report's batch and, if it matches, adds this operator's signature. Returns the outcome.

    Refuses (ReportOutsideWindow) a report outside `check_report_window` with these `confirmations`
    and `ttl` (the oracle config's, when the operator passes it), before recomputing anything.
    """
    return sign_all(client, card, [path], account, aggregates=aggregates, confirmations=confirmations, ttl=ttl)[
        str(path)
    ]


def sign_all(
    client: ChainClient,
    card: Any,
    paths: Sequence[Path],
    account: LocalAccount,
    *,
    aggregates: dict[str, dict[str, int]] | None = None,
    confirmations: int = 0,
    ttl: int = MAX_REPORT_TTL,
) -> dict[str, str]:
    """`sign` for several report files: every one is checked and recomputed before any signature is written, so
    a refused file leaves every file as it was (no report signed while the command says error)."""
    signed: list[tuple[Path, dict[str, Any]]] = []
    out: dict[str, str] = {}
    for path in paths:
        body = _checked_for_signing(client, card, path, account, aggregates, confirmations, ttl)
        out[str(path)] = "already signed" if body is None else "signed"
        if body is not None:
            signed.append((path, body))
    for path, body in signed:
        _write(path, body)
    return out


def _checked_for_signing(
    client: ChainClient,
    card: Any,
    path: Path,
    account: LocalAccount,
    aggregates: dict[str, dict[str, int]] | None,
    confirmations: int,
    ttl: int,
) -> dict[str, Any] | None:
    """The report file's body with this operator's signature added (None: it has signed it already), once the
    report passes every check; else InvalidInput. Writes nothing."""
    body, report, entries = _load(path)
    contract = _check_target(client, body)
    check_report_window(
        client, epoch=report.epoch, as_of=report.as_of, expiry=report.expiry, confirmations=confirmations, ttl=ttl
    )
    expected = report_model(client, block=report.epoch)
    if report.model_hash != expected:
        mine = ", ".join(c.model_hash for c in _as_cards(card))
        raise InvalidInput(
            f"the report names model {to_hex(report.model_hash)}; the champion as of its epoch is {to_hex(expected)} "
            f"(this card: {mine})."
        )
    if entries_root(entries) != report.entries_root:
        raise InvalidInput("the report's entries do not hash to its entries root: not signing.")
    scored = score_from_ledger(client, card, report.as_of, block=report.epoch, aggregates=aggregates)
    derived = {s.subject: s.entry() for s in scored}
    if any(derived.get(to_hex(e.subject)) != e for e in entries):
        raise InvalidInput("this node's recomputation of the batch disagrees with the report: not signing.")
    if account.address in body["signatures"]:
        return None
    signature = sign_report(report, account, client.settings.network.chain_id, contract)
    body["signatures"][account.address] = "0x" + signature.hex()
    return body


def submit(client: ChainClient, path: Path, account: LocalAccount) -> dict[str, Any]:
    return submit_all(client, [path], account)[str(path)]


def submit_all(client: ChainClient, paths: Sequence[Path], account: LocalAccount) -> dict[str, dict[str, Any]]:
    """Submits signed report files, one transaction each. Every file is read and every listed signature recovered
    before anything is sent; a report the contract refuses after others landed names those that did."""
    checked = [(path, *_checked_for_submit(client, path)) for path in paths]
    oracle = ScoreOracle(client)
    out: dict[str, dict[str, Any]] = {}
    for path, report, entries, signatures in checked:
        try:
            receipt = oracle.submit(report.as_tuple(), [e.as_tuple() for e in entries], signatures, account)
        except TransactionRejected as err:
            if not out:
                raise
            raise TransactionRejected(
                f"{path}: {err} (already on chain from this command: {', '.join(out)}; submit the others again)",
                reason=err.reason,
            ) from err
        out[str(path)] = {
            "entries": len(entries),
            "signatures": len(signatures),
            "gas_used": int(receipt["gasUsed"]),
            "gas_per_score": int(receipt["gasUsed"]) // max(1, len(entries)),
        }
    return out


def _checked_for_submit(client: ChainClient, path: Path) -> tuple[ScoreReport, list[Entry], list[bytes]]:
    body, report, entries = _load(path)
    contract = _check_target(client, body)
    digest = report_digest(report, client.settings.network.chain_id, contract)
    for address, sig in body["signatures"].items():
        if recover_signer(digest, bytes.fromhex(sig[2:])).lower() != address.lower():
            raise InvalidInput(f"{path}: the signature listed for {address} was not made by it.")
    sigs = [bytes.fromhex(s[2:]) for s in body["signatures"].values()]
    return report, entries, order_signatures(digest, sigs)


def scores(client: ChainClient, subjects: Sequence[bytes]) -> list[dict[str, Any]]:
    raw = ScoreOracle(client).scores_of(subjects)
    registry = ModelRegistry(client)
    champions = set(registry.champions().values())
    current_set = registry.champion_set()
    now = client.block_timestamp()
    out = []
    for subject, (score, tier, model_hash, as_of, epoch, reasons, report) in zip(subjects, raw, strict=True):
        if epoch == 0:
            out.append({"subject": to_hex(subject), "scored": False})
            continue
        model = registry.model(bytes(model_hash))
        age_days = max(0, now - as_of) // 86400
        out.append(
            {
                "subject": to_hex(subject),
                "scored": True,
                "score": score,
                "tier": TIERS[tier],
                "model_hash": to_hex(bytes(model_hash)),
                "model_version": model.version if model else None,
                "model_is_champion": bytes(model_hash) in champions or bytes(model_hash) == current_set,
                "as_of": as_of,
                "epoch": epoch,
                # the raw stored score: not a verdict (score show's provenance is); a reader sees whether its
                # model was retired or withdrawn and how old it is (issue #14, finding 10)
                "model_status": MODEL_STATUS.get(model.status, "unregistered") if model else "unregistered",
                "age_days": age_days,
                "staleness_days": age_days,
                "report": report,
                "reasons_hash_prefix": to_hex(bytes(reasons))[:52],
            }
        )
    return out
