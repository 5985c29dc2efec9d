"""The console's JSON API (/api): the pages' reads, the console's signed actions, and settlement submission and
lifecycle calls for a platform's or shipper's own systems.

Authentication: a bearer token the member's node issues (`creditshare serve` writes it once, mode 0600, to
<data>/console/<key>.token; only its SHA-256 stays in memory), compared in constant time. A token rather than a
per-request signature because the caller is the member's own system talking to the member's own node over
loopback: the token proves it may act as the member, and the node signs the transactions with the member's key.
A refused call (no token, a wrong token, bad input, a batch with one bad record) writes nothing.

Submission and lifecycle calls run the CLI's whole-batch checks (creditshare.domain.settlements: parse_csv,
plan_submission, plan_lifecycle, check_paid_dates) and the contract's own check of every batch before the first
is sent; errors name the records by their index in the request (`settlements[3]`, `ids[0]`).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.data_bus import parse_scope
from creditshare.bindings.settlement_ledger import Settlement
from creditshare.core.chain import CallsRefused
from creditshare.core.errors import CreditShareError, InvalidInput, TransactionRejected
from creditshare.core.ids import parse_bytes32, subject_id, to_hex
from creditshare.domain import settlements as sm
from creditshare.web.console import MAX_PAGE, PAGE_SIZE, Console

bearer = HTTPBearer(auto_error=False, description="The member's API token, written by `creditshare serve`.")

Subject = Annotated[str, Field(min_length=1, max_length=200, description="namespace:registration or a 0x id")]
Purpose = Annotated[str, Field(min_length=1, max_length=100)]
Scope = Annotated[str, Field(min_length=1, max_length=100, description="score, settlements, list (comma-separated)")]


class Unauthorized(CreditShareError):
    """No or a wrong API token (HTTP 401)."""


class RequestRefused(InvalidInput):
    """A batch with bad records: nothing was sent; `errors` names each record by its place in the request."""

    def __init__(self, message: str, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(message)


class ConsentIn(BaseModel):
    lender: str = Field(min_length=1, max_length=100, description="the lender's 0x address")
    purpose: Purpose
    scope: Scope
    days: int = Field(ge=1, le=3650)


class ReadIn(BaseModel):
    subjects: list[Subject] = Field(min_length=1, max_length=200)
    purpose: Purpose
    scope: Scope = "score"


class SubjectIn(BaseModel):
    subject: Subject


class SettlementIn(BaseModel):
    """One settlement, as a row of the CSV `settlements submit` reads; evidence is `cid:<CIDv1>` of a document
    already in the member's evidence store (the API carries no files)."""

    reference: str = Field(min_length=1, max_length=128)
    shipper: Subject
    platform: Subject
    carrier: Subject
    amount_fen: int
    invoice_date: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD")
    due_date: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD")
    evidence: str = Field(min_length=5, max_length=200, pattern=r"^cid:", description="cid:<CIDv1>")


class SubmitIn(BaseModel):
    settlements: list[SettlementIn] = Field(min_length=1, max_length=5000)
    dry_run: bool = False
    batch_size: int = Field(100, ge=1, le=1000)


class LifecycleIn(BaseModel):
    ids: list[Annotated[str, Field(min_length=1, max_length=66)]] = Field(min_length=1, max_length=5000)
    dry_run: bool = False
    paid_date: str | None = Field(None, max_length=10, description="pay: YYYY-MM-DD (default: the block time)")


STEP_NAMES = Literal["confirm", "pay", "confirm-payment", "finalize", "overdue"]


