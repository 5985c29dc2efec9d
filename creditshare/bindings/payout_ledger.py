"""The PayoutLedger contract: payouts owed by platforms to carriers, their states and lifecycle table.

Mirrors contracts/interfaces/IPayoutLedger.sol: `Status` is its enum, `Payout`
its struct, `PREDECESSORS` its lifecycle table (`predecessorsOf`), and
`PayoutLedger` has one method per contract function (`confirm_receipt` for
`confirmReceipt`). The amount and date bounds are the SettlementLedger's. What
a command may do with a payout file (validation, planning) is the domain's:
creditshare.domain.payouts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from creditshare.bindings.settlement_ledger import DEFAULT_BATCH, LOOKUP_CHUNK, iso_date
from creditshare.core.chain import Call, ChainClient, encode_call, event_topic
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import SettlementId, SubjectId, cid_from_digest, to_hex

ZERO32: Final = b"\x00" * 32


class Status(IntEnum):
    NONE = 0
    RECORDED = 1
    CONFIRMED = 2
    PAYMENT_DECLARED = 3
    PAID = 4
    OVERDUE = 5
    DISPUTED = 6
    RESOLVED = 7
    DEFAULTED = 8

    @property
    def label(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


# The lifecycle: the statuses each status may be reached from (PayoutLedger.predecessorsOf).
PREDECESSORS: Final[Mapping[Status, frozenset[Status]]] = {
    Status.CONFIRMED: frozenset({Status.RECORDED}),
    Status.PAYMENT_DECLARED: frozenset({Status.RECORDED, Status.CONFIRMED, Status.OVERDUE}),
    Status.PAID: frozenset({Status.PAYMENT_DECLARED}),
    Status.OVERDUE: frozenset({Status.RECORDED, Status.CONFIRMED}),
    Status.DISPUTED: frozenset({Status.RECORDED, Status.CONFIRMED, Status.OVERDUE, Status.PAYMENT_DECLARED}),
    Status.RESOLVED: frozenset({Status.DISPUTED}),
    Status.DEFAULTED: frozenset({Status.DISPUTED, Status.OVERDUE}),
}


@dataclass(frozen=True)
class Payout:
    """One payout owed as the ledger hashes it. `reference_hash` (creditshare.core.ids.reference_hash of the
    platform's waybill reference) is what `record` derives the id from; records read back from events lack it.
    `settlement` is the SettlementLedger id of the same freight order, or 32 zero bytes."""

    id: SettlementId
    platform: SubjectId
    carrier: SubjectId
    settlement: bytes
    amount: int
    delivery_date: int
    due_date: int
    evidence: bytes
    reference_hash: bytes = field(default=b"", compare=False, repr=False)

    def as_tuple(self) -> tuple[bytes, bytes, bytes, bytes, int, int, int, bytes]:
        return (
            self.id,
            self.platform,
            self.carrier,
            self.settlement,
            self.amount,
            self.delivery_date,
            self.due_date,
            self.evidence,
        )

    def abi_words(self) -> bytes:
        return b"".join(
            (
                self.id,
                self.platform,
                self.carrier,
                self.settlement,
                self.amount.to_bytes(32, "big"),
                self.delivery_date.to_bytes(32, "big"),
                self.due_date.to_bytes(32, "big"),
                self.evidence,
            )
        )

    @property
    def digest(self) -> bytes:
        """What PayoutLedger stores: the first 20 bytes of keccak256(abi.encode(payout))."""
        return keccak(self.abi_words())[:20]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": to_hex(self.id),
            "platform": to_hex(self.platform),
            "carrier": to_hex(self.carrier),
            "settlement": to_hex(self.settlement) if self.settlement != ZERO32 else None,
            "amount_fen": self.amount,
            "delivery_date": iso_date(self.delivery_date),
            "due_date": iso_date(self.due_date),
            "evidence_cid": cid_from_digest(self.evidence),
        }


@dataclass(frozen=True)
class PayoutState:
    digest: bytes
    status: Status
    since: int  # block time of the recording (of the overdue marking once Overdue), then of the payment declaration
    paid_date: int  # the declared paid date; once PAID the final one (the declaration's time if finalised)


def _batches(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


class PayoutLedger:
    """The PayoutLedger contract: one method per function of IPayoutLedger, plus event reads."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("PayoutLedger")

    def states(self, ids: Sequence[bytes], block: int | None = None) -> list[PayoutState]:
        """Stored states of `ids`, now or as of block number `block`."""
        out: list[PayoutState] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = list(ids[start : start + LOOKUP_CHUNK])
            (raw,) = self.client.call(self.contract, "statesOf", chunk, block=block)
            out.extend(PayoutState(bytes(d), Status(s), int(t), int(p)) for d, s, t, p in raw)
        return out

    def _send(
        self,
        function: str,
        records: Sequence[Payout],
        account: LocalAccount,
        *extra: Any,
        per_record: Sequence[Any] | None = None,
        batch_size: int = DEFAULT_BATCH,
        on_batch: Callable[[int], None] | None = None,
        check_only: bool = False,
    ) -> list[Any]:
        """Sends `function(records[, per_record], *extra)` in batches; every batch is checked before the first is
        sent (ChainClient.transact_many), and a refusal is pinned on its records (indexes in `records`)."""
        batches = _batches(len(records), batch_size)

        def encode(idx: Sequence[int]) -> Call:
            args: list[Any] = [[records[i].as_tuple() for i in idx]]
            if per_record is not None:
                args.append([per_record[i] for i in idx])
            return encode_call(self.contract, function, *args, *extra)

        calls = [encode(idx) for idx in batches]
        what = f"{function} payouts"
        split: Callable[[int], Sequence[Call]] = lambda b: [encode([i]) for i in batches[b]]  # noqa: E731
        if check_only:
            self.client.check_calls(calls, account, what, scale_gas=True, items=batches, split=split)
            return []
        return self.client.transact_many(
            calls,
            account,
            what,
            scale_gas=True,
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
            items=batches,
            split=split,
        )

    def record(
        self,
        records: Sequence[Payout],
        account: LocalAccount,
        *,
        batch_size: int = DEFAULT_BATCH,
        on_batch: Callable[[int], None] | None = None,
        check_only: bool = False,
    ) -> list[Any]:
        missing = [to_hex(r.id) for r in records if len(r.reference_hash) != 32]
        if missing:
            raise InvalidInput(f"payouts without their reference hash cannot be recorded: {', '.join(missing[:3])}")
        return self._send(
            "record",
            records,
            account,
            per_record=[r.reference_hash for r in records],
            batch_size=batch_size,
            on_batch=on_batch,
            check_only=check_only,
        )

    def confirm(self, records: Sequence[Payout], account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("confirm", records, account, **kw)

    def pay(self, records: Sequence[Payout], paid_dates: Sequence[int], account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("pay", records, account, per_record=list(paid_dates), **kw)

    def confirm_receipt(self, records: Sequence[Payout], account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("confirmReceipt", records, account, **kw)

    def finalize_payment(self, records: Sequence[Payout], account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("finalizePayment", records, account, **kw)

    def mark_overdue(self, records: Sequence[Payout], account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("markOverdue", records, account, **kw)

    def dispute(self, records: Sequence[Payout], reason_hash: bytes, account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("dispute", records, account, reason_hash, **kw)

    def resolve(self, records: Sequence[Payout], defaulted: bool, account: LocalAccount, **kw: Any) -> list[Any]:
        return self._send("resolve", records, account, defaulted, **kw)

    def dispute_window(self) -> int:
        (window,) = self.client.call(self.contract, "disputeWindow")
        return int(window)

    def predecessors_of(self, to: Status) -> frozenset[Status]:
        """The contract's lifecycle table for `to` (compared with PREDECESSORS in the tests)."""
        (bitmap,) = self.client.call(self.contract, "predecessorsOf", int(to))
        return frozenset(s for s in Status if bitmap >> int(s) & 1)

    # -- reading records back from events ---------------------------------------

    def _recorded_logs(self, **topics: Any) -> list[Any]:
        event = self.contract.events.PayoutRecorded()
        start = self.client.deployment.from_block
        return list(
            self.client.read(
                lambda: event.get_logs(from_block=start, to_block="latest", argument_filters=topics),
                "PayoutRecorded events",
            )
        )

    @staticmethod
    def _from_log(entry: Any) -> Payout:
        a = entry["args"]
        return Payout(
            SettlementId(bytes(a["id"])),
            SubjectId(bytes(a["platform"])),
            SubjectId(bytes(a["carrier"])),
            bytes(a["settlement"]),
            int(a["amount"]),
            int(a["deliveryDate"]),
            int(a["dueDate"]),
            bytes(a["evidence"]),
        )

    def records(self, ids: Sequence[bytes]) -> dict[bytes, Payout]:
        """The recorded payouts of `ids`, read from the ledger's events."""
        found: dict[bytes, Payout] = {}
        for start in range(0, len(ids), 100):
            for entry in self._recorded_logs(id=list(ids[start : start + 100])):
                payout = self._from_log(entry)
                found[payout.id] = payout
        return found

    def by_subject(self, subject: bytes) -> list[Payout]:
        """Payouts where `subject` is the platform or the carrier (both are indexed topics)."""
        found: dict[bytes, Payout] = {}
        for topic in ("platform", "carrier"):
            for entry in self._recorded_logs(**{topic: subject}):
                payout = self._from_log(entry)
                found[payout.id] = payout
        return sorted(found.values(), key=lambda p: (p.delivery_date, p.id))

    def all(self) -> list[Payout]:
        """Every recorded payout, oldest delivery first."""
        return sorted((self._from_log(e) for e in self._recorded_logs()), key=lambda p: (p.delivery_date, p.id))


STATUS_EVENTS: Final = (
    "PayoutRecorded",
    "PayoutConfirmed",
    "PayoutPaymentDeclared",
    "PayoutPaid",
    "PayoutOverdue",
    "PayoutDisputed",
    "PayoutResolved",
)


def payout_frame(ledger: PayoutLedger, block: int | None = None, *, ids: Sequence[bytes] | None = None) -> Any:
    """Every payout (with `ids`, only those) as the DataFrame scoring/features.py reads for carriers and
    platforms (scoring.features.PAYOUT_COLUMNS).

    Columns: payout_id, platform, carrier (0x hex), amount (fen), delivery_date, due_date, paid_date (unix
    seconds, 0 = not paid: only a final payout, status Paid, carries its date), status (label), status_date
    (the paid date for Paid, else the block time of the last event on the payout). With `block`, as of that
    block (k oracles reading as of one block see the same frame).
    """
    import pandas as pd  # here, not at the top: few commands need pandas

    client = ledger.client
    latest = block if block is not None else int(client.read(lambda: client.w3.eth.block_number, "block number"))
    topics = [event_topic(ledger.contract, name) for name in STATUS_EVENTS]
    last: dict[bytes, int] = {}
    wanted = None if ids is None else sorted(set(ids))
    for where in [[topics]] if wanted is None else _id_topics(topics, wanted):
        for log in client.logs(ledger.contract.address, where, None, latest):
            number = int(log["blockNumber"], 16)
            key = bytes.fromhex(log["topics"][1][2:])
            last[key] = max(number, last.get(key, -1))
    if wanted is None:
        payouts = [p for p in ledger.all() if p.id in last]
    else:
        found = ledger.records([i for i in wanted if i in last])
        payouts = sorted(found.values(), key=lambda p: (p.delivery_date, p.id))
    states = ledger.states([p.id for p in payouts], block)
    times = {b: client.block_timestamp(b) for b in set(last.values())}
    rows = []
    for p, s in zip(payouts, states, strict=True):
        paid = s.status == Status.PAID
        rows.append(
            [
                to_hex(p.id),
                to_hex(p.platform),
                to_hex(p.carrier),
                p.amount,
                p.delivery_date,
                p.due_date,
                s.paid_date if paid else 0,
                s.status.label,
                s.paid_date if paid else times[last[p.id]],
            ]
        )
    columns = [
        "payout_id",
        "platform",
        "carrier",
        "amount",
        "delivery_date",
        "due_date",
        "paid_date",
        "status",
        "status_date",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("amount", "delivery_date", "due_date", "paid_date", "status_date"):
        frame[column] = frame[column].astype("int64")
    return frame


def _id_topics(topics: list[str], ids: list[bytes]) -> list[list[Any]]:
    """eth_getLogs topic filters for the status events of `ids`, 100 ids a query."""
    return [[topics, [to_hex(i) for i in ids[n : n + 100]]] for n in range(0, len(ids), 100)]
