"""Lender reads that check provenance locally: a stored score is trusted only after
this machine has re-derived it from what the oracles signed.

For each subject: read its stored score (`scoresOf`, 1 call per 500 subjects), find
its report's `ReportAccepted` event (one log scan for all reports), fetch that
submit transaction and decode its calldata (report, entries, signatures: one
request per distinct report, so ~1 per 500 subjects), then check locally

- the entries hash to the signed `entriesRoot`, and the subject's entry is there
  with the stored score, tier and reason-code hash;
- the EIP-712 digest recomputed here (oracle.report.report_digest) is the one the
  chain accepted;
- the signatures recover to at least k distinct signers that are active ORACLE
  members now (k = the current threshold);
- the model hash is registered in the ModelRegistry (and whether it is the champion); a report scoring
  every role names the registry's champion set instead (#17): the entry's model is then the set's member
  for the subject's role (ChainIndex.subject_roles), and it must have been the champion of that role at the
  report's epoch (the registry's RoleChampionChanged events up to that block);
- with the public model card (`card`): its keccak is the model hash, and the reason
  codes are recovered by searching the card's reason-code combinations (ordered
  tuples of at most `n_reasons` distinct features) for the one whose
  `reasons_hash` is the signed one. Without a card the codes stay unrecovered
  (the verdict says so; it is not a failure).

A score can pass every check and still not be one to lend on: its model may have been
retired by the committee since, or the score may be months old (the oracles only
rescore a subject with new events, and a frozen or rolled-back score keeps its
signatures). So each score also carries its model's status now (champion,
challenger, retired, withdrawn, unregistered) and its age in days (chain time minus
its as-of), and the verdict is one of

- ``not verified``: a check above failed (the problems say which);
- ``retired``: the checks pass but the model is retired or withdrawn;
- ``stale``: the checks pass but the score is older than the lender's maximum age
  (`max_age_days`, default DEFAULT_MAX_AGE_DAYS; None or 0: no limit);
- ``verified``: none of these. ``provenance.verified`` is true only then.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from Crypto.Hash import keccak
from faster_eth_abi import decode

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.model_registry import ModelRegistry, ModelStatus, SubjectRole
from creditshare.bindings.score_oracle import ScoreOracle
from creditshare.core.chain import ChainClient, decode_log_data, event_topic
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import to_hex
from creditshare.domain.cards import CardUnavailable, card_of_model
from creditshare.domain.index import ChainIndex
from oracle.report import Entry, InvalidSignature, ScoreReport, entries_root, recover_signer, report_digest
from scoring.model_card import TIERS

MAX_REASON_COMBINATIONS = 500_000
# a lender's default limit on a score's age: a quarter, the longest a freight shipper's payment behaviour
# goes unobserved in an active relationship (the oracles rescore a subject whenever it has new events)
DEFAULT_MAX_AGE_DAYS = 90
VERDICTS = ("verified", "stale", "retired", "not verified")
MODEL_STATUS = {
    ModelStatus.REGISTERED: "challenger",
    ModelStatus.CHAMPION: "champion",
    ModelStatus.RETIRED: "retired",
    ModelStatus.WITHDRAWN: "withdrawn",
}
SUBMIT_ARGS = ["(uint64,bytes32,uint64,uint64,bytes32)", "(bytes32,uint16,uint8,bytes32)[]", "bytes[]"]
ACCEPTED_DATA = ["uint32", "uint64", "uint256", "address", "address[]"]


@dataclass(frozen=True)
class AcceptedReport:
    """One `ReportAccepted` event and, once fetched, the submit calldata it came from."""

    report_id: int
    digest: bytes
    epoch: int
    model_hash: bytes
    as_of: int
    submitter: str
    signers: tuple[str, ...]
    tx: str
    block: int


def accepted_reports(client: ChainClient) -> dict[int, AcceptedReport]:
    """Every accepted report by id, from one scan of the ScoreOracle's `ReportAccepted` events."""
    out = {}
    for log in ScoreOracle(client).report_accepted_logs():
        rid, as_of, _n, submitter, signers = decode_log_data(ACCEPTED_DATA, log)
        t = log["topics"]
        out[int(rid)] = AcceptedReport(
            int(rid),
            bytes.fromhex(t[1][2:]),
            int(t[2], 16),
            bytes.fromhex(t[3][2:]),
            int(as_of),
            submitter,
            tuple(signers),
            log["transactionHash"],
            int(log["blockNumber"], 16),
        )
    return out


