"""Score batches on chain: propose a report from the ledger and the champion card, sign it (each
operator recomputes it first), submit it with k signatures, and read scores back.

The k-of-n exchange is a report file passed between operators: each `sign`
recomputes the batch from its own view of the chain and its own copy of the
card, and signs only if its entries hash to the same root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address

from creditshare.bindings.model_registry import ModelRegistry
from creditshare.bindings.score_oracle import MAX_REPORT_TTL, ScoreOracle
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import parse_bytes32, to_hex
from creditshare.domain.index import settlements_as_of
from oracle.batch import build_reports, score_subjects
from oracle.mpc_features import merge_aggregates
from oracle.report import Entry, ScoreReport, entries_root, order_signatures, recover_signer, report_digest, sign_report
from scoring.features import build_features
from scoring.model_card import TIERS


def score_from_ledger(
    client: ChainClient,
    card: Any,
    as_of: int,
    *,
    block: int | None = None,
    subjects: set[str] | None = None,
    aggregates: dict[str, dict[str, int]] | None = None,
) -> list[Any]:
    """Scores shippers with `card` from the ledger: the one place where features are assembled.

    With `block`, everything (champion, settlements, their states) is read as of that block
    number, so every oracle node computes the same entries; with `subjects` (0x ids), only
    those subjects are scored, and those without any shipper history as of `as_of` are left out.
    """
    registry = ModelRegistry(client)
    (raw_champion,) = client.call(registry.contract, "champion", block=block)
    champion = bytes(raw_champion) if any(raw_champion) else None
    if champion is None or to_hex(champion) != card.model_hash:
        raise InvalidInput(
            f"the card {card.model_hash} is not the registered champion "
            f"({to_hex(champion) if champion else 'none promoted'})."
        )
    # from this node's chain index (creditshare.domain.index): only the settlements the scored subjects pay
    # when `subjects` is given (a round's due subjects), so a round costs what changed, not the whole history;
    # the same frame rows as settlement_frame, so the same features and scores (tests/domain/test_index_property.py)
    frame = settlements_as_of(client, block, shippers=None if subjects is None else sorted(subjects))
    if frame.empty:
        if subjects is not None:
            return []
        raise InvalidInput("the ledger holds no settlements to score.")
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
    return score_subjects(card, features)


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
        scored, epoch=epoch, model_hash=parse_bytes32(card.model_hash), as_of=as_of, expiry=expiry, batch=batch
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
    body, report, entries = _load(path)
    contract = _check_target(client, body)
    check_report_window(
        client, epoch=report.epoch, as_of=report.as_of, expiry=report.expiry, confirmations=confirmations, ttl=ttl
    )
    if to_hex(report.model_hash) != card.model_hash:
        raise InvalidInput(f"the report names model {to_hex(report.model_hash)}; this card is {card.model_hash}.")
    if entries_root(entries) != report.entries_root:
        raise InvalidInput("the report's entries do not hash to its entries root: not signing.")
    scored = score_from_ledger(client, card, report.as_of, block=report.epoch, aggregates=aggregates)
    derived = {s.subject: s.entry() for s in scored}
    if any(derived.get(to_hex(e.subject)) != e for e in entries):
        raise InvalidInput("this node's recomputation of the batch disagrees with the report: not signing.")
    if account.address in body["signatures"]:
        return "already signed"
    signature = sign_report(report, account, client.settings.network.chain_id, contract)
    body["signatures"][account.address] = "0x" + signature.hex()
    _write(path, body)
    return "signed"


def submit(client: ChainClient, path: Path, account: LocalAccount) -> dict[str, Any]:
    body, report, entries = _load(path)
    contract = _check_target(client, body)
    digest = report_digest(report, client.settings.network.chain_id, contract)
    sigs = [bytes.fromhex(s[2:]) for s in body["signatures"].values()]
    for address, sig in body["signatures"].items():
        if recover_signer(digest, bytes.fromhex(sig[2:])).lower() != address.lower():
            raise InvalidInput(f"the signature listed for {address} was not made by it.")
    receipt = ScoreOracle(client).submit(
        report.as_tuple(), [e.as_tuple() for e in entries], order_signatures(digest, sigs), account
    )
    return {
        "entries": len(entries),
        "signatures": len(sigs),
        "gas_used": int(receipt["gasUsed"]),
        "gas_per_score": int(receipt["gasUsed"]) // max(1, len(entries)),
    }


def scores(client: ChainClient, subjects: Sequence[bytes]) -> list[dict[str, Any]]:
    raw = ScoreOracle(client).scores_of(subjects)
    registry = ModelRegistry(client)
    champion = registry.champion()
    now = client.block_timestamp()
    out = []
    for subject, (score, tier, model_hash, as_of, epoch, reasons, report) in zip(subjects, raw, strict=True):
        if epoch == 0:
            out.append({"subject": to_hex(subject), "scored": False})
            continue
        model = registry.model(bytes(model_hash))
        out.append(
            {
                "subject": to_hex(subject),
                "scored": True,
                "score": score,
                "tier": TIERS[tier],
                "model_hash": to_hex(bytes(model_hash)),
                "model_version": model.version if model else None,
                "model_is_champion": champion == bytes(model_hash),
                "as_of": as_of,
                "epoch": epoch,
                "staleness_days": max(0, now - as_of) // 86400,
                "report": report,
                "reasons_hash_prefix": to_hex(bytes(reasons))[:52],
            }
        )
    return out
