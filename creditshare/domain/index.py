"""The per-node chain index: the ledger's decoded events in SQLite, kept up to date incrementally.

Every reader of the settlement history (oracle rounds and `oracle propose|sign`, `report`, training from the
chain) used to rebuild it from the logs since deployment: time and memory grew with the whole history. The
index keeps each settlement once, with its current state, in an SQLite file under the node's data folder
(one file per chain id and SettlementLedger address: ``<data>/index/<chain id>-<ledger>.sqlite3``), and a
catch-up reads only the blocks since the last one indexed. A round then asks for the rows of the subjects
it scores, and a frame as of block ``B`` costs the rows, not the logs.

Why SQLite: in the standard library, one file per node, transactions that survive a SIGKILL (WAL), indexed
lookups by subject, readers in other processes while one writer catches up. Nothing here needs a server.

How it stays right:

- **Atomic block ranges.** A catch-up reads ``eth_getLogs`` for a range of blocks, then applies all its
  events, the block hashes and the new ``last_block`` in one transaction (``BEGIN IMMEDIATE``): a process
  killed mid-way leaves the index at the end of the previous range, and the next catch-up resumes there
  (no gap, no duplicate: events are keyed by block and log index, and a writer re-reads ``last_block``
  inside its transaction, so two nodes sharing a file never apply a range twice).
- **Confirmations.** A catch-up follows the head minus ``confirmations`` (Anvil: 0; a Clique network: a few
  blocks), unless a reader asks for a later block explicitly (the oracle's epoch, already confirmed by its
  own rule).
- **The chain it was built from.** The hash of the last indexed block is stored; every catch-up compares it
  with the node's block of that number. A reset Anvil, a reorg deeper than the confirmations or another
  network behind the same RPC URL fails that check, and the index is rebuilt from the deployment block.
- **Corruption.** A file that does not open, whose metadata cannot be read, or that raises SQLite's
  "malformed" error on a read (``cell_size_check`` is on) is deleted and rebuilt; ``PRAGMA quick_check``
  runs on ``check()`` (``creditshare index status``) and before a rebuild is skipped.
- **Schema version.** ``meta.schema_version``; an older file is brought forward by ``MIGRATIONS`` (from
  version v to v+1), a newer or unknown one is rebuilt.

What it holds: settlements (the record of ``SettlementSubmitted`` and the state its lifecycle events left),
every lifecycle change (``changes``), and one table per event of ``EVENT_TABLES``: scores and accepted
reports (ScoreOracle), credit-list entries and contests (CreditList), consents granted and revoked (DataBus).
A new contract's events need one ``EventTable`` line each (columns come from the ABI); see ``EVENT_TABLES``.

``frame(block)`` is, column for column and value for value, ``settlement_frame(ledger, block)``:
``tests/domain/test_index_property.py`` proves it, with scores, over random histories on Anvil.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_utils import event_abi_to_log_topic, to_checksum_address
from faster_eth_abi import decode as abi_decode

from creditshare.bindings.settlement_ledger import SUBMITTED_DATA, Settlement, Status, frame_from_rows
from creditshare.core.chain import ChainClient, artifact
from creditshare.core.errors import ChainError, InvalidInput
from creditshare.core.ids import SettlementId, SubjectId

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
#: blocks per eth_getLogs request at first; halved when a range holds more than MAX_RANGE_LOGS events
FIRST_SPAN: Final = 2_000
MAX_SPAN: Final = 5_000  # creditshare.core.chain.LOG_BLOCK_SPAN: nodes such as Besu cap the range
MAX_RANGE_LOGS: Final = 20_000  # one transaction's events: bounds the memory of a catch-up
SQL_VARS: Final = 500  # ids per `IN (...)` query
SUBJECT_CACHE: Final = 200_000  # subject codes kept in memory while indexing

#: ledger event -> the status it leaves (SettlementResolved: its `outcome` argument)
LIFECYCLE: Final = {
    "SettlementConfirmed": Status.CONFIRMED,
    "SettlementPledged": Status.FINANCED,
    "SettlementPaymentDeclared": Status.PAYMENT_DECLARED,
    "SettlementPaid": Status.PAID,
    "SettlementOverdue": Status.OVERDUE,
    "SettlementDisputed": Status.DISPUTED,
    "SettlementResolved": Status.RESOLVED,
}
KINDS: Final = ("SettlementSubmitted", *LIFECYCLE)


@dataclass(frozen=True)
class EventTable:
    """One contract event kept as rows of ``table``: ``block``, ``log_index``, ``tx`` and one column per
    argument, typed from the ABI (integers as INTEGER, or decimal TEXT beyond 2^63 - 1; bytesN as BLOB;
    addresses as 0x lowercase TEXT; bools as 0/1; arrays as JSON). Indexed dynamic arguments are their
    topic hash. The contract is indexed only where it is deployed."""

    contract: str
    event: str
    table: str
    #: columns to give an SQL index (what readers filter on)
    indexed: tuple[str, ...] = ()


#: the non-settlement events the index keeps; add a line for a new contract's events (e.g. PayoutLedger's)
EVENT_TABLES: Final[tuple[EventTable, ...]] = (
    EventTable("ScoreOracle", "ScoreUpdated", "scores", ("subject",)),
    EventTable("ScoreOracle", "ReportAccepted", "score_reports", ("epoch",)),
    EventTable("CreditList", "EntryPosted", "list_entries", ("subject", "entryId")),
    EventTable("CreditList", "EntryEvidence", "list_entry_evidence", ("entryId",)),
    EventTable("CreditList", "EntryContested", "list_contests", ("entryId",)),
    EventTable("CreditList", "ContestResolved", "list_contest_outcomes", ("entryId",)),
    EventTable("DataBus", "ConsentGranted", "consents", ("subject", "consentId")),
    EventTable("DataBus", "ConsentRevoked", "consent_revocations", ("consentId",)),
    # payouts (PayoutLedger, #17): the record and each lifecycle step, as events
    EventTable("PayoutLedger", "PayoutRecorded", "payouts", ("id", "platform", "carrier")),
    EventTable("PayoutLedger", "PayoutConfirmed", "payout_confirmations", ("id",)),
    EventTable("PayoutLedger", "PayoutPaymentDeclared", "payout_declarations", ("id",)),
    EventTable("PayoutLedger", "PayoutPaid", "payout_payments", ("id",)),
    EventTable("PayoutLedger", "PayoutOverdue", "payout_overdue", ("id",)),
    EventTable("PayoutLedger", "PayoutDisputed", "payout_disputes", ("id",)),
    EventTable("PayoutLedger", "PayoutResolved", "payout_resolutions", ("id",)),
    EventTable("TripRegistry", "TripVerdictRecorded", "trips", ("settlementId",)),
)

#: the payout lifecycle tables (each row has the payout's `id`)
PAYOUT_STEP_TABLES: Final = (
    "payout_confirmations",
    "payout_declarations",
    "payout_payments",
    "payout_overdue",
    "payout_disputes",
    "payout_resolutions",
)
#: the roles a subject is scored in, in order of precedence (a subject playing two is scored in the first)
SCORED_ROLES: Final = ("shipper", "platform", "carrier")

#: schema version v -> the function that brings a version-v file to v+1 (inside one transaction)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

_CORE_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subjects (code INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS settlements (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    shipper INTEGER NOT NULL,
    platform INTEGER NOT NULL,
    carrier INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    invoice_date INTEGER NOT NULL,
    due_date INTEGER NOT NULL,
    evidence BLOB NOT NULL,
    submitter TEXT NOT NULL,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx BLOB NOT NULL,
    status INTEGER NOT NULL,
    paid_date INTEGER NOT NULL,
    changed_block INTEGER NOT NULL,
    changed_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS settlements_shipper ON settlements (shipper);
CREATE INDEX IF NOT EXISTS settlements_carrier ON settlements (carrier);
CREATE INDEX IF NOT EXISTS settlements_platform ON settlements (platform);
CREATE TABLE IF NOT EXISTS changes (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    status INTEGER NOT NULL,
    number INTEGER NOT NULL,
    actor TEXT NOT NULL,
    word BLOB,
    lender TEXT,
    tx BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_seq ON changes (seq, block, log_index);
"""


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    indexed: bool


