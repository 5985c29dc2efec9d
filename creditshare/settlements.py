"""Settlement records: the CSV format, whole-file validation, and the ledger calls.

CSV columns (header required, order free; see examples/settlements.csv):

=============  ===========================================================
reference      the platform's own order reference (unique per platform)
shipper        subject of the shipper: ``namespace:registration`` or 0x id
platform       subject of the freight platform
carrier        subject of the carrier (fleet or driver)
amount_fen     amount in fen, a positive integer (1 yuan = 100 fen)
invoice_date   YYYY-MM-DD (UTC)
due_date       YYYY-MM-DD, not before invoice_date
evidence       path of the evidence file, relative to the CSV's folder, or
               ``cid:<CIDv1>`` for a document already hashed elsewhere
=============  ===========================================================
"""

from __future__ import annotations

import csv
import os
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from creditshare import evidence as ev
from creditshare import roles
from creditshare.chain import Call, ChainClient, encode_call
from creditshare.errors import InvalidInput
from creditshare.ids import SettlementId, SubjectId, settlement_id, subject_id, to_hex

CSV_COLUMNS = ("reference", "shipper", "platform", "carrier", "amount_fen", "invoice_date", "due_date", "evidence")
SETTLEMENT_TUPLE = "(bytes32,bytes32,bytes32,bytes32,uint256,uint64,uint64,bytes32)"
MAX_AMOUNT = 2**96 - 1
DEFAULT_BATCH = 400  # ~31k gas a record: a batch stays near 12.5M gas
LOOKUP_CHUNK = 2000


class Status(IntEnum):
    NONE = 0
    INVOICED = 1
    CONFIRMED = 2
    FINANCED = 3
    PAID = 4
    OVERDUE = 5
    DISPUTED = 6
    RESOLVED = 7
    DEFAULTED = 8

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class Settlement:
    """One settlement as the ledger hashes it."""

    id: SettlementId
    shipper: SubjectId
    platform: SubjectId
    carrier: SubjectId
    amount: int
    invoice_date: int
    due_date: int
    evidence: bytes

    def as_tuple(self) -> tuple[bytes, bytes, bytes, bytes, int, int, int, bytes]:
        return (
            self.id,
            self.shipper,
            self.platform,
            self.carrier,
            self.amount,
            self.invoice_date,
            self.due_date,
            self.evidence,
        )

    def abi_words(self) -> bytes:
        """The record's ABI encoding: eight static 32-byte words."""
        return b"".join((
            self.id, self.shipper, self.platform, self.carrier, self.amount.to_bytes(32, "big"),
            self.invoice_date.to_bytes(32, "big"), self.due_date.to_bytes(32, "big"), self.evidence,
        ))

    @property
    def digest(self) -> bytes:
        """What SettlementLedger stores: the first 25 bytes of keccak256(abi.encode(record))."""
        return keccak(self.abi_words())[:25]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": to_hex(self.id),
            "shipper": to_hex(self.shipper),
            "platform": to_hex(self.platform),
            "carrier": to_hex(self.carrier),
            "amount_fen": self.amount,
            "invoice_date": iso_date(self.invoice_date),
            "due_date": iso_date(self.due_date),
            "evidence_cid": ev.cid_from_digest(self.evidence),
        }