def router(console: Console) -> APIRouter:
    def authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("this call needs the member's API token: Authorization: Bearer <token>.")
        given = hashlib.sha256(credentials.credentials.encode()).digest()
        if not hmac.compare_digest(given, request.app.state.api_token_hash):
            raise Unauthorized("the API token is not this member's.")

    api = APIRouter(prefix="/api", dependencies=[Depends(authenticated)])

    @api.get("/search", summary="The subject id of a registration, id, member address or key name")
    def search(q: str = Query(..., min_length=1, max_length=200)) -> dict[str, str]:
        return {"query": q, "subject": to_hex(console.resolve(q))}

    @api.get("/subjects/{subject}", summary="A subject: score, reasons, provenance, history, settlements, entries")
    def subject(subject: str) -> dict[str, Any]:
        facts = console.subject(subject_id(subject))
        return {k: v for k, v in facts.items() if k != "records"} | {"records": len(facts["records"])}

    @api.get("/subjects/{subject}/settlements", summary="A page of a subject's settlements")
    def subject_settlements(subject: str, page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, Any]:
        _facts, rows, pages = console.subject_page(subject_id(subject), page)
        return {"page": page, "pages": pages, "page_size": PAGE_SIZE, "settlements": rows}

    @api.get("/portfolio", summary="Subjects that consented to this lender, with default rates by tier")
    def portfolio(sort: Literal["score", "tier", "subject"] = "score") -> dict[str, Any]:
        return console.portfolio(sort)

    @api.get("/model", summary="The registered models and the champion's card")
    def model() -> dict[str, Any]:
        return console.model()

    @api.get("/network", summary="Members, proposals, oracle, validators, head, Clique signers (drift), geth nodes")
    def network() -> dict[str, Any]:
        return console.network()

    @api.post("/consents", summary="Grant a lender consent (this member's organisation is the subject)")
    def consent(body: ConsentIn) -> dict[str, Any]:
        return console.grant(body.lender, body.purpose, parse_scope(body.scope), body.days)

    @api.post("/reads", summary="A consented read (as a LENDER), logged on chain")
    def read(body: ReadIn) -> dict[str, Any]:
        return console.consented_read([subject_id(s) for s in body.subjects], parse_scope(body.scope), body.purpose)

    @api.post("/views", summary="Pay the view fee for a subject's credit-list entries")
    def view(body: SubjectIn) -> dict[str, Any]:
        return console.view(subject_id(body.subject))

    @api.post("/entries/{entry_id}/decrypt", summary="Decrypt an entry's details with the key released to you")
    def decrypt(entry_id: int) -> dict[str, Any]:
        if not 1 <= entry_id <= 2**63:
            raise InvalidInput(f"entry ids start at 1; got {entry_id}.")
        return console.decrypt(entry_id)

    @api.post("/refresh", summary="Ask the oracles for a fresh score of a subject")
    def refresh(body: SubjectIn) -> dict[str, Any]:
        return console.refresh(subject_id(body.subject))

    @api.post("/settlements", summary="Submit settlements (whole-batch validation; nothing is sent if one is bad)")
    def submit(body: SubmitIn) -> dict[str, Any]:
        with console.lock:
            return _submit(console, body)

    @api.post("/settlements/{step}", summary="A lifecycle step for settlements by id (all or nothing)")
    def lifecycle(step: STEP_NAMES, body: LifecycleIn) -> dict[str, Any]:
        with console.lock:
            return _lifecycle(console, step, body)

    return api


def _submit(console: Console, body: SubmitIn) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="creditshare-api-") as folder:
        path = Path(folder) / "settlements.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(sm.CSV_COLUMNS)
            for s in body.settlements:
                writer.writerow(
                    [
                        s.reference,
                        s.shipper,
                        s.platform,
                        s.carrier,
                        str(s.amount_fen),
                        s.invoice_date,
                        s.due_date,
                        s.evidence,
                    ]
                )
        try:
            rows = sm.parse_csv(path, evidence_root=Path(folder))
            plan = sm.plan_submission(console.ledger, Consortium(console.client), path, rows, console.account.address)
        except sm.InvalidSettlementFile as err:
            raise _restated(err, "settlements") from err
    records = sm.records_from_rows(plan.to_send)
    index = [r.line - 2 for r in plan.to_send]
    try:
        if records and body.dry_run:
            console.ledger.check_submit(records, console.account, body.batch_size)
        receipts = (
            [] if body.dry_run or not records else console.ledger.submit(records, console.account, body.batch_size)
        )
    except CallsRefused as err:
        raise _refused(err, "settlements", index) from err
    return {
        "submitted": 0 if body.dry_run else len(records),
        "would_submit": len(records) if body.dry_run else 0,
        "already_on_chain": len(plan.already_on_chain),
        "ids": [to_hex(r.id) for r in records],
        "gas_used": sum(int(r["gasUsed"]) for r in receipts),
        "dry_run": body.dry_run,
    }


