"""What a lender sees about a subject, and about the whole scored population.

`subject_report` gathers, for one subject: its verified score (oracle.provenance),
its score history (ScoreUpdated events), a summary of its settlements (counts by
status, amounts, late payments, overdue/defaulted, evidence CIDs), the credit-list
entries about it, and the provenance of its score (model, oracle signers, report tx).

`population` gathers the same for every scored subject with a fixed number of scans
(one per event kind, one `scoresOf` call per 500 subjects, one transaction fetch per
score report, the settlement frame once): it is what the HTML report is drawn from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from creditshare.bindings.credit_list import CreditList
from creditshare.bindings.model_registry import ModelRegistry
from creditshare.bindings.settlement_ledger import Settlement, SettlementLedger
from creditshare.core.chain import ChainClient, event_topic
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import cid_from_digest, to_hex
from creditshare.domain.index import ChainIndex, settlements_as_of
from creditshare.reports.freight import ROLES, trip_facts, with_reason_text
from oracle.provenance import (
    DEFAULT_MAX_AGE_DAYS,
    AcceptedReport,
    accepted_reports,
    score_history,
    subjects_scored,
    verify_scores,
)
from scoring.model_card import TIERS

BAD_STATUSES = ("Overdue", "Defaulted")


def summarize_settlements(rows: Iterable[tuple[str, int, int, int, bytes]]) -> dict[str, Any]:
    """Counts and amounts (fen) of (status label, amount, due date, paid date, evidence digest) rows."""
    counts: Counter[str] = Counter()
    total = paid = outstanding = bad_amount = late = 0
    cids: dict[str, None] = {}
    for status, amount, due, paid_date, evidence in rows:
        counts[status] += 1
        total += amount
        if status == "Paid":
            paid += amount
            late += paid_date > due
        elif status not in ("Resolved",):
            outstanding += amount
        if status in BAD_STATUSES:
            bad_amount += amount
        cids.setdefault(cid_from_digest(evidence), None)
    return {
        "count": sum(counts.values()),
        "by_status": dict(sorted(counts.items())),
        "amount_fen": total,
        "paid_fen": paid,
        "outstanding_fen": outstanding,
        "late_payments": late,
        "overdue": counts.get("Overdue", 0),
        "defaulted": counts.get("Defaulted", 0),
        "overdue_or_defaulted_fen": bad_amount,
        "evidence_cids": list(cids),
    }


def subject_settlements(client: ChainClient, ledger: SettlementLedger, subject: bytes) -> list[Settlement]:
    """Settlements where `subject` is the shipper or the carrier, from this node's chain index (a platform's own
    history is not listed: the report is about the payer and the carrier)."""
    with ChainIndex(client) as index:
        return index.records_of(subject, ("shipper", "carrier"))


def _list_entries(client: ChainClient, subjects: Sequence[bytes] | None) -> dict[str, list[dict[str, Any]]]:
    """Credit-list entries by subject (0x hex), through creditshare.bindings.credit_list (empty if not deployed)."""
    if "CreditList" not in client.deployment.addresses:
        return {}
    lst = CreditList(client)
    if subjects is None:  # every subject with an entry: one scan of EntryPosted
        posted = client.logs(lst.contract.address, [event_topic(lst.contract, "EntryPosted")])
        subjects = list(dict.fromkeys(bytes.fromhex(log["topics"][2][2:]) for log in posted))
    now = client.block_timestamp()
    out = {}
    for subject in subjects:
        entries = lst.entries_of(subject)
        if entries:
            out[to_hex(subject)] = [e.to_json(now) for e in entries]
    return out


def model_provenance(item: dict[str, Any]) -> dict[str, Any] | None:
    """The provenance block of a subject's report: which model scored it, how old, the oracle report and its
    verdict (None if the subject has no score). The console's subject page shows the same block."""
    if not item["scored"]:
        return None
    p = item["provenance"]
    return {
        "model_hash": item["model_hash"],
        "model_version": item["model_version"],
        "champion": item["model_is_champion"],
        "model_status": item["model_status"],
        "age_days": item["age_days"],
        "max_age_days": p["max_age_days"],
        "verdict": p["verdict"],
        "report": item["report"],
        "report_tx": p["report_tx"],
        "digest": p["digest"],
        "oracle_signers": p["signers"],
        "threshold": p["threshold"],
        "verified": p["verified"],
        "problems": p["problems"],
    }


