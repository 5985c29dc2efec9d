"""The SettlementLedger contract: its records, states and lifecycle table, and its events read back.

Mirrors contracts/interfaces/ISettlementLedger.sol: `Status` is its enum,
`Settlement` its struct, `PREDECESSORS` its lifecycle table (`predecessorsOf`),
and `SettlementLedger` has one method per contract function (`mark_overdue` for
`markOverdue`). What a command may do with a file of settlements (validation,
planning) is the domain's: creditshare.domain.settlements.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from creditshare.core.chain import (
    Call,
    ChainClient,
    batch_for_block,
    decode_log_data,
    encode_call,
    event_topic,
    gas_limit_for,
)
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import SettlementId, SubjectId, cid_from_digest, to_hex

log = logging.getLogger(__name__)

SETTLEMENT_TUPLE = "(bytes32,bytes32,bytes32,bytes32,uint256,uint64,uint64,bytes32)"
#: SettlementLedger.MAX_AMOUNT, the most one settlement carries: 10^12 fen (ten billion yuan); a sum over millions
#: of such invoices still fits the int64 columns of the settlement frames, features, reports and the oracle
MAX_AMOUNT = 10**12
EARLIEST_DATE = 946_684_800  # SettlementLedger.EARLIEST_DATE: 2000-01-01T00:00:00Z
LATEST_DATE = 4_102_444_799  # SettlementLedger.LATEST_DATE: 2099-12-31T23:59:59Z
#: records a transaction by default (~32k gas a submitted record: a batch near 13M gas), where the connected
#: chain's block holds that many; on smaller blocks the default comes from the block (batch_size_for)
DEFAULT_BATCH = 400
LOOKUP_CHUNK = 2000
#: gas each batched function uses per record, measured on Anvil with 1- and 41-record batches (submit 32.6k,
#: confirm 11.4k, pay 12.5k, confirmPayment 14.9k, markOverdue 11.5k, dispute 11.9k, resolve 11.7k; finalize
#: like confirmPayment), plus ~5%; tests/bindings/test_batch_sizing.py keeps them upper bounds
GAS_PER_RECORD: Final[Mapping[str, int]] = {
    "submit": 34_000,
    "confirm": 12_000,
    "pay": 13_200,
    "confirmPayment": 15_700,
    "finalizePayment": 15_700,
    "markOverdue": 12_100,
    "dispute": 12_600,
    "resolve": 12_400,
}
#: gas a batch pays once: the intrinsic 21k, the call, the batch's own checks (measured 30k-39k)
BATCH_GAS: Final = 45_000
#: geth's pool refuses a transaction over 128 KB (txMaxSize); 1 KB is left for the envelope and signature
TX_BYTES: Final = 127 * 1024
#: calldata a record adds: its eight words, plus a reference hash (submit) or a paid date (pay)
CALLDATA_PER_RECORD: Final[Mapping[str, int]] = {"submit": 288, "pay": 288}


def batch_size_for(function: str, block_gas: int, requested: int | None = None) -> int:
    """Records per transaction of `function` (a SettlementLedger batched function) on a chain whose blocks
    hold `block_gas`.

    Without `requested`: DEFAULT_BATCH where one block holds such a batch (the size the CLI's outputs and
    their tests are built around; on 30M-60M gas blocks it packs a block 0-15% below batch_for_block's best,
    except submit on 30M: one 400-batch a block against 6 of 138), else batch_for_block's choice, the size
    whose whole batches fill a block best (the largest within 2%). With
    `requested` (the CLI's --batch-size): that size, lowered only where a batch of it could not be sent at
    all: its gas limit above the block's (the node refuses it: "exceeds block gas limit") or its calldata over
    what a geth node accepts (128 KB)."""
    if function not in GAS_PER_RECORD:
        raise InvalidInput(f"{function} is not a batched function of the ledger.")
    if requested is not None and requested < 1:
        raise InvalidInput(f"a batch carries at least one record; got {requested}.")
    per, most = GAS_PER_RECORD[function], TX_BYTES // CALLDATA_PER_RECORD.get(function, 256)
    fits = max((block_gas - 50_000) * 10 // 13 - BATCH_GAS, 0) // per  # the inverse of gas_limit_for
    while fits > 1 and gas_limit_for(BATCH_GAS + fits * per) > block_gas:
        fits -= 1  # integer rounding of the inverse
    if requested is None:
        return DEFAULT_BATCH if DEFAULT_BATCH <= min(fits, most) else batch_for_block(block_gas, per, BATCH_GAS, most)
    return max(1, min(requested, fits, most))


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
    PAYMENT_DECLARED = 9

    @property
    def label(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


# The lifecycle: the statuses each status may be reached from (SettlementLedger.predecessorsOf).
PREDECESSORS: Final[Mapping[Status, frozenset[Status]]] = {
    Status.CONFIRMED: frozenset({Status.INVOICED}),
    Status.FINANCED: frozenset({Status.CONFIRMED}),
    Status.PAYMENT_DECLARED: frozenset({Status.CONFIRMED, Status.FINANCED, Status.OVERDUE}),
    Status.PAID: frozenset({Status.PAYMENT_DECLARED}),
    Status.OVERDUE: frozenset({Status.CONFIRMED, Status.FINANCED}),
    Status.DISPUTED: frozenset(
        {Status.INVOICED, Status.CONFIRMED, Status.FINANCED, Status.OVERDUE, Status.PAYMENT_DECLARED}
    ),
    Status.RESOLVED: frozenset({Status.DISPUTED}),
    Status.DEFAULTED: frozenset({Status.DISPUTED, Status.OVERDUE}),
}


@dataclass(frozen=True)
class Settlement:
    """One settlement as the ledger hashes it. `reference_hash` (creditshare.core.ids.reference_hash of the
    platform's order reference) is what `submit` derives the id from; records read back from events lack it."""

    id: SettlementId
    shipper: SubjectId
    platform: SubjectId
    carrier: SubjectId
    amount: int
    invoice_date: int
    due_date: int
    evidence: bytes
    reference_hash: bytes = field(default=b"", compare=False, repr=False)

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
        return b"".join(
            (
                self.id,
                self.shipper,
                self.platform,
                self.carrier,
                self.amount.to_bytes(32, "big"),
                self.invoice_date.to_bytes(32, "big"),
                self.due_date.to_bytes(32, "big"),
                self.evidence,
            )
        )

    @property
    def digest(self) -> bytes:
        """What SettlementLedger stores: the first 20 bytes of keccak256(abi.encode(record))."""
        return keccak(self.abi_words())[:20]

    @property
    def fingerprint(self) -> bytes:
        """The receivable's economic identity (SettlementLedger.fingerprintOf): shipper, platform, amount,
        invoice and due day."""
        words = (
            self.shipper,
            self.platform,
            self.amount.to_bytes(32, "big"),
            (self.invoice_date // 86_400).to_bytes(32, "big"),
            (self.due_date // 86_400).to_bytes(32, "big"),
        )
        return keccak(b"".join(words))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": to_hex(self.id),
            "shipper": to_hex(self.shipper),
            "platform": to_hex(self.platform),
            "carrier": to_hex(self.carrier),
            "amount_fen": self.amount,
            "invoice_date": iso_date(self.invoice_date),
            "due_date": iso_date(self.due_date),
            "evidence_cid": cid_from_digest(self.evidence),
        }


def iso_date(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()


@dataclass(frozen=True)
class StoredState:
    digest: bytes
    status: Status
    submitted_by_shipper: bool
    since: int  # block time of the confirmation (of the overdue marking once Overdue), then of the declaration
    paid_date: int  # the declared paid date; once PAID the final one (the declaration's time if finalised)


def encode_submit(contract: Any, records: Sequence[Settlement]) -> Call:
    """Calldata of `submit(records, referenceHashes)`, packed directly: the records
    are static tuples, so the ABI encoding is the selector, the two array offsets,
    the records' length and eight words per record, then the hashes' length and
    one word per record (checked against eth-abi in the tests)."""
    missing = [to_hex(r.id) for r in records if len(r.reference_hash) != 32]
    if missing:
        raise InvalidInput(f"settlements without their reference hash cannot be submitted: {', '.join(missing[:3])}")
    selector = encode_call(contract, "submit", [], []).data[:4]
    n = len(records)
    head = (64).to_bytes(32, "big") + (64 + 32 + 256 * n).to_bytes(32, "big")
    body = n.to_bytes(32, "big") + b"".join(r.abi_words() for r in records)
    hashes = n.to_bytes(32, "big") + b"".join(r.reference_hash for r in records)
    return Call(str(contract.address), selector + head + body + hashes)


def _batches(n: int, size: int) -> list[list[int]]:
    """Indexes 0..n-1 cut into consecutive batches of `size`."""
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


class SettlementLedger:
    """The SettlementLedger contract: one method per function of ISettlementLedger, plus event reads."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("SettlementLedger")
        self.consortium = client.contract("Consortium")

    def batch_size(self, function: str, requested: int | None = None) -> int:
        """Records per transaction of `function` on the connected chain (batch_size_for on the latest block's
        gas limit): on a network of 8M-gas blocks nothing is sent that no block can hold."""
        size = batch_size_for(function, self.client.block_gas_limit(), requested)
        if requested is not None and size < requested:
            log.info("%s: %d records a batch (the block holds no more), not %d", function, size, requested)
        return size

    def states(self, ids: Sequence[bytes], block: int | None = None) -> list[StoredState]:
        """Stored states of `ids`, now or as of block number `block`."""
        out: list[StoredState] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = list(ids[start : start + LOOKUP_CHUNK])
            (raw,) = self.client.call(self.contract, "statesOf", chunk, block=block)
            out.extend(StoredState(bytes(d), Status(s), bool(b), int(t), int(p)) for d, s, b, t, p in raw)
        return out

    def submit(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Submits records in batches (default: sized by the block, see batch_size); returns the receipts.
        `on_batch(n)` reports progress.

        Every batch is checked before the first is sent (ChainClient.transact_many): CallsRefused and
        PartialWrite name the refused, landed and not-landed records by their index in `records`."""
        batches = _batches(len(records), self.batch_size("submit", batch_size))
        calls = [encode_submit(self.contract, [records[i] for i in idx]) for idx in batches]
        return self.client.transact_many(
            calls,
            account,
            "submitting settlements",
            scale_gas=True,
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
            items=batches,
            split=lambda b: [encode_submit(self.contract, [records[i]]) for i in batches[b]],
        )

    def check_submit(self, records: Sequence[Settlement], account: LocalAccount, batch_size: int | None = None) -> None:
        """The check `submit` runs before sending, alone (for a dry run): CallsRefused names refused records."""
        batches = _batches(len(records), self.batch_size("submit", batch_size))
        self.client.check_calls(
            [encode_submit(self.contract, [records[i] for i in idx]) for idx in batches],
            account,
            "submitting settlements",
            scale_gas=True,
            items=batches,
            split=lambda b: [encode_submit(self.contract, [records[i]]) for i in batches[b]],
        )

    def _batched(
        self,
        function: str,
        records: Sequence[Settlement],
        account: LocalAccount,
        *extra: Any,
        batch_size: int | None,
        on_batch: Callable[[int], None] | None,
        per_record: Sequence[Any] | None = None,
    ) -> list[Any]:
        """Sends `function(records[, per_record], *extra)` in batches of `batch_size` records (None: sized by
        the block, see batch_size).

        Callers check every record's state first (creditshare.domain.settlements.plan_lifecycle); the
        contract's own checks (the caller a party, the payee, dates) run on every batch before the first is
        sent (ChainClient.transact_many), and a refusal is pinned on its records (indexes in `records`)."""
        batches = _batches(len(records), self.batch_size(function, batch_size))

        def encode(idx: Sequence[int]) -> Call:
            args: list[Any] = [[records[i].as_tuple() for i in idx]]
            if per_record is not None:
                args.append([per_record[i] for i in idx])
            return encode_call(self.contract, function, *args, *extra)

        return self.client.transact_many(
            [encode(idx) for idx in batches],
            account,
            f"{function} settlements",
            scale_gas=True,
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
            items=batches,
            split=lambda b: [encode([i]) for i in batches[b]],
        )

    def confirm(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("confirm", records, account, batch_size=batch_size, on_batch=on_batch)

    def pay(
        self,
        records: Sequence[Settlement],
        paid_dates: Sequence[int],
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("pay", records, account, batch_size=batch_size, on_batch=on_batch, per_record=paid_dates)

    def confirm_payment(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("confirmPayment", records, account, batch_size=batch_size, on_batch=on_batch)

    def finalize_payment(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("finalizePayment", records, account, batch_size=batch_size, on_batch=on_batch)

    def dispute_window(self) -> int:
        """Seconds a declared payment stays open to dispute (SettlementLedger.disputeWindow)."""
        (window,) = self.client.call(self.contract, "disputeWindow")
        return int(window)

    def mark_overdue(
        self,
        records: Sequence[Settlement],
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("markOverdue", records, account, batch_size=batch_size, on_batch=on_batch)

    def dispute(
        self,
        records: Sequence[Settlement],
        reason_hash: bytes,
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("dispute", records, account, reason_hash, batch_size=batch_size, on_batch=on_batch)

    def resolve(
        self,
        records: Sequence[Settlement],
        defaulted: bool,
        account: LocalAccount,
        *,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Any]:
        return self._batched("resolve", records, account, defaulted, batch_size=batch_size, on_batch=on_batch)

    def pledge(self, record: Settlement, lender: str, account: LocalAccount) -> Any:
        return self.client.transact(encode_call(self.contract, "pledge", record.as_tuple(), lender), account, "pledge")

    def lender_of(self, sid: bytes) -> str | None:
        (lender,) = self.client.call(self.contract, "lenderOf", sid)
        return None if int(lender, 16) == 0 else str(lender)

    def predecessors_of(self, to: Status) -> frozenset[Status]:
        """The contract's lifecycle table for `to` (compared with PREDECESSORS in the tests)."""
        (bitmap,) = self.client.call(self.contract, "predecessorsOf", int(to))
        return frozenset(s for s in Status if bitmap >> int(s) & 1)

    # -- reading records back from events ---------------------------------------

    def from_block(self) -> int:
        return self.client.deployment.from_block

    def _event_logs(self, event: Any, topics: dict[str, Any]) -> list[Any]:
        """Decoded logs of `event` (a contract event) since deployment, filtered by indexed `topics`."""
        return list(
            self.client.read(
                lambda: event.get_logs(from_block=self.from_block(), to_block="latest", argument_filters=topics),
                f"{event.event_name} events",
            )
        )

    def _submitted_logs(self, **topics: Any) -> list[Any]:
        return self._event_logs(self.contract.events.SettlementSubmitted(), topics)

    @staticmethod
    def _record_from_log(entry: Any) -> Settlement:
        a = entry["args"]
        return Settlement(
            SettlementId(bytes(a["id"])),
            SubjectId(bytes(a["shipper"])),
            SubjectId(bytes(a["platform"])),
            SubjectId(bytes(a["carrier"])),
            int(a["amount"]),
            int(a["invoiceDate"]),
            int(a["dueDate"]),
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
        names = (
            "SettlementSubmitted",
            "SettlementConfirmed",
            "SettlementPledged",
            "SettlementPaymentDeclared",
            "SettlementPaid",
            "SettlementOverdue",
            "SettlementDisputed",
            "SettlementResolved",
        )
        for name in names:
            event = getattr(self.contract.events, name)()
            logs = self._event_logs(event, {"id": sid})
            for entry in logs:
                out.append(
                    {
                        "event": name,
                        "block": int(entry["blockNumber"]),
                        "log_index": int(entry["logIndex"]),
                        "tx": "0x" + bytes(entry["transactionHash"]).hex(),
                        "args": {k: _plain(v) for k, v in entry["args"].items()},
                    }
                )
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


# the non-indexed fields of SettlementSubmitted (id, shipper and carrier are its topics)
SUBMITTED_DATA = ("bytes32", "uint256", "uint64", "uint64", "bytes32", "address")

STATUS_EVENTS = (
    "SettlementConfirmed",
    "SettlementPledged",
    "SettlementPaymentDeclared",
    "SettlementPaid",
    "SettlementOverdue",
    "SettlementDisputed",
    "SettlementResolved",
)


def settlement_frame(ledger: SettlementLedger, block: int | None = None) -> Any:
    """The whole settlement history as the DataFrame that scoring/ reads.

    Columns: settlement_id, shipper, platform, carrier (0x hex), amount (fen),
    invoice_date, due_date, evidence (0x sha2-256 digest inside the evidence CID),
    paid_date (unix seconds; 0 = unpaid: only a final payment, status Paid,
    carries its date; a PaymentDeclared one is unpaid until the payee confirms
    it or its dispute window passes), status (label), status_date (paid date
    for Paid, else the block time of the last status change).
    Logs are read raw and decoded with eth-abi: web3's log formatting is the
    slow part at 10^5 events.
    """
    client, contract = ledger.client, ledger.contract
    submitted = event_topic(contract, "SettlementSubmitted")
    status_topics = [event_topic(contract, n) for n in STATUS_EVENTS]
    # with `block`, the history as of that block: k oracles reading as of one block see the same frame
    latest = block if block is not None else int(client.read(lambda: client.w3.eth.block_number, "block number"))
    records: dict[bytes, list[Any]] = {}
    last_change: dict[bytes, tuple[int, int]] = {}
    for log in client.logs(contract.address, [[submitted, *status_topics]], ledger.from_block(), latest):
        topics = log["topics"]
        sid = bytes.fromhex(topics[1][2:])
        block, index = int(log["blockNumber"], 16), int(log["logIndex"], 16)
        if topics[0] == submitted:
            platform, amount, invoice, due, evidence, _submitter = decode_log_data(SUBMITTED_DATA, log)
            records[sid] = [
                "0x" + sid.hex(),
                topics[2],
                "0x" + platform.hex(),
                topics[3],
                amount,
                invoice,
                due,
                "0x" + evidence.hex(),
            ]
        if (block, index) > last_change.get(sid, (-1, -1)):
            last_change[sid] = (block, index)
    ids = list(records)
    states = ledger.states(ids, latest)
    times: dict[int, int] = {}
    for block in {last_change[i][0] for i in ids}:
        times[block] = client.block_timestamp(block)
    rows = []
    for sid, state in zip(ids, states, strict=True):
        changed = times[last_change[sid][0]]
        final = state.status == Status.PAID
        status_date = state.paid_date if final else changed
        rows.append([*records[sid], state.paid_date if final else 0, state.status.label, status_date])
    return frame_from_rows(rows)


#: the columns of settlement_frame, in order
FRAME_COLUMNS = (
    "settlement_id",
    "shipper",
    "platform",
    "carrier",
    "amount",
    "invoice_date",
    "due_date",
    "evidence",
    "paid_date",
    "status",
    "status_date",
)


def frame_from_rows(rows: Sequence[Sequence[Any]]) -> Any:
    """The DataFrame of settlement_frame from its rows (FRAME_COLUMNS, in order): one constructor, so the
    full recompute and the chain index (creditshare.domain.index) give the same columns and dtypes."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(FRAME_COLUMNS))
    for column in ("amount", "invoice_date", "due_date", "paid_date", "status_date"):
        frame[column] = frame[column].astype("int64")
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