def decode_submit(client: ChainClient, tx_hash: str) -> tuple[ScoreReport, list[Entry], list[bytes]]:
    """The report, entries and signatures carried by a `ScoreOracle.submit` transaction."""
    tx = client.rpc("eth_getTransactionByHash", [tx_hash], "transaction")
    data = bytes.fromhex(((tx.get("result") or {}).get("input") or "0x")[2:])
    try:
        report, entries, signatures = decode(SUBMIT_ARGS, data[4:])
    except Exception as err:  # noqa: BLE001 - any decoding failure means "not a submit call"
        raise InvalidInput(f"transaction {tx_hash} is not a ScoreOracle.submit call: {err}") from err
    return (
        ScoreReport(*report),
        [Entry(bytes(s), int(sc), int(t), bytes(r)) for s, sc, t, r in entries],
        [bytes(s) for s in signatures],
    )


class ReasonBook:
    """reasons_hash -> reason codes for every combination a model card can produce."""

    def __init__(self, card: Any) -> None:
        names = sorted(card.feature_names)
        n = int(card.n_reasons)
        total = sum(_permutations(len(names), k) for k in range(n + 1))
        if total > MAX_REASON_COMBINATIONS:
            raise InvalidInput(
                f"the card allows {total} reason-code combinations; more than "
                f"{MAX_REASON_COMBINATIONS} is too many to search."
            )
        self.model_hash = str(card.model_hash).lower()
        words = {name: string_words(name) for name in names}
        self.book: dict[bytes, tuple[str, ...]] = {}
        for k in range(n + 1):
            for combo in itertools.permutations(names, k):
                self.book[reasons_hash_from_words(combo, words)] = combo

    def codes(self, digest: bytes) -> tuple[str, ...] | None:
        return self.book.get(digest)