def subject_report(
    client: ChainClient, subject: bytes, card: Any = None, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
) -> dict[str, Any]:
    """Everything the chain holds about one subject, verified where it can be (see the module doc); a score older
    than `max_age_days` (None or 0: no limit) is `stale`, one from a retired model `retired`."""
    reports = accepted_reports(client)
    (score,) = verify_scores(client, [subject], card, reports, max_age_days=max_age_days)
    history = score_history(client, [subject], reports).get(to_hex(subject), [])
    ledger = SettlementLedger(client)
    records = subject_settlements(client, ledger, subject)
    states = ledger.states([r.id for r in records])
    settlements = summarize_settlements(
        (s.status.label, r.amount, r.due_date, s.paid_date, r.evidence) for r, s in zip(records, states, strict=True)
    )
    settlements["as_shipper"] = sum(r.shipper == subject for r in records)
    settlements["as_carrier"] = sum(r.carrier == subject for r in records)
    entries = _list_entries(client, [subject]).get(to_hex(subject), [])
    if not score["scored"] and not records and not entries and not _plays_any_role(client, subject):
        raise InvalidInput(
            f"unknown subject {to_hex(subject)}: the chain holds no score, settlement or credit-list entry about it."
        )
    return {
        "subject": to_hex(subject),
        "score": score,
        "history": history,
        "settlements": settlements,
        "list_entries": entries,
        "provenance": {**(model_provenance(score) or {}), "evidence_cids": settlements["evidence_cids"]},
        **freight_facts(client, subject, score, card),
    }


def _plays_any_role(client: ChainClient, subject: bytes) -> bool:
    """Whether `subject` is a party (a platform too) of any settlement, from this node's chain index."""
    with ChainIndex(client) as index:
        return bool(index.records_of(subject, ROLES))


def freight_facts(client: ChainClient, subject: bytes, score: dict[str, Any], card: Any) -> dict[str, Any]:
    """`reason_text` (the reasons as sentences with the subject's values; also set on `score`), `lanes`,
    `lanes_note` and `green` (creditshare.reports.freight) of a subject: its settlements in every role."""
    if score["scored"]:
        with_reason_text(client, [score], {score["model_hash"]: card} if card is not None else {})
    with ChainIndex(client) as index:
        every = index.records_of(subject, ROLES)
    return {"reason_text": score.get("reason_text") or [], **trip_facts(client, every)}


@dataclass
class Population:
    """Every scored subject with its verified score, history, settlements and list entries."""

    items: list[dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]
    settlements: dict[str, dict[str, Any]]
    list_entries: dict[str, list[dict[str, Any]]]
    frame: Any
    reports: dict[int, AcceptedReport]
    champion: bytes | None

    def scored(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["scored"]]

    def by_tier(self) -> dict[str, dict[str, Any]]:
        """Subjects, defaulters (a settlement closed as Defaulted) and default rate per tier. Overdue alone
        does not count: in freight most shippers have some invoice past due at any time."""
        out: dict[str, dict[str, Any]] = {t: {"subjects": 0, "defaulters": 0} for t in TIERS}
        for item in self.scored():
            row = out[item["tier"]]
            row["subjects"] += 1
            s = self.settlements.get(item["subject"])
            row["defaulters"] += bool(s and s["defaulted"])
        for row in out.values():
            row["default_rate"] = round(row["defaulters"] / row["subjects"], 4) if row["subjects"] else None
        return out


def population(client: ChainClient, card: Any = None, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS) -> Population:
    reports = accepted_reports(client)
    subjects = subjects_scored(client)
    items = verify_scores(client, subjects, card, reports, max_age_days=max_age_days)
    history = score_history(client, None, reports)
    frame = settlements_as_of(client)  # the chain index: the same frame as settlement_frame, without a log scan
    settlements: dict[str, dict[str, Any]] = {}
    if not frame.empty:
        cols = frame[["shipper", "status", "amount", "due_date", "paid_date", "evidence"]]
        groups: dict[str, list[tuple[str, int, int, int, bytes]]] = {}
        for shipper, status, amount, due, paid, evid in cols.itertuples(index=False, name=None):
            groups.setdefault(shipper, []).append((status, int(amount), int(due), int(paid), bytes.fromhex(evid[2:])))
        settlements = {s: summarize_settlements(rows) for s, rows in groups.items()}
    entries = _list_entries(client, None)
    return Population(items, history, settlements, entries, frame, reports, ModelRegistry(client).champion())