def _lifecycle(console: Console, step: str, body: LifecycleIn) -> dict[str, Any]:
    name = {"overdue": "markOverdue"}.get(step, step)
    ledger = console.ledger
    wanted = []
    for i, text in enumerate(body.ids):
        try:
            wanted.append(parse_bytes32(text, "settlement id"))
        except InvalidInput as err:
            raise RequestRefused("a settlement id is malformed; nothing was sent", [f"ids[{i}]: {err}"]) from err
    found = ledger.records(wanted)
    missing = [f"ids[{i}]: settlement {to_hex(w)} is not on the ledger" for i, w in enumerate(wanted) if w not in found]
    if missing:
        raise RequestRefused(f"{len(missing)} settlement(s) are not on the ledger; nothing was sent", missing)
    records: list[Settlement] = [found[w] for w in wanted]
    states = ledger.states([r.id for r in records])
    plan = sm.plan_lifecycle(name, records, states)
    paid = sm.parse_date(body.paid_date, "paid_date") if body.paid_date else 0
    if not plan.errors and name == "pay":
        chosen = [
            plan.todo[e.line - 1]
            for e in sm.check_paid_dates(
                [records[i] for i in plan.todo],
                [states[i] for i in plan.todo],
                [paid] * len(plan.todo),
                console.client.block_timestamp(),
            )
        ]
        if chosen:
            raise RequestRefused(
                "a paid date lies outside its settlement's confirmation (or overdue marking) and now; nothing was sent",
                [f"ids[{i}]: paid date must lie between the confirmation (or overdue marking) and now" for i in chosen],
            )
    if plan.errors:
        raise RequestRefused(
            f"{len(plan.errors)} settlement(s) cannot be {step}ed now; nothing was sent",
            [f"ids[{e.line - 1}]: {e.reason}" for e in plan.errors],
        )
    chosen_records = [records[i] for i in plan.todo]
    if chosen_records and not body.dry_run:
        send = {
            "confirm": lambda: ledger.confirm(chosen_records, console.account),
            "pay": lambda: ledger.pay(chosen_records, [paid] * len(chosen_records), console.account),
            "confirm-payment": lambda: ledger.confirm_payment(chosen_records, console.account),
            "finalize": lambda: ledger.finalize_payment(chosen_records, console.account),
            "markOverdue": lambda: ledger.mark_overdue(chosen_records, console.account),
        }[name]
        try:
            send()
        except CallsRefused as err:
            raise _refused(err, "ids", plan.todo) from err
    return {
        "step": step,
        "done": 0 if body.dry_run else len(chosen_records),
        "would_do": len(chosen_records) if body.dry_run else 0,
        "already": plan.already,
        "skipped_past": plan.past,
        "dry_run": body.dry_run,
    }


def _restated(err: sm.InvalidSettlementFile, field: str) -> RequestRefused:
    """A CSV's row errors named by the record's index in the request (CSV line 2 is record 0)."""
    return RequestRefused(
        f"{len(err.errors)} bad settlement(s); nothing was sent",
        [f"{field}[{e.line - 2}]: {e.reason}" if e.line >= 2 else e.reason for e in err.errors],
    )


def _refused(err: CallsRefused, field: str, index: Sequence[int]) -> TransactionRejected:
    lines = []
    for failure in err.failures:
        if failure.item is not None:
            lines.append(f"{field}[{index[failure.item]}]: {failure.reason}")
        else:
            lines.append(f"a batch of {field}: {failure.reason}")
    refused = TransactionRejected(str(err), reason=err.reason)
    refused.errors = lines  # type: ignore[attr-defined]
    return refused