@dataclass(frozen=True)
class CsvRow:
    line: int
    reference: str
    settlement: Settlement
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InvalidSettlementFile(InvalidInput):
    """A settlement CSV has bad rows; nothing was submitted."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = list(errors)
        super().__init__(f"{path}: {len(self.errors)} bad row(s); nothing was submitted")


def iso_date(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()


@lru_cache(maxsize=4096)
def parse_date(text: str, column: str) -> int:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as err:
        raise InvalidInput(f"{column} must be a date YYYY-MM-DD; got {text!r}") from err
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _amount(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError as err:
        raise InvalidInput(f"amount_fen must be a whole number of fen; got {text!r}") from err
    if value <= 0:
        raise InvalidInput(f"amount_fen must be positive; got {value}")
    if value > MAX_AMOUNT:
        raise InvalidInput(f"amount_fen must be at most {MAX_AMOUNT}; got {value}")
    return value


def _evidence(text: str, base: str, cache: dict[str, bytes]) -> bytes:
    text = text.strip()
    if not text:
        raise InvalidInput("evidence is empty: name the evidence file (waybill, proof of delivery, ...)")
    if text.startswith("cid:"):
        return ev.digest_from_cid(text[4:])
    # os.path rather than pathlib: this runs once per row of files with 10^5 rows
    path = os.path.normpath(os.path.join(base, text))
    if path not in cache:
        try:
            cache[path] = ev.file_digest(Path(path))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as err:
            raise InvalidInput(f"evidence file {text} not found") from err
    return cache[path]


def parse_csv(path: Path, extra_columns: tuple[str, ...] = ()) -> list[CsvRow]:
    """Reads and checks a settlement CSV as a whole.

    `extra_columns` may appear besides the standard ones (e.g. paid_date for
    payments); their raw text is kept in `CsvRow.extra`.

    Raises InvalidSettlementFile listing every bad row (with its line number)
    if any row is bad; otherwise returns the parsed rows.
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from err
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    seen: dict[bytes, int] = {}
    cache: dict[str, bytes] = {}
    base = str(path.parent)
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in CSV_COLUMNS if c not in header]
        extra = [c for c in header if c not in CSV_COLUMNS and c not in extra_columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unknown column(s) {', '.join(extra)}")
            raise InvalidSettlementFile(path, [RowError(1, "; ".join(parts) + f"; expected {','.join(CSV_COLUMNS)}")])
        reader.fieldnames = header
        for raw in reader:
            line = reader.line_num
            if None in raw or any(v is None for v in raw.values()):
                errors.append(RowError(line, f"expected {len(CSV_COLUMNS)} fields"))
                continue
            try:
                platform = subject_id(raw["platform"])
                record = Settlement(
                    id=settlement_id(platform, raw["reference"].strip()),
                    shipper=subject_id(raw["shipper"]),
                    platform=platform,
                    carrier=subject_id(raw["carrier"]),
                    amount=_amount(raw["amount_fen"]),
                    invoice_date=parse_date(raw["invoice_date"], "invoice_date"),
                    due_date=parse_date(raw["due_date"], "due_date"),
                    evidence=_evidence(raw["evidence"], base, cache),
                )
            except InvalidInput as err:
                errors.append(RowError(line, str(err)))
                continue
            if record.due_date < record.invoice_date:
                errors.append(RowError(line, f"due_date {raw['due_date'].strip()} is before invoice_date "
                                             f"{raw['invoice_date'].strip()}"))
                continue
            if record.shipper == record.platform:
                errors.append(RowError(line, "shipper and platform are the same subject"))
                continue
            if record.id in seen:
                errors.append(RowError(line, f"duplicate reference {raw['reference'].strip()!r} "
                                             f"(first on line {seen[record.id]})"))
                continue
            seen[record.id] = line
            rows.append(CsvRow(line, raw["reference"].strip(), record, {c: raw[c] for c in extra_columns if c in raw}))
    if errors:
        raise InvalidSettlementFile(path, errors)
    if not rows:
        raise InvalidSettlementFile(path, [RowError(1, "the file has a header but no settlements")])
    return rows


# -- the ledger ---------------------------------------------------------------


def encode_submit(contract: Any, records: Sequence[Settlement]) -> Call:
    """Calldata of `submit(records)`, packed directly: the records are static
    tuples, so the ABI encoding is the selector, the array offset and length,
    then eight words per record (checked against eth-abi in the tests)."""
    selector = encode_call(contract, "submit", []).data[:4]
    head = (32).to_bytes(32, "big") + len(records).to_bytes(32, "big")
    return Call(str(contract.address), selector + head + b"".join(r.abi_words() for r in records))


@dataclass
class SubmitPlan:
    """What `submit` will do with a file: rows to send and rows already on chain."""

    to_send: list[CsvRow] = field(default_factory=list)
    already_on_chain: list[CsvRow] = field(default_factory=list)


@dataclass(frozen=True)
class StoredState:
    digest: bytes
    status: Status
    submitted_by_shipper: bool
    paid_date: int


class Ledger:
    """SettlementLedger through the chain client."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("SettlementLedger")
        self.consortium = client.contract("Consortium")

    def states(self, ids: Sequence[bytes], block: int | None = None) -> list[StoredState]:
        """Stored states of `ids`, now or as of block number `block`."""
        out: list[StoredState] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = list(ids[start : start + LOOKUP_CHUNK])
            (raw,) = self.client.call(self.contract, "statesOf", chunk, block=block)
            out.extend(StoredState(bytes(d), Status(s), bool(b), int(p)) for d, s, b, p in raw)
        return out

    def check_members(self, rows: Sequence[CsvRow], submitter: str) -> list[RowError]:
        """Row errors for unknown or suspended shippers/platforms and rows the submitter may not submit."""
        orgs = {r.settlement.shipper for r in rows} | {r.settlement.platform for r in rows}
        info: dict[bytes, tuple[str, bool, set[str]]] = {}
        for org in orgs:
            (address,) = self.client.call(self.consortium, "memberByOrg", org)
            if int(address, 16) == 0:
                continue
            (active,) = self.client.call(self.consortium, "isActive", address)
            (held,) = self.client.call(self.consortium, "rolesOf", address)
            info[org] = (address, active, {roles.name_of(bytes(h)) for h in held})
        errors: list[RowError] = []
        for row in rows:
            s = row.settlement
            reasons = []
            for side, org, role in (("shipper", s.shipper, "SHIPPER"), ("platform", s.platform, "PLATFORM")):
                entry = info.get(org)
                if entry is None:
                    reasons.append(f"{side} {to_hex(org)} is not a consortium member")
                elif not entry[1]:
                    reasons.append(f"{side} {to_hex(org)} is suspended")
                elif role not in entry[2]:
                    reasons.append(f"{side} {to_hex(org)} does not hold the {role} role")
            if not reasons:
                own = {info[s.shipper][0].lower(), info[s.platform][0].lower()}
                if submitter.lower() not in own:
                    reasons.append(f"account {submitter} is neither the shipper nor the platform of this settlement")
            if reasons:
                errors.append(RowError(row.line, "; ".join(reasons)))
        return errors

    def plan(self, path: Path, rows: Sequence[CsvRow], submitter: str) -> SubmitPlan:
        """Checks the file against the chain and splits it into new and already-stored rows.

        Raises InvalidSettlementFile if any row is invalid against the chain
        (unknown members, or an id on chain with different content).
        """
        errors = self.check_members(rows, submitter)
        plan = SubmitPlan()
        states = self.states([r.settlement.id for r in rows])
        for row, state in zip(rows, states, strict=True):
            if state.status == Status.NONE:
                plan.to_send.append(row)
            elif state.digest == row.settlement.digest:
                plan.already_on_chain.append(row)
            else:
                errors.append(RowError(row.line, f"settlement {row.reference!r} is on chain with different content"))
        if errors:
            raise InvalidSettlementFile(path, sorted(errors, key=lambda e: e.line))
        return plan

    def submit(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        batch_size: int = DEFAULT_BATCH,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Submits records in batches; returns the receipts. `on_batch(n)` reports progress."""
        batches = [records[i : i + batch_size] for i in range(0, len(records), batch_size)]
        calls = [encode_submit(self.contract, b) for b in batches]
        return self.client.transact_many(
            calls,
            account,
            "submitting settlements",
            scale_gas=True,
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
        )

    def lifecycle(
        self,
        action: str,
        records: Sequence[Settlement],
        account: LocalAccount,
        *extra: Any,
        batch_size: int = DEFAULT_BATCH,
        on_batch: Callable[[int], None] | None = None,
        per_record: Sequence[Any] | None = None,
    ) -> list[Any]:
        """Runs confirm / markOverdue / dispute / resolve (or pay, with per-record dates) in batches."""
        batches = [list(range(i, min(i + batch_size, len(records)))) for i in range(0, len(records), batch_size)]
        calls = []
        for idx in batches:
            tuples = [records[i].as_tuple() for i in idx]
            args: list[Any] = [tuples]
            if per_record is not None:
                args.append([per_record[i] for i in idx])
            calls.append(encode_call(self.contract, action, *args, *extra))
        # one function over uniform records: estimate the first batch, scale the others (see transact_many);
        # callers check every record's state first, so a batch that would revert is not expected
        return self.client.transact_many(
            calls, account, f"{action} settlements", scale_gas=True,
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
        )

    def pledge(self, record: Settlement, lender: str, account: LocalAccount) -> Any:
        return self.client.transact(encode_call(self.contract, "pledge", record.as_tuple(), lender), account, "pledge")

    # -- reading records back from events ---------------------------------------

    def _from_block(self) -> int:
        return self.client.deployment.from_block

    def _submitted_logs(self, **topics: Any) -> list[Any]:
        event = self.contract.events.SettlementSubmitted()
        return list(
            self.client.read(
                lambda: event.get_logs(from_block=self._from_block(), to_block="latest", argument_filters=topics),
                "settlement events",
            )
        )

    @staticmethod
    def _record_from_log(entry: Any) -> Settlement:
        a = entry["args"]
        return Settlement(
            SettlementId(bytes(a["id"])), SubjectId(bytes(a["shipper"])), SubjectId(bytes(a["platform"])),
            SubjectId(bytes(a["carrier"])), int(a["amount"]), int(a["invoiceDate"]), int(a["dueDate"]),
            bytes(a["evidence"]),
        )

    def records(self, ids: Sequence[bytes]) -> dict[bytes, Settlement]:
        """The submitted records of `ids`, read from the ledger's events."""
        found: dict[bytes, Settlement] = {}
        for start in range(0, len(ids), 100):
            chunk = list(ids[start : start + 100])
            for entry in self._submitted_logs(id=chunk):
                record = self._record_from_log(entry)
                found[record.id] = record
        return found

    def record(self, sid: bytes) -> Settlement:
        found = self.records([sid])
        if sid not in found:
            raise InvalidInput(f"settlement {to_hex(sid)} is not on the ledger.")
        return found[sid]

    def history(self, sid: bytes) -> list[dict[str, Any]]:
        """Every ledger event about settlement `sid`, oldest first."""
        out: list[dict[str, Any]] = []
        names = ("SettlementSubmitted", "SettlementConfirmed", "SettlementPledged", "SettlementPaid",
                 "SettlementOverdue", "SettlementDisputed", "SettlementResolved")
        for name in names:
            event = getattr(self.contract.events, name)()
            logs = self.client.read(
                lambda e=event: e.get_logs(from_block=self._from_block(), argument_filters={"id": sid}), "events"
            )
            for entry in logs:
                out.append({"event": name, "block": int(entry["blockNumber"]), "log_index": int(entry["logIndex"]),
                            "tx": "0x" + bytes(entry["transactionHash"]).hex(),
                            "args": {k: _plain(v) for k, v in entry["args"].items()}})
        return sorted(out, key=lambda e: (e["block"], e["log_index"]))

    def by_subject(self, subject: bytes) -> list[Settlement]:
        """Settlements where `subject` is shipper, carrier or platform."""
        found: dict[bytes, Settlement] = {}
        for topic in ("shipper", "carrier"):
            for entry in self._submitted_logs(**{topic: subject}):
                record = self._record_from_log(entry)
                found[record.id] = record
        # the platform is not an indexed topic (three are taken): platforms are few, so scan
        address = self.client.read(lambda: self.consortium.functions.memberByOrg(subject).call(), "member")
        if int(address, 16) != 0:
            for entry in self._submitted_logs():
                if bytes(entry["args"]["platform"]) == subject:
                    record = self._record_from_log(entry)
                    found[record.id] = record
        return sorted(found.values(), key=lambda r: (r.invoice_date, r.id))


STATUS_EVENTS = ("SettlementConfirmed", "SettlementPledged", "SettlementPaid", "SettlementOverdue",
                 "SettlementDisputed", "SettlementResolved")


def _event_topic(contract: Any, name: str) -> str:
    from eth_utils import event_abi_to_log_topic

    item = next(i for i in contract.abi if i.get("type") == "event" and i["name"] == name)
    return "0x" + event_abi_to_log_topic(item).hex()


def settlement_frame(ledger: Ledger, block: int | None = None) -> Any:
    """The whole settlement history as the DataFrame that scoring/ reads.

    Columns: settlement_id, shipper, platform, carrier (0x hex), amount (fen),
    invoice_date, due_date, evidence (0x sha2-256 digest inside the evidence CID),
    paid_date (unix seconds; 0 = unpaid), status (label), status_date (paid date
    for Paid, else the block time of the last status change).
    Logs are read raw and decoded with eth-abi: web3's log formatting is the
    slow part at 10^5 events.
    """
    import pandas as pd
    from faster_eth_abi import decode

    client, contract = ledger.client, ledger.contract
    submitted = _event_topic(contract, "SettlementSubmitted")
    status_topics = [_event_topic(contract, n) for n in STATUS_EVENTS]
    # with `block`, the history as of that block: k oracles reading as of one block see the same frame
    latest = block if block is not None else int(client.read(lambda: client.w3.eth.block_number, "block number"))
    records: dict[bytes, list[Any]] = {}
    last_change: dict[bytes, tuple[int, int]] = {}
    for log in client.logs(contract.address, [[submitted, *status_topics]], ledger._from_block(), latest):
        topics = log["topics"]
        sid = bytes.fromhex(topics[1][2:])
        block, index = int(log["blockNumber"], 16), int(log["logIndex"], 16)
        if topics[0] == submitted:
            platform, amount, invoice, due, evidence, _submitter = decode(
                ["bytes32", "uint256", "uint64", "uint64", "bytes32", "address"], bytes.fromhex(log["data"][2:]))
            records[sid] = ["0x" + sid.hex(), topics[2], "0x" + platform.hex(), topics[3], amount, invoice, due,
                            "0x" + evidence.hex()]
        if (block, index) > last_change.get(sid, (-1, -1)):
            last_change[sid] = (block, index)
    ids = list(records)
    states = ledger.states(ids, latest)
    times: dict[int, int] = {}
    for block in {last_change[i][0] for i in ids}:
        times[block] = int(client.read(lambda b=block: client.w3.eth.get_block(b)["timestamp"], "block"))
    rows = []
    for sid, state in zip(ids, states, strict=True):
        changed = times[last_change[sid][0]]
        status_date = state.paid_date if state.status == Status.PAID else changed
        rows.append([*records[sid], state.paid_date, state.status.label, status_date])
    columns = ["settlement_id", "shipper", "platform", "carrier", "amount", "invoice_date", "due_date", "evidence",
               "paid_date", "status", "status_date"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("amount", "invoice_date", "due_date", "paid_date", "status_date"):
        frame[column] = frame[column].astype("int64")
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def records_from_rows(rows: Iterable[CsvRow]) -> list[Settlement]:
    return [r.settlement for r in rows]


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Writes settlement rows (dicts with the CSV columns, plus extra columns) to `path`; returns the count."""
    rows = list(rows)
    columns = list(CSV_COLUMNS) + [c for c in (rows[0] if rows else {}) if c not in CSV_COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