def string_words(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(32, "big") + data + b"\0" * (-len(data) % 32)


def reasons_hash_from_words(combo: Sequence[str], words: dict[str, bytes]) -> bytes:
    """`oracle.report.reasons_hash(combo)` with the `abi.encode(string[])` written out by hand: a card
    can allow thousands of combinations, and the generic encoder is most of the cost."""
    offsets, tails, at = [], [], 32 * len(combo)
    for name in combo:
        offsets.append(at.to_bytes(32, "big"))
        tails.append(words[name])
        at += len(words[name])
    body = (32).to_bytes(32, "big") + len(combo).to_bytes(32, "big") + b"".join(offsets) + b"".join(tails)
    return keccak.new(digest_bits=256, data=body).digest()


def _permutations(n: int, k: int) -> int:
    out = 1
    for i in range(k):
        out *= n - i
    return out


@dataclass
class _Checked:
    """What one report's local verification found (shared by all its subjects)."""

    report: ScoreReport | None = None
    entries: dict[bytes, Entry] = field(default_factory=dict)
    signers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _check_report(
    client: ChainClient, accepted: AcceptedReport, contract: str, k: int, oracles: dict[str, bool]
) -> _Checked:
    out = _Checked()
    try:
        report, entries, signatures = decode_submit(client, accepted.tx)
    except InvalidInput as err:
        out.problems.append(str(err))
        return out
    out.report = report
    out.entries = {e.subject: e for e in entries}
    if entries_root(entries) != report.entries_root:
        out.problems.append("the submitted entries do not hash to the signed entries root")
    digest = report_digest(report, client.settings.network.chain_id, contract)
    if digest != accepted.digest:
        out.problems.append(
            f"the digest recomputed here {to_hex(digest)} is not the accepted {to_hex(accepted.digest)}"
        )
    if (report.epoch, report.model_hash, report.as_of) != (accepted.epoch, accepted.model_hash, accepted.as_of):
        out.problems.append("the calldata report differs from the ReportAccepted event")
    signers = []
    for i, sig in enumerate(signatures):
        try:
            signers.append(recover_signer(digest, sig))
        except InvalidSignature as err:
            out.problems.append(f"signature {i}: {err}")
    out.signers = signers
    distinct = set(s.lower() for s in signers)
    if len(distinct) != len(signers):
        out.problems.append("a signer signed twice")
    for s in signers:
        if s.lower() not in oracles:
            oracles[s.lower()] = Consortium(client).is_active_with_role(s, "ORACLE")
    valid = [s for s in distinct if oracles[s]]
    if len(valid) < k:
        out.problems.append(f"only {len(valid)} distinct signer(s) are active oracles; the threshold is {k}")
    return out


def check_max_age(max_age_days: int | None) -> int | None:
    """A lender's maximum score age in days: None or 0 mean no limit; a negative one is refused."""
    if max_age_days is None or max_age_days == 0:
        return None
    if max_age_days < 0:
        raise InvalidInput(
            f"the maximum score age must be 0 (no limit) or a positive number of days; got {max_age_days}."
        )
    return int(max_age_days)


def verdict_of(problems: Sequence[str], model_status: str, age_days: int, max_age_days: int | None) -> str:
    """One score's verdict (see the module doc): a failed check first, then retirement, then age."""
    if problems:
        return "not verified"
    if model_status in ("retired", "withdrawn"):
        return "retired"
    if max_age_days is not None and age_days > max_age_days:
        return "stale"
    return "verified"


def verify_scores(
    client: ChainClient,
    subjects: Sequence[bytes],
    card: Any = None,
    reports: dict[int, AcceptedReport] | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
) -> list[dict[str, Any]]:
    """The stored score of each subject with a local provenance verdict (see the module doc)."""
    max_age = check_max_age(max_age_days)
    oracle = ScoreOracle(client)
    raw = oracle.scores_of(subjects)
    registry = ModelRegistry(client)
    champion = registry.champion()
    now = client.block_timestamp()
    needed = {int(r[6]) for r in raw if int(r[4]) != 0}
    if needed and reports is None:
        reports = accepted_reports(client)
    reports = reports or {}
    k = oracle.threshold()
    oracles: dict[str, bool] = {}
    checked = {
        rid: _check_report(client, reports[rid], oracle.address, k, oracles) if rid in reports else None
        for rid in sorted(needed)
    }
    models: dict[bytes, Any] = {}
    book = ReasonBook(card) if card is not None else None
    books: dict[bytes, ReasonBook | None] = {}
    roles = _roles(client, [to_hex(s) for s, r in zip(subjects, raw, strict=True) if int(r[4]) != 0])
    champions_at = _ChampionHistory(client, registry)
    out = []
    for subject, (score, tier, report_model, as_of, epoch, reasons25, rid) in zip(subjects, raw, strict=True):
        item: dict[str, Any] = {"subject": to_hex(subject), "scored": epoch != 0}
        if epoch == 0:
            out.append(item)
            continue
        report_model = bytes(report_model)
        role = SubjectRole.parse(roles.get(to_hex(subject), "shipper"))
        # the model that scored this entry: the report's model, or its champion set's member for the role
        if report_model not in models:
            models[report_model] = registry.model(report_model)
        model_hash = report_model
        role_problems: list[str] = []
        if models[report_model] is None:
            members = registry.champion_set_members(report_model)
            if members:
                if role in members:
                    model_hash = members[role]
                else:
                    role_problems.append(f"the report's champion set has no {role.label} champion")
            if model_hash not in models:
                models[model_hash] = registry.model(model_hash)
        model = models[model_hash]
        if model is not None and not role_problems:
            if model.role != role:
                role_problems.append(f"model {to_hex(model_hash)} scores {model.role.label}s, not {role.label}s")
            elif champions_at.champion(role, int(epoch)) != model_hash:
                role_problems.append(
                    f"model {to_hex(model_hash)} was not the {role.label} champion at the report's epoch {int(epoch)}"
                )
        age_days = max(0, now - int(as_of)) // 86400
        model_status = MODEL_STATUS.get(model.status, "unregistered") if model else "unregistered"
        item.update(
            {
                "score": int(score),
                "tier": TIERS[tier],
                "role": role.label,
                "model_hash": to_hex(model_hash),
                "report_model_hash": to_hex(report_model),
                "model_version": model.version if model else None,
                "model_is_champion": champion == model_hash or champions_at.current(role) == model_hash,
                "model_status": model_status,
                "as_of": int(as_of),
                "epoch": int(epoch),
                "age_days": age_days,
                "staleness_days": age_days,  # the earlier name of age_days, kept for scripts that read it
                "report": int(rid),
            }
        )
        problems: list[str] = []
        c = checked.get(int(rid))
        accepted = reports.get(int(rid))
        entry = None
        if c is None or accepted is None:
            problems.append(f"no ReportAccepted event for report {rid}")
        else:
            problems.extend(c.problems)
            entry = c.entries.get(bytes(subject))
            if entry is None:
                problems.append("the subject is not in its report's signed entries")
            elif (entry.score, entry.tier, entry.reasons_hash[:25]) != (int(score), int(tier), bytes(reasons25)[:25]):
                problems.append("the stored score differs from the signed entry")
        if model is None:
            problems.append(f"model {to_hex(model_hash)} is not registered")
        problems.extend(role_problems)
        reasons = None
        entry_book = book
        if model_hash != report_model and (book is None or book.model_hash != to_hex(model_hash)):
            # a report scoring every role: the entry's model card from the evidence store (checked by digest)
            if model_hash not in books:
                books[model_hash] = _book(client, registry, model_hash)
            entry_book = books[model_hash]
        if entry_book is not None:
            if entry_book.model_hash != to_hex(model_hash):
                problems.append(
                    f"the card given hashes to {entry_book.model_hash}, not to the report's model "
                    f"{to_hex(model_hash)}: reason codes cannot be recovered with it"
                )
            elif entry is not None:
                found = entry_book.codes(entry.reasons_hash)
                if found is None:
                    problems.append("no reason-code combination of the card hashes to the signed reasons hash")
                else:
                    reasons = list(found)
        verdict = verdict_of(problems, model_status, age_days, max_age)
        item.update(
            {
                "reasons": reasons,
                "reasons_hash": to_hex(entry.reasons_hash) if entry else None,
                "provenance": {
                    "verified": verdict == "verified",
                    "verdict": verdict,
                    "problems": problems,
                    "model_status": model_status,
                    "age_days": age_days,
                    "max_age_days": max_age,
                    "report_tx": accepted.tx if accepted else None,
                    "digest": to_hex(accepted.digest) if accepted else None,
                    "signers": c.signers if c else [],
                    "threshold": k,
                    "submitter": accepted.submitter if accepted else None,
                    "reasons_recovered": reasons is not None,
                },
            }
        )
        out.append(item)
    return out


def _book(client: ChainClient, registry: ModelRegistry, model_hash: bytes) -> ReasonBook | None:
    """The reason book of a registered model's card from the evidence store (None if it is not there)."""
    try:
        return ReasonBook(card_of_model(registry, client.settings.evidence_dir, model_hash))
    except CardUnavailable:
        return None


def _roles(client: ChainClient, subjects: list[str]) -> dict[str, str]:
    """The role each scored subject is scored in (ChainIndex.subject_roles); {} when nothing is scored."""
    if not subjects:
        return {}
    with ChainIndex(client) as index:
        return index.subject_roles(None, subjects)


class _ChampionHistory:
    """Each role's champion at any block, from the registry's RoleChampionChanged events (one log scan): an
    event query, not a state read at an old block, so it works on nodes that prune old state."""

    def __init__(self, client: ChainClient, registry: ModelRegistry) -> None:
        self.client, self.registry = client, registry
        self._changes: list[tuple[int, int, SubjectRole, bytes]] | None = None

    def _load(self) -> list[tuple[int, int, SubjectRole, bytes]]:
        if self._changes is None:
            contract = self.registry.contract
            topic = event_topic(contract, "RoleChampionChanged")
            logs = self.client.logs(contract.address, [topic], self.client.deployment.from_block, None)
            self._changes = sorted(
                (
                    int(log["blockNumber"], 16),
                    int(log["logIndex"], 16),
                    SubjectRole(int(log["topics"][1], 16)),
                    bytes.fromhex(log["topics"][3][2:]),
                )
                for log in logs
            )
        return self._changes

    def champion(self, role: SubjectRole, block: int) -> bytes | None:
        """The champion of `role` as of the end of `block` (None if it had none)."""
        found = None
        for number, _, r, current in self._load():
            if number > block:
                break
            if r == role:
                found = current
        return found if found and any(found) else None

    def current(self, role: SubjectRole) -> bytes | None:
        return self.registry.champion_of(role)


def subjects_scored(client: ChainClient) -> list[bytes]:
    """Every subject that has ever had a score stored, in first-scored order (one log scan)."""
    seen: dict[bytes, None] = {}
    for log in ScoreOracle(client).score_updated_logs():
        seen.setdefault(bytes.fromhex(log["topics"][1][2:]), None)
    return list(seen)


def score_history(
    client: ChainClient, subjects: Iterable[bytes] | None = None, reports: dict[int, AcceptedReport] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """ScoreUpdated events by subject (0x hex), oldest first, with the epoch and as-of of their report."""
    by_tx = {r.tx: r for r in (reports if reports is not None else accepted_reports(client)).values()}
    out: dict[str, list[dict[str, Any]]] = {}
    for log in ScoreOracle(client).score_updated_logs(None if subjects is None else list(subjects)):
        score, tier, rh = decode_log_data(("uint16", "uint8", "bytes32"), log)
        r = by_tx.get(log["transactionHash"])
        out.setdefault(log["topics"][1], []).append(
            {
                "score": int(score),
                "tier": TIERS[tier],
                "reasons_hash": to_hex(rh),
                "epoch": r.epoch if r else None,
                "as_of": r.as_of if r else None,
                "report": r.report_id if r else None,
                "block": int(log["blockNumber"], 16),
                "tx": log["transactionHash"],
            }
        )
    return out