def _event_abi(client: ChainClient, contract: str, event: str) -> dict[str, Any]:
    # the shipped artifact's ABI (cached), not a web3 Contract: opening the index must stay cheap for a round
    for item in artifact(contract)["abi"]:
        if item.get("type") == "event" and item.get("name") == event:
            return dict(item)
    raise InvalidInput(f"{contract} has no event {event}.")


def _topic(abi: dict[str, Any]) -> str:
    return "0x" + event_abi_to_log_topic(abi).hex()  # type: ignore[arg-type]


def _sql_type(abi_type: str) -> str:
    if abi_type.endswith("]") or abi_type in ("string", "address"):
        return "TEXT"
    if abi_type.startswith("bytes"):
        return "BLOB"
    return "INTEGER"


def _plain(abi_type: str, value: Any) -> Any:
    """An argument as the index stores it (see EventTable)."""
    if abi_type.endswith("]"):
        return json.dumps([_json_item(v) for v in value])
    if abi_type == "address":
        return str(value).lower()
    if abi_type == "bool":
        return int(bool(value))
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    return value


def _json_item(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else value
    return value


@dataclass
class _Decoder:
    """Decodes the raw logs of one EventTable into rows."""

    spec: EventTable
    address: str
    topic: str
    columns: list[_Column]
    data_types: list[str]

    @classmethod
    def build(cls, client: ChainClient, spec: EventTable) -> _Decoder:
        abi = _event_abi(client, spec.contract, spec.event)
        columns = [_Column(str(i["name"]), str(i["type"]), bool(i.get("indexed"))) for i in abi["inputs"]]
        address = str(client.deployment.addresses[spec.contract]).lower()
        return cls(spec, address, _topic(abi), columns, [c.type for c in columns if not c.indexed])

    def ddl(self) -> list[str]:
        cols = ", ".join(
            f'"{c.name}" {"BLOB" if c.indexed and _dynamic(c.type) else _sql_type(c.type)}' for c in self.columns
        )
        out = [
            f'CREATE TABLE IF NOT EXISTS "{self.spec.table}" (block INTEGER NOT NULL, log_index INTEGER NOT NULL, '
            f"tx BLOB NOT NULL, {cols}, PRIMARY KEY (block, log_index)) WITHOUT ROWID"
        ]
        for name in self.spec.indexed:
            out.append(f'CREATE INDEX IF NOT EXISTS "{self.spec.table}_{name}" ON "{self.spec.table}" ("{name}")')
        return out

    def row(self, entry: dict[str, Any]) -> tuple[Any, ...]:
        topics = entry["topics"][1:]
        data = iter(abi_decode(self.data_types, bytes.fromhex(entry["data"][2:])))
        values: list[Any] = []
        t = 0
        for c in self.columns:
            if c.indexed:
                raw = bytes.fromhex(topics[t][2:])
                t += 1
                values.append(raw if _dynamic(c.type) else _plain(c.type, abi_decode([c.type], raw)[0]))
            else:
                values.append(_plain(c.type, next(data)))
        return (
            int(entry["blockNumber"], 16),
            int(entry["logIndex"], 16),
            bytes.fromhex(entry["transactionHash"][2:]),
            *values,
        )

    def insert_sql(self) -> str:
        names = ", ".join(f'"{c.name}"' for c in self.columns)
        marks = ", ".join("?" for _ in range(len(self.columns) + 3))
        return f'INSERT OR IGNORE INTO "{self.spec.table}" (block, log_index, tx, {names}) VALUES ({marks})'


def _dynamic(abi_type: str) -> bool:
    return abi_type in ("string", "bytes") or abi_type.endswith("]")


CONFIRMATIONS_ENV: Final = "CREDITSHARE_INDEX_CONFIRMATIONS"


def default_confirmations() -> int:
    """The confirmation depth when none is given: CREDITSHARE_INDEX_CONFIRMATIONS, else 0 (Anvil)."""
    raw = os.environ.get(CONFIRMATIONS_ENV, "").strip()
    if not raw:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5 or int(raw) > 10_000:
        raise InvalidInput(f"{CONFIRMATIONS_ENV} must be a whole number of blocks from 0 to 10000; got {raw!r}.")
    return int(raw)


def index_path(data_dir: Path, chain_id: int, ledger: str) -> Path:
    """Where a node keeps the index of one chain and ledger."""
    return data_dir / "index" / f"{chain_id}-{ledger.lower()}.sqlite3"


class ChainIndex:
    """The index of one node: open it with ``ChainIndex(client)``, then ``catch_up()`` and read.

    ``confirmations``: blocks behind the head that a catch-up stops at (see the module docstring).
    """

    def __init__(self, client: ChainClient, *, confirmations: int | None = None, path: Path | None = None) -> None:
        if confirmations is None:
            confirmations = default_confirmations()
        if confirmations < 0:
            raise InvalidInput(f"confirmations must be 0 or more; got {confirmations}.")
        self.client = client
        self.confirmations = confirmations
        self.chain_id = client.settings.network.chain_id
        self.ledger = str(client.deployment.addresses.get("SettlementLedger", "")).lower()
        if not self.ledger:
            raise InvalidInput(
                f"SettlementLedger is not deployed on the {client.settings.network.name} network; "
                "run `creditshare deploy`."
            )
        self.from_block = int(client.deployment.from_block)
        self.path = path or index_path(client.settings.data_dir, self.chain_id, self.ledger)
        self._kind_topic = {name: _topic(_event_abi(client, "SettlementLedger", name)) for name in KINDS}
        self._topic_kind = {topic: i for i, topic in enumerate(self._kind_topic.values())}
        self._decoders = [
            _Decoder.build(client, spec) for spec in EVENT_TABLES if spec.contract in client.deployment.addresses
        ]
        self.rebuilt: str | None = None  # why the file was rebuilt on opening or on the last catch-up
        self._codes: dict[bytes, int] = {}  # subject id -> code, within one range (see _subject)
        self.db = self._open()

    # -- the file ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed range survives a process kill
        db.execute("PRAGMA cell_size_check=ON")  # a damaged page is an error, not wrong rows
        db.execute("PRAGMA foreign_keys=OFF")
        return db

    def _open(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = None
        try:
            db = self._connect()
            self._init(db)
            return db
        except sqlite3.DatabaseError as err:
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.close()
            self._drop_file(f"unreadable index file ({err})")
            db = self._connect()
            self._init(db)
            return db

    def _drop_file(self, reason: str) -> None:
        log.warning("rebuilding the chain index %s: %s", self.path, reason)
        self.rebuilt = reason
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def _init(self, db: sqlite3.Connection) -> None:
        """Creates the schema, or checks and migrates an existing one (anything else: IndexCorrupt)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            version = None
            if has_meta:
                row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else None
            if version is not None and version < SCHEMA_VERSION:
                while version < SCHEMA_VERSION:
                    if version not in MIGRATIONS:
                        raise sqlite3.DatabaseError(f"no migration from index schema version {version}")
                    MIGRATIONS[version](db)
                    version += 1
                db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
            elif version is not None and version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"index schema version {version} is newer than this code's")
            for statement in _CORE_SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for decoder in self._decoders:
                for statement in decoder.ddl():
                    db.execute(statement)
            expected = {
                "schema_version": str(SCHEMA_VERSION),
                "chain_id": str(self.chain_id),
                "ledger": self.ledger,
                "from_block": str(self.from_block),
                # a table added later (a new EventTable, a contract deployed later) lacks the earlier blocks' rows
                "event_tables": ",".join(f"{d.spec.table}@{d.address}" for d in self._decoders),
            }
            stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if version is not None and any(stored.get(k) != v for k, v in expected.items()):
                raise sqlite3.DatabaseError(f"index metadata {stored} is not this chain's {expected}")
            for key, value in expected.items():
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ChainIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def check(self) -> str:
        """``PRAGMA quick_check``: "ok" or SQLite's first complaint."""
        try:
            return str(self.db.execute("PRAGMA quick_check").fetchone()[0])
        except sqlite3.DatabaseError as err:
            return str(err)

    def rebuild(self, reason: str = "asked to") -> None:
        """Starts again from the deployment block (the next catch-up fills the index): the tables are emptied
        in one transaction (``reset``), so processes that have the file open carry on with the new content."""
        self.reset(reason)

    def _recreate(self, reason: str) -> None:
        """Deletes a damaged file and creates a new one (its content cannot be trusted, not even to empty it)."""
        self._codes.clear()
        self.db.close()
        self._drop_file(reason)
        self.db = self._open()
        self.rebuilt = reason

    def reset(self, reason: str) -> None:
        """Empties every table in one transaction, keeping the file: what a chain that no longer matches the
        index calls for (the file itself is sound, and other processes may have it open: unlinking it under
        them would let their next range land in a deleted file)."""
        log.warning("resetting the chain index %s: %s", self.path, reason)
        self._codes.clear()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            tables = [
                r[0]
                for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'meta'").fetchall()
            ]
            for table in tables:
                db.execute(f'DELETE FROM "{table}"')
            db.execute("DELETE FROM meta WHERE key='last_block'")
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self.rebuilt = reason

    def last_block(self) -> int | None:
        """The last block indexed (None: nothing yet)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='last_block'").fetchone()
        return int(row[0]) if row else None

    # -- catching up ------------------------------------------------------------

    def head(self) -> int:
        return int(self.client.read(lambda: self.client.w3.eth.block_number, "block number"))

    def catch_up(self, to_block: int | None = None, *, on_range: Callable[[int, int, int], None] | None = None) -> int:
        """Indexes the blocks after the last indexed one up to ``to_block`` (default: the head minus the
        confirmations); returns the number of events applied. A stored block hash that the chain no longer
        has rebuilds the index first. ``on_range(first, last, events)`` follows progress."""
        try:
            return self._catch_up(to_block, on_range)
        except sqlite3.DatabaseError as err:
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise ChainError(f"the chain index {self.path} is locked by another process: {err}") from err
            self._recreate(f"damaged index file ({err})")
            return self._catch_up(to_block, on_range)

    def _catch_up(self, to_block: int | None, on_range: Callable[[int, int, int], None] | None) -> int:
        head = self.head()
        target = head - self.confirmations if to_block is None else to_block
        if to_block is not None and to_block > head:
            raise InvalidInput(f"block {to_block} is beyond the chain's head {head}.")
        self._check_chain(head)
        applied = 0
        span = FIRST_SPAN
        while True:
            last = self.last_block()
            start = self.from_block if last is None else last + 1
            if start > target:
                return applied
            end = min(start + span - 1, target)
            logs = self._logs(start, end)
            if len(logs) > MAX_RANGE_LOGS and end > start:
                span = max(1, (end - start + 1) // 2)
                continue
            applied += self._apply(start, end, logs)
            if on_range is not None:
                on_range(start, end, len(logs))
            if len(logs) < MAX_RANGE_LOGS // 4:
                span = min(MAX_SPAN, span * 2)

    def _check_chain(self, head: int) -> None:
        """Rebuilds the index if its last block is not the chain's block of that number."""
        last = self.last_block()
        if last is None:
            return
        row = self.db.execute("SELECT hash FROM blocks WHERE number=?", (last,)).fetchone()
        if row is None:
            self.reset(f"the hash of the last indexed block {last} is missing")
            return
        if last > head:
            self.reset(f"the chain's head {head} is behind the last indexed block {last} (a reset chain?)")
            return
        block = self._block(last)
        if block is None or block[0] != bytes(row[0]):
            self.reset(f"block {last} is not the one indexed (a reset chain, a reorg or another network)")

    def _block(self, number: int) -> tuple[bytes, int] | None:
        raw = self.client.rpc("eth_getBlockByNumber", [hex(number), False], "block")
        found = raw.get("result")
        if not found:
            return None
        return bytes.fromhex(found["hash"][2:]), int(found["timestamp"], 16)

    def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        addresses = [self.ledger, *{d.address for d in self._decoders}]
        topics = [[*self._kind_topic.values(), *(d.topic for d in self._decoders)]]
        query = {"address": addresses, "fromBlock": hex(start), "toBlock": hex(end), "topics": topics}
        response = self.client.rpc("eth_getLogs", [query], "event logs")
        if "error" in response:
            raise ChainError(f"the node refused a log query: {response['error'].get('message', response['error'])}")
        logs: list[dict[str, Any]] = response.get("result", [])
        logs.sort(key=lambda e: (int(e["blockNumber"], 16), int(e["logIndex"], 16)))
        return logs

    def _apply(self, start: int, end: int, logs: list[dict[str, Any]]) -> int:
        """Applies the logs of blocks start..end in one transaction; returns the events applied."""
        numbers = sorted({int(e["blockNumber"], 16) for e in logs} | {end})
        blocks: dict[int, tuple[bytes, int]] = {}
        for n in numbers:
            found = self._block(n)
            if found is None:
                raise ChainError(f"block {n} disappeared while indexing (a reorg?); try again.")
            blocks[n] = found
        for e in logs:  # the logs and the blocks read must be of one chain
            if bytes.fromhex(e["blockHash"][2:]) != blocks[int(e["blockNumber"], 16)][0]:
                raise ChainError(f"block {int(e['blockNumber'], 16)} changed while indexing (a reorg?); try again.")
        decoders = {(d.address, d.topic): d for d in self._decoders}
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        self._codes.clear()  # another process may have reset the index since the last range: codes from then lie
        try:
            last = self.last_block()
            if (self.from_block if last is None else last + 1) != start:
                db.execute("ROLLBACK")  # another process indexed this range first
                return 0
            db.executemany(
                "INSERT OR REPLACE INTO blocks (number, hash, time) VALUES (?, ?, ?)",
                [(n, h, t) for n, (h, t) in blocks.items()],
            )
            applied = 0
            pending: list[tuple] = []
            for e in logs:
                address, topic = e["address"].lower(), e["topics"][0]
                if address == self.ledger and topic in self._topic_kind:
                    applied += self._apply_ledger(e, blocks, pending)
                else:
                    decoder = decoders.get((address, topic))
                    if decoder is not None:
                        db.execute(decoder.insert_sql(), decoder.row(e))
                        applied += 1
            applied += self._flush(pending)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_block', ?)", (str(end),))
            db.execute("COMMIT")
            return applied
        except BaseException:
            self._codes.clear()
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def _subject(self, raw: bytes) -> int:
        """The code of subject ``raw`` (added if new), cached for one range's transaction (up to SUBJECT_CACHE)."""
        code = self._codes.get(raw)
        if code is None:
            row = self.db.execute("SELECT code FROM subjects WHERE id=?", (raw,)).fetchone()
            if row is None:
                code = int(self.db.execute("INSERT INTO subjects (id) VALUES (?)", (raw,)).lastrowid or 0)
            else:
                code = int(row[0])
            if len(self._codes) >= SUBJECT_CACHE:
                self._codes.clear()
            self._codes[raw] = code
        return code

    def _apply_ledger(self, e: dict[str, Any], blocks: dict[int, tuple[bytes, int]], pending: list[tuple]) -> int:
        """Applies one ledger event; a submission is queued in ``pending`` (inserted by ``_flush``, before the
        next lifecycle event and at the end of the range: batches of submissions are the bulk of a ledger)."""
        topics = e["topics"]
        kind = self._topic_kind[topics[0]]
        sid = bytes.fromhex(topics[1][2:])
        block, index = int(e["blockNumber"], 16), int(e["logIndex"], 16)
        tx = bytes.fromhex(e["transactionHash"][2:])
        when = blocks[block][1]
        db = self.db
        if kind == 0:  # SettlementSubmitted: six static words (SUBMITTED_DATA), sliced rather than ABI-decoded
            data = e["data"][2:]
            if len(data) != 64 * len(SUBMITTED_DATA):
                raise ChainError(f"a SettlementSubmitted event of block {block} has {len(data) // 2} data bytes.")
            w = [data[i : i + 64] for i in range(0, 384, 64)]
            pending.append(
                (
                    sid,
                    self._subject(bytes.fromhex(topics[2][2:])),
                    self._subject(bytes.fromhex(w[0])),
                    self._subject(bytes.fromhex(topics[3][2:])),
                    int(w[1], 16),
                    int(w[2], 16),
                    int(w[3], 16),
                    bytes.fromhex(w[4]),
                    "0x" + w[5][24:],
                    block,
                    index,
                    tx,
                    int(Status.INVOICED),
                    block,
                    when,
                )
            )
            return 0
        applied = self._flush(pending)
        row = db.execute("SELECT seq, paid_date FROM settlements WHERE id=?", (sid,)).fetchone()
        if row is None:  # the contract never moves an unknown id: an index that missed its submission is broken
            raise sqlite3.DatabaseError(f"lifecycle event for settlement 0x{sid.hex()} that the index never saw")
        seq, paid = int(row[0]), int(row[1])
        name = KINDS[kind]
        status, number, word, lender = LIFECYCLE[name], 0, None, None
        data = bytes.fromhex(e["data"][2:])
        if name == "SettlementPledged":
            lender, word = "0x" + topics[2][-40:], bytes.fromhex(topics[3][2:])
            (actor,) = abi_decode(["address"], data)
        elif name in ("SettlementPaymentDeclared", "SettlementPaid"):
            (number,) = abi_decode(["uint64"], data)
            actor, paid = "0x" + topics[2][-40:], int(number)
        elif name == "SettlementDisputed":
            (word,) = abi_decode(["bytes32"], data)
            actor = "0x" + topics[2][-40:]
        elif name == "SettlementResolved":
            (number,) = abi_decode(["uint8"], data)
            actor, status = "0x" + topics[2][-40:], Status(int(number))
        else:
            actor = "0x" + topics[2][-40:]
        cur = db.execute(
            "INSERT OR IGNORE INTO changes (block, log_index, seq, kind, status, number, actor, word, lender, tx) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (block, index, seq, kind, int(status), int(number), str(actor).lower(), word, lender, tx),
        )
        if cur.rowcount:
            db.execute(
                "UPDATE settlements SET status=?, paid_date=?, changed_block=?, changed_time=? WHERE seq=?",
                (int(status), paid, block, when, seq),
            )
        return applied + cur.rowcount

    def _flush(self, pending: list[tuple]) -> int:
        if not pending:
            return 0
        cur = self.db.executemany(
            "INSERT OR IGNORE INTO settlements (id, shipper, platform, carrier, amount, invoice_date, due_date, "
            "evidence, submitter, block, log_index, tx, status, paid_date, changed_block, changed_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            pending,
        )
        pending.clear()
        return int(cur.rowcount)

    # -- reading ----------------------------------------------------------------

    def ready(self, block: int | None = None) -> int:
        """Catches up to ``block`` (default: the head minus the confirmations) unless already there; returns
        the block the index now reads as of."""
        if block is None:
            self.catch_up()
            last = self.last_block()
            return self.from_block - 1 if last is None else last
        last = self.last_block()
        if last is None or last < block:
            self.catch_up(block)
        else:
            self._check_chain(self.head())
            if self.rebuilt:
                self.catch_up(block)
        return block

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same committed state."""
        self.db.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.execute("COMMIT")

    def frame(
        self, block: int | None = None, *, subjects: Iterable[str] | None = None, roles: Sequence[str] = ("shipper",)
    ) -> Any:
        """The settlements as of ``block`` (default: as indexed after a catch-up), as the DataFrame of
        ``settlement_frame``; with ``subjects`` (0x subject ids), only the settlements where one of them plays
        one of ``roles`` (shipper, platform, carrier): a round reads its due subjects' rows, not the history."""
        wanted = None if subjects is None else list(subjects)
        if not set(roles) <= set(SCORED_ROLES) or not roles:
            raise InvalidInput(f"roles must be among {', '.join(SCORED_ROLES)}; got {', '.join(roles) or 'none'}.")
        for _ in range(3):
            as_of = self.ready(block)
            try:
                rows = self._rows(as_of, wanted, tuple(roles))
            except sqlite3.DatabaseError as err:
                self._recreate(f"damaged index file ({err})")
                continue
            if rows is not None:
                return frame_from_rows(rows)
        raise ChainError(f"the chain index {self.path} keeps being reset by another process; try again.")

    def _rows(self, block: int, subjects: Iterable[str] | None, roles: tuple[str, ...]) -> list[list[Any]] | None:
        """The frame's rows as of ``block``; None if the index no longer reaches that block (another process
        reset it between the catch-up and this read)."""
        select = (
            "SELECT s.seq, s.id, sh.id, pl.id, ca.id, s.amount, s.invoice_date, s.due_date, s.evidence, s.status, "
            "s.paid_date, s.changed_block, s.changed_time FROM settlements s JOIN subjects sh ON sh.code = s.shipper "
            "JOIN subjects pl ON pl.code = s.platform JOIN subjects ca ON ca.code = s.carrier WHERE s.block <= ?"
        )
        with self._snapshot() as db:
            reached = self.last_block()
            if block >= self.from_block and (reached is None or reached < block):
                return None
            if subjects is None:
                raw = db.execute(select + " ORDER BY s.seq", (block,)).fetchall()
            else:
                # each subject's rows through the role columns' SQL indexes; a row where two wanted subjects
                # (or one in two roles) meet is read once
                codes = self._codes_of(db, subjects)
                found: dict[int, Any] = {}
                for role in roles:
                    for i in range(0, len(codes), SQL_VARS):
                        chunk = codes[i : i + SQL_VARS]
                        marks = ",".join("?" * len(chunk))
                        for row in db.execute(select + f" AND s.{role} IN ({marks})", (block, *chunk)):
                            found[row[0]] = row
                raw = [found[seq] for seq in sorted(found)]
            late = [r[0] for r in raw if r[11] > block]
            earlier = self._states_as_of(db, late, block) if late else {}
        labels = {int(s): s.label for s in Status}
        rows = []
        for seq, sid, shipper, platform, carrier, amount, invoice, due, evidence, status, paid, cb, ct in raw:
            if cb > block:
                status, paid, ct = earlier[seq]
            final = status == Status.PAID
            rows.append(
                [
                    "0x" + sid.hex(),
                    "0x" + shipper.hex(),
                    "0x" + platform.hex(),
                    "0x" + carrier.hex(),
                    amount,
                    invoice,
                    due,
                    "0x" + evidence.hex(),
                    paid if final else 0,
                    labels[status],
                    paid if final else ct,
                ]
            )
        return rows

    @staticmethod
    def _codes_of(db: sqlite3.Connection, subjects: Iterable[str]) -> list[int]:
        """The index's integer codes of ``subjects`` (0x ids) it has seen, sorted."""
        wanted = sorted({bytes.fromhex(str(s)[2:]) for s in subjects})
        codes: list[int] = []
        for i in range(0, len(wanted), SQL_VARS):
            chunk = wanted[i : i + SQL_VARS]
            marks = ",".join("?" * len(chunk))
            codes += [int(c) for (c,) in db.execute(f"SELECT code FROM subjects WHERE id IN ({marks})", chunk)]
        return sorted(codes)

    def _states_as_of(self, db: sqlite3.Connection, seqs: list[int], block: int) -> dict[int, tuple[int, int, int]]:
        """(status, paid date, time of the last change) of settlements ``seqs`` as of ``block``."""
        out: dict[int, tuple[int, int, int]] = {}
        for i in range(0, len(seqs), SQL_VARS):
            chunk = seqs[i : i + SQL_VARS]
            marks = ",".join("?" * len(chunk))
            for seq, sb in db.execute(f"SELECT seq, block FROM settlements WHERE seq IN ({marks})", chunk):
                out[seq] = (
                    int(Status.INVOICED),
                    0,
                    int(db.execute("SELECT time FROM blocks WHERE number=?", (sb,)).fetchone()[0]),
                )
            query = (
                "SELECT c.seq, c.status, c.number, c.kind, b.time FROM changes c JOIN blocks b ON b.number = c.block "
                f"WHERE c.seq IN ({marks}) AND c.block <= ? ORDER BY c.block, c.log_index"
            )
            for seq, status, number, kind, when in db.execute(query, (*chunk, block)):
                paid = out[seq][1]
                if KINDS[kind] in ("SettlementPaymentDeclared", "SettlementPaid"):
                    paid = int(number)
                out[seq] = (int(status), paid, int(when))
        return out

    def history(self, sid: bytes) -> list[dict[str, Any]]:
        """Every indexed ledger event about settlement ``sid``, oldest first, in the shape of
        ``SettlementLedger.history`` (event, block, log_index, tx, args)."""
        self.ready()
        with self._snapshot() as db:
            row = db.execute(
                "SELECT s.seq, sh.id, ca.id, pl.id, s.amount, s.invoice_date, s.due_date, s.evidence, s.submitter, "
                "s.block, s.log_index, s.tx FROM settlements s JOIN subjects sh ON sh.code = s.shipper "
                "JOIN subjects pl ON pl.code = s.platform JOIN subjects ca ON ca.code = s.carrier WHERE s.id = ?",
                (sid,),
            ).fetchone()
            if row is None:
                return []
            seq, shipper, carrier, platform, amount, invoice, due, evidence, submitter, block, index, tx = row
            changes = db.execute(
                "SELECT block, log_index, kind, number, actor, word, lender, tx FROM changes WHERE seq=? "
                "ORDER BY block, log_index",
                (seq,),
            ).fetchall()
        hexid = "0x" + sid.hex()
        out = [
            {
                "event": "SettlementSubmitted",
                "block": block,
                "log_index": index,
                "tx": "0x" + tx.hex(),
                "args": {
                    "id": hexid,
                    "shipper": "0x" + shipper.hex(),
                    "carrier": "0x" + carrier.hex(),
                    "platform": "0x" + platform.hex(),
                    "amount": amount,
                    "invoiceDate": invoice,
                    "dueDate": due,
                    "evidence": "0x" + evidence.hex(),
                    "submitter": to_checksum_address(submitter),
                },
            }
        ]
        for cblock, cindex, kind, number, actor, word, lender, ctx in changes:
            name = KINDS[kind]
            args: dict[str, Any] = {"id": hexid}
            if name == "SettlementPledged":
                args |= {"lender": to_checksum_address(lender), "evidence": "0x" + word.hex()}
            elif name in ("SettlementPaymentDeclared", "SettlementPaid"):
                args["paidDate"] = number
            elif name == "SettlementDisputed":
                args["reasonHash"] = "0x" + word.hex()
            elif name == "SettlementResolved":
                args["outcome"] = number
            args["by"] = to_checksum_address(actor)
            out.append({"event": name, "block": cblock, "log_index": cindex, "tx": "0x" + ctx.hex(), "args": args})
        return out

    def by_subject(self, subject: bytes) -> list[str]:
        """Ids (0x) of the settlements where ``subject`` is shipper, platform or carrier, in the order
        ``SettlementLedger.by_subject`` gives them (invoice date, then id)."""
        self.ready()
        with self._snapshot() as db:
            code = db.execute("SELECT code FROM subjects WHERE id=?", (subject,)).fetchone()
            if code is None:
                return []
            rows = db.execute(
                "SELECT invoice_date, id FROM settlements WHERE shipper=?1 OR platform=?1 OR carrier=?1", (code[0],)
            ).fetchall()
        return ["0x" + bytes(i).hex() for _, i in sorted(rows, key=lambda r: (r[0], bytes(r[1])))]

    def touched_shippers(self, start: int, end: int) -> dict[str, int]:
        """Shipper (0x id) -> block of the last ledger event in blocks (start, end] about a settlement it pays
        (its submission or a lifecycle change): the ledger part of oracle.rounds.affected, without a log scan."""
        self.ready(end)
        with self._snapshot() as db:
            first = self._first_seq_after(db, start)
            out: dict[str, int] = {}
            queries = (
                "SELECT sh.id, max(s.block) FROM settlements s JOIN subjects sh ON sh.code = s.shipper "
                "WHERE s.seq >= ?1 AND s.block > ?2 AND s.block <= ?3 GROUP BY s.shipper",
                "SELECT sh.id, max(c.block) FROM changes c JOIN settlements s ON s.seq = c.seq "
                "JOIN subjects sh ON sh.code = s.shipper WHERE c.block > ?2 AND c.block <= ?3 AND ?1 >= 0 "
                "GROUP BY s.shipper",
            )
            for query in queries:
                for raw, block in db.execute(query, (first, start, end)):
                    key = "0x" + bytes(raw).hex()
                    out[key] = max(int(block), out.get(key, -1))
        return out

    @staticmethod
    def _first_seq_after(db: sqlite3.Connection, block: int) -> int:
        """The first settlement seq submitted after ``block`` (seqs follow block order): a binary search."""
        top = db.execute("SELECT max(seq) FROM settlements").fetchone()[0]
        lo, hi = 1, (int(top) if top is not None else 0) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = db.execute("SELECT block FROM settlements WHERE seq >= ? ORDER BY seq LIMIT 1", (mid,)).fetchone()
            if row is None or int(row[0]) > block:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def shippers(self, block: int | None = None) -> list[str]:
        """Every shipper (0x id) with a settlement submitted by ``block`` (default: as indexed), sorted."""
        as_of = self.ready(block)
        rows = self.db.execute(
            "SELECT DISTINCT sh.id FROM settlements s JOIN subjects sh ON sh.code = s.shipper WHERE s.block <= ?",
            (as_of,),
        ).fetchall()
        return sorted("0x" + bytes(r[0]).hex() for r in rows)

    def _tables(self) -> set[str]:
        return {d.spec.table for d in self._decoders}

    def touched_subjects(self, start: int, end: int) -> dict[str, int]:
        """Every subject (0x id), whatever its role, -> block of the last event in blocks (start, end] that
        touches it: a settlement it is party to (submitted or changed, as shipper, platform or carrier), a payout
        it owes or is owed (recorded or changed), a trip verdict on a settlement it is party to. The every-role
        part of a daemon round's due subjects (#17); ``touched_shippers`` is its shipper-only predecessor."""
        self.ready(end)
        tables = self._tables()
        out: dict[str, int] = {}
        with self._snapshot() as db:
            first = self._first_seq_after(db, start)
            queries = []
            for col in ("shipper", "platform", "carrier"):
                queries.append(
                    f"SELECT p.id, max(s.block) FROM settlements s JOIN subjects p ON p.code = s.{col} "
                    f"WHERE s.seq >= ?1 AND s.block > ?2 AND s.block <= ?3 GROUP BY s.{col}"
                )
                queries.append(
                    f"SELECT p.id, max(c.block) FROM changes c JOIN settlements s ON s.seq = c.seq "
                    f"JOIN subjects p ON p.code = s.{col} WHERE c.block > ?2 AND c.block <= ?3 AND ?1 >= 0 "
                    f"GROUP BY s.{col}"
                )
                if "trips" in tables:
                    queries.append(
                        f'SELECT p.id, max(t.block) FROM "trips" t JOIN settlements s ON s.id = t."settlementId" '
                        f"JOIN subjects p ON p.code = s.{col} WHERE t.block > ?2 AND t.block <= ?3 AND ?1 >= 0 "
                        f"GROUP BY s.{col}"
                    )
            if "payouts" in tables:
                steps = [t for t in PAYOUT_STEP_TABLES if t in tables]
                for col in ("platform", "carrier"):
                    queries.append(
                        f'SELECT "{col}", max(block) FROM "payouts" WHERE block > ?2 AND block <= ?3 AND ?1 >= 0 '
                        f'GROUP BY "{col}"'
                    )
                    for step in steps:
                        queries.append(
                            f'SELECT p."{col}", max(x.block) FROM "{step}" x JOIN "payouts" p ON p.id = x.id '
                            f'WHERE x.block > ?2 AND x.block <= ?3 AND ?1 >= 0 GROUP BY p."{col}"'
                        )
            for query in queries:
                for raw, block in db.execute(query, (first, start, end)):
                    key = "0x" + bytes(raw).hex()
                    out[key] = max(int(block), out.get(key, -1))
        return out

    def subject_roles(self, block: int | None = None, subjects: Iterable[str] | None = None) -> dict[str, str]:
        """The role each subject (0x id) is scored in, as of ``block``: the first of ``SCORED_ROLES`` (shipper,
        platform, carrier) it plays in a settlement or a payout submitted by then; with ``subjects``, only those
        (a subject with no record by then is left out). One role per subject: the ScoreOracle holds one score
        per subject id."""
        as_of = self.ready(block)
        tables = self._tables()
        wanted = None if subjects is None else {str(x).lower() for x in subjects}
        found: dict[str, set[str]] = {}
        with self._snapshot() as db:
            for col in SCORED_ROLES:
                if wanted is None:
                    rows = db.execute(
                        f"SELECT DISTINCT p.id FROM settlements s JOIN subjects p ON p.code = s.{col} "
                        "WHERE s.block <= ?",
                        (as_of,),
                    ).fetchall()
                    if col != "shipper" and "payouts" in tables:
                        rows += db.execute(
                            f'SELECT DISTINCT "{col}" FROM "payouts" WHERE block <= ?', (as_of,)
                        ).fetchall()
                else:  # only the wanted subjects, each looked up through the SQL indexes: costs what is asked
                    rows = self._having_role(db, col, sorted(wanted), as_of, "payouts" in tables)
                for (raw,) in rows:
                    found.setdefault("0x" + bytes(raw).hex(), set()).add(col)
        return {
            subject: next(r for r in SCORED_ROLES if r in roles)
            for subject, roles in sorted(found.items())
            if wanted is None or subject in wanted
        }

    @staticmethod
    def _having_role(db: sqlite3.Connection, col: str, subjects: list[str], as_of: int, payouts: bool) -> list[Any]:
        """(id,) rows of the ``subjects`` (0x ids) that play ``col`` in a settlement (or a payout) by ``as_of``."""
        rows: list[Any] = []
        ids = [bytes.fromhex(s[2:]) for s in subjects]
        for i in range(0, len(ids), SQL_VARS):
            chunk = ids[i : i + SQL_VARS]
            marks = ",".join("?" * len(chunk))
            rows += db.execute(
                f"SELECT p.id FROM subjects p WHERE p.id IN ({marks}) AND EXISTS "
                f"(SELECT 1 FROM settlements s WHERE s.{col} = p.code AND s.block <= ?)",
                (*chunk, as_of),
            ).fetchall()
            if col != "shipper" and payouts:
                rows += db.execute(
                    f'SELECT DISTINCT "{col}" FROM "payouts" WHERE "{col}" IN ({marks}) AND block <= ?',
                    (*chunk, as_of),
                ).fetchall()
        return rows

    def payout_ids(self, subjects: Iterable[str], block: int | None = None) -> list[bytes]:
        """The ids of the payouts recorded by ``block`` where one of ``subjects`` (0x ids) is the platform or
        the carrier, sorted; [] when PayoutLedger is not deployed."""
        as_of = self.ready(block)
        if "payouts" not in self._tables():
            return []
        ids = sorted({bytes.fromhex(str(s)[2:]) for s in subjects})
        found: set[bytes] = set()
        with self._snapshot() as db:
            for i in range(0, len(ids), SQL_VARS):
                chunk = ids[i : i + SQL_VARS]
                marks = ",".join("?" * len(chunk))
                for col in ("platform", "carrier"):
                    query = f'SELECT id FROM "payouts" WHERE "{col}" IN ({marks}) AND block <= ?'
                    found.update(bytes(r[0]) for r in db.execute(query, (*chunk, as_of)))
        return sorted(found)

    def parties(self, role: str, block: int | None = None) -> list[str]:
        """Every subject (0x id) scored as ``role`` (see ``subject_roles``) as of ``block``, sorted."""
        if role not in SCORED_ROLES:
            raise InvalidInput(f"role must be one of {', '.join(SCORED_ROLES)}; got {role!r}.")
        return sorted(s for s, r in self.subject_roles(block).items() if r == role)

    def trip_rows(
        self, block: int | None = None, settlements: Iterable[str] | None = None
    ) -> list[tuple[str, int, int]]:
        """The latest trip verdict of each settlement as of ``block``: (settlement id 0x, verdict, energy) codes
        of ITripRegistry; [] when TripRegistry is not deployed. With ``settlements`` (0x ids), only theirs."""
        as_of = self.ready(block)
        if "trips" not in self._tables():
            return []
        latest: dict[bytes, tuple[int, int]] = {}
        select = 'SELECT "settlementId", verdict, energy FROM "trips" WHERE block <= ?'
        with self._snapshot() as db:
            if settlements is None:
                rows = db.execute(select + " ORDER BY block, log_index", (as_of,)).fetchall()
            else:  # a settlement's verdicts all fall in one chunk, so each keeps its order
                ids = sorted({bytes.fromhex(str(s)[2:]) for s in settlements})
                rows = []
                for i in range(0, len(ids), SQL_VARS):
                    chunk = ids[i : i + SQL_VARS]
                    marks = ",".join("?" * len(chunk))
                    rows += db.execute(
                        select + f' AND "settlementId" IN ({marks}) ORDER BY block, log_index', (as_of, *chunk)
                    ).fetchall()
        for sid, verdict, energy in rows:
            latest[bytes(sid)] = (int(verdict), int(energy))
        return [("0x" + sid.hex(), v, e) for sid, (v, e) in latest.items()]

    def records_of(self, subject: bytes, roles: Sequence[str] = ("shipper", "carrier")) -> list[Settlement]:
        """The submitted records where ``subject`` plays one of ``roles`` (shipper, platform, carrier), sorted
        by invoice date then id (``SettlementLedger.by_subject``'s order)."""
        if not set(roles) <= {"shipper", "platform", "carrier"}:
            raise InvalidInput(f"roles must be among shipper, platform, carrier; got {', '.join(roles)}.")
        self.ready()
        with self._snapshot() as db:
            code = db.execute("SELECT code FROM subjects WHERE id=?", (subject,)).fetchone()
            if code is None or not roles:
                return []
            where = " OR ".join(f"s.{r} = ?1" for r in roles)
            rows = db.execute(
                "SELECT s.id, sh.id, pl.id, ca.id, s.amount, s.invoice_date, s.due_date, s.evidence FROM settlements s "
                "JOIN subjects sh ON sh.code = s.shipper JOIN subjects pl ON pl.code = s.platform "
                f"JOIN subjects ca ON ca.code = s.carrier WHERE {where}",
                (code[0],),
            ).fetchall()
        records = [
            Settlement(
                SettlementId(bytes(i)),
                SubjectId(bytes(sh)),
                SubjectId(bytes(pl)),
                SubjectId(bytes(ca)),
                int(a),
                int(inv),
                int(due),
                bytes(ev),
            )
            for i, sh, pl, ca, a, inv, due, ev in rows
        ]
        return sorted(records, key=lambda r: (r.invoice_date, r.id))

    def rows(self, table: str, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of an EVENT_TABLES table (after a catch-up), oldest first: ``where`` is an SQL condition on
        its columns, with ``?`` for ``params``."""
        if table not in {d.spec.table for d in self._decoders}:
            raise InvalidInput(f"the index has no event table {table!r} on this network.")
        self.ready()
        query = f'SELECT * FROM "{table}"' + (f" WHERE {where}" if where else "") + " ORDER BY block, log_index"
        cur = self.db.execute(query, tuple(params))
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def status(self, *, integrity: bool = False) -> dict[str, Any]:
        """What ``creditshare index status`` prints: where, how far, how big (no catch-up)."""
        head = self.head()
        last = self.last_block()
        counts = {
            "settlements": int(self.db.execute("SELECT count(*) FROM settlements").fetchone()[0]),
            "changes": int(self.db.execute("SELECT count(*) FROM changes").fetchone()[0]),
        }
        for d in self._decoders:
            counts[d.spec.table] = int(self.db.execute(f'SELECT count(*) FROM "{d.spec.table}"').fetchone()[0])
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        out: dict[str, Any] = {
            "path": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "chain_id": self.chain_id,
            "ledger": to_checksum_address(self.ledger),
            "from_block": self.from_block,
            "last_block": last,
            "head": head,
            "confirmations": self.confirmations,
            "behind": head - self.confirmations - (self.from_block - 1 if last is None else last),
            "rows": counts,
            "bytes": size,
            "rebuilt": self.rebuilt,
        }
        if integrity:
            out["integrity"] = self.check()
        return out


def timed_catch_up(index: ChainIndex) -> tuple[int, float]:
    """Events applied and seconds taken by one catch-up (for `index rebuild` and the benchmark)."""
    started = time.perf_counter()
    events = index.catch_up()
    return events, time.perf_counter() - started


def settlements_as_of(
    client: ChainClient,
    block: int | None = None,
    *,
    subjects: Iterable[str] | None = None,
    roles: Sequence[str] = ("shipper",),
) -> Any:
    """The settlement frame (``settlement_frame``'s columns and values) as of ``block`` (default: the latest
    block), read from this node's index after catching it up; with ``subjects``, only the settlements where
    one of them plays one of ``roles``."""
    with ChainIndex(client) as index:
        return index.frame(block, subjects=subjects, roles=roles)
