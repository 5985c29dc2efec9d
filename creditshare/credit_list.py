"""The shared credit list (CreditList) and its fee token (SettlementToken) through the chain client.

Maintainers post entries from a CSV (one row per entry; see ENTRY_COLUMNS), with
the private details sealed off chain (creditshare.sealed); members pay to view a
subject; anyone concerned contests; the committee resolves; earnings leave by
pull withdrawal. Money is integer fen throughout.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from faster_eth_abi import decode as abi_decode

from creditshare import evidence as ev
from creditshare import sealed
from creditshare.chain import ChainClient, encode_call
from creditshare.errors import DetailsUnavailable, InvalidInput
from creditshare.governance import Governance
from creditshare.ids import parse_bytes32, subject_id, to_hex
from creditshare.settlements import Ledger, RowError, iso_date, parse_date

ENTRY_COLUMNS = ("subject", "category", "amount_fen", "period_from", "period_to", "settlements", "evidence",
                 "details", "stake_fen")
MAX_AMOUNT = 2**128 - 1


class Category(IntEnum):
    PAYMENT_DEFAULT = 0
    FRAUD = 1
    FREIGHT_DISPUTE = 2
    CARGO_DAMAGE = 3
    OTHER = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> Category:
        key = text.strip().upper().replace("-", "_").replace(" ", "_")
        if key not in cls.__members__:
            raise InvalidInput(f"category must be one of {', '.join(c.label for c in cls)}; got {text!r}")
        return cls[key]


BANDS = ("under-10k-yuan", "under-100k-yuan", "under-1m-yuan", "at-least-1m-yuan")
STATUSES = ("none", "active", "contested", "upheld", "overturned")


class InvalidEntryFile(InvalidInput):
    """An entry CSV has bad rows; nothing was posted."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = list(errors)
        super().__init__(f"{path}: {len(self.errors)} bad row(s); nothing was posted")


@dataclass(frozen=True)
class EntryRow:
    """One entry to post, as read from the CSV."""

    line: int
    subject: bytes
    category: Category
    amount: int
    period_from: int
    period_to: int
    settlement_ids: tuple[bytes, ...]
    evidence_path: Path
    evidence: bytes  # sha2-256 digest of the evidence file
    details_path: Path
    stake: int

    def fingerprint(self, maintainer: str) -> tuple[Any, ...]:
        """What makes two entries the same: posting a row twice is detected by it."""
        return (self.subject, to_checksum_address(maintainer), int(self.category), self.amount, self.period_from,
                self.period_to, keccak(b"".join(self.settlement_ids)), self.evidence)


@dataclass(frozen=True)
class Entry:
    """A stored entry's public facts."""

    id: int
    subject: bytes
    maintainer: str
    category: Category
    band: int
    status: int
    posted_at: int
    expires_at: int
    period_from: int
    period_to: int
    amount: int
    stake: int
    settlements_hash: bytes
    evidence: bytes
    details_commitment: bytes

    @classmethod
    def from_tuple(cls, entry_id: int, raw: Sequence[Any]) -> Entry:
        (subject, maintainer, category, band, status, posted, expires, pfrom, pto, amount, stake, shash, evid,
         details) = raw
        return cls(entry_id, bytes(subject), to_checksum_address(maintainer), Category(category), int(band),
                   int(status), int(posted), int(expires), int(pfrom), int(pto), int(amount), int(stake),
                   bytes(shash), bytes(evid), bytes(details))

    def fingerprint(self) -> tuple[Any, ...]:
        return (self.subject, self.maintainer, int(self.category), self.amount, self.period_from, self.period_to,
                self.settlements_hash, self.evidence)

    def counts(self, now: int) -> bool:
        return self.status != 4 and now < self.expires_at

    def to_json(self, now: int) -> dict[str, Any]:
        return {"id": self.id, "subject": to_hex(self.subject), "maintainer": self.maintainer,
                "category": self.category.label, "amount_fen": self.amount, "band": BANDS[self.band],
                "status": STATUSES[self.status], "active": self.counts(now), "posted_at": self.posted_at,
                "expires_at": self.expires_at, "expires": iso_date(self.expires_at),
                "period_from": iso_date(self.period_from), "period_to": iso_date(self.period_to),
                "stake_fen": self.stake, "evidence_cid": ev.cid_from_digest(self.evidence),
                "details_commitment": to_hex(self.details_commitment)}


# -- the CSV ---------------------------------------------------------------------------------------------


def parse_entries(path: Path) -> list[EntryRow]:
    """Reads and validates a whole entry CSV; InvalidEntryFile lists every bad row."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from err
    rows: list[EntryRow] = []
    errors: list[RowError] = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ENTRY_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)}; the header must be "
                               f"{','.join(ENTRY_COLUMNS)}")
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append(_entry_row(line, raw, path.parent))
            except InvalidInput as err:
                errors.append(RowError(line, str(err)))
    if errors:
        raise InvalidEntryFile(path, errors)
    if not rows:
        raise InvalidInput(f"{path} holds no entries.")
    return rows


def _fen(text: str | None, column: str) -> int:
    try:
        value = int((text or "").strip())
    except ValueError as err:
        raise InvalidInput(f"{column} must be a whole number of fen; got {text!r}") from err
    if value < 0 or value > MAX_AMOUNT:
        raise InvalidInput(f"{column} must be between 0 and {MAX_AMOUNT}; got {value}")
    return value


def _file(base: Path, text: str | None, column: str) -> Path:
    if not text or not text.strip():
        raise InvalidInput(f"{column} is empty: name a file (relative to the CSV's folder)")
    path = (base / text.strip()).resolve()
    if not path.is_file():
        raise InvalidInput(f"{column} file {text.strip()} not found")
    return path


def _entry_row(line: int, raw: dict[str, str], base: Path) -> EntryRow:
    amount = _fen(raw.get("amount_fen"), "amount_fen")
    if amount == 0:
        raise InvalidInput("amount_fen must be positive; got 0")
    period_from = parse_date(raw.get("period_from") or "", "period_from")
    period_to = parse_date(raw.get("period_to") or "", "period_to")
    if period_to < period_from:
        raise InvalidInput(f"period_to {raw['period_to']} is before period_from {raw['period_from']}")
    settlements = tuple(parse_bytes32(s, "a settlement id") for s in (raw.get("settlements") or "").split(";")
                        if s.strip())
    evidence_path = _file(base, raw.get("evidence"), "evidence")
    return EntryRow(line, subject_id(raw.get("subject") or ""), Category.parse(raw.get("category") or ""), amount,
                    period_from, period_to, settlements, evidence_path, ev.file_digest(evidence_path),
                    _file(base, raw.get("details"), "details"), _fen(raw.get("stake_fen"), "stake_fen"))


# -- the contracts ---------------------------------------------------------------------------------------


def _topic(contract: Any, name: str) -> str:
    item = next(i for i in contract.abi if i.get("type") == "event" and i["name"] == name)
    return "0x" + event_abi_to_log_topic(item).hex()


def _raw_logs(receipt: Any, contract: Any, name: str) -> list[dict[str, Any]]:
    topic = _topic(contract, name)
    return [log for log in receipt["logs"] if _hex(log["topics"][0]) == topic
            and to_checksum_address(log["address"]) == contract.address]


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _bytes(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


class Token:
    """SettlementToken: fen-denominated ERC-20 (decimals 2)."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("SettlementToken")

    def balance(self, address: str) -> int:
        return int(self.client.call(self.contract, "balanceOf", to_checksum_address(address))[0])

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.client.call(self.contract, "allowance", owner, spender)[0])

    def mint(self, to: str, amount: int, account: LocalAccount) -> int:
        if amount <= 0:
            raise InvalidInput(f"amount must be a positive number of fen; got {amount}.")
        receipt = self.client.transact(encode_call(self.contract, "mint", to_checksum_address(to), amount), account,
                                       "minting")
        return int(receipt["gasUsed"])

    def ensure_allowance(self, account: LocalAccount, spender: str, amount: int, what: str) -> None:
        """Approves `spender` for `amount` fen unless it may already spend that much; checks the balance."""
        held = self.balance(account.address)
        if held < amount:
            raise InvalidInput(f"{what} needs {amount} fen of the settlement token; {account.address} holds {held}. "
                               f"Ask the committee to mint (`creditshare token mint`).")
        if amount and self.allowance(account.address, spender) < amount:
            self.client.transact(encode_call(self.contract, "approve", spender, amount), account, "the token approval")


@dataclass
class PostResult:
    posted: list[dict[str, Any]]
    already: list[dict[str, Any]]
    gas_used: int


class CreditList:
    """The CreditList contract, its token and the sealed-details store."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("CreditList")
        self.token = Token(client)
        self.store = sealed.SealedStore(client.settings.evidence_dir)

    # -- reads --------------------------------------------------------------------------------------------

    def entry(self, entry_id: int) -> Entry:
        count = int(self.client.call(self.contract, "entryCount")[0])
        if not 1 <= entry_id <= count:
            raise InvalidInput(f"entry {entry_id} does not exist (the list holds entries 1..{count}).")
        return Entry.from_tuple(entry_id, self.client.call(self.contract, "entry", entry_id)[0])

    def entries_of(self, subject: bytes) -> list[Entry]:
        ids = self.client.call(self.contract, "entryIdsOf", subject)[0]
        raw = self.client.call(self.contract, "entriesOf", subject)[0]
        return [Entry.from_tuple(int(i), r) for i, r in zip(ids, raw, strict=True)]

    def contest_of(self, entry_id: int) -> dict[str, Any] | None:
        contester, deposit, opened, up, down, reason = self.client.call(self.contract, "contestOf", entry_id)[0]
        if int(opened) == 0:
            return None
        return {"contester": to_checksum_address(contester), "deposit_fen": int(deposit), "opened_at": int(opened),
                "uphold_votes": int(up), "overturn_votes": int(down), "reason_hash": to_hex(bytes(reason))}

    def balance(self, address: str) -> int:
        return int(self.client.call(self.contract, "balanceOf", to_checksum_address(address))[0])

    def fee_for(self, address: str) -> tuple[int, int]:
        fee, discount = self.client.call(self.contract, "viewFeeFor", to_checksum_address(address))
        return int(fee), int(discount)

    def last_viewed_at(self, viewer: str, subject: bytes) -> int:
        return int(self.client.call(self.contract, "lastViewedAt", to_checksum_address(viewer), subject)[0])

    # -- post ---------------------------------------------------------------------------------------------

    def post(self, rows: Sequence[EntryRow], account: LocalAccount, dry_run: bool = False,
             on_posted: Callable[[int], None] | None = None) -> PostResult:
        """Posts the rows not yet on the list (same maintainer, subject, category, amount, period, settlements
        and evidence); seals each row's details into the store before its transaction is sent."""
        me = account.address
        gov = Governance(self.client)
        member = gov.member(me)
        if member is None or not member.active or "MAINTAINER" not in member.roles:
            raise InvalidInput(f"{me} is not an active MAINTAINER member: only maintainers post entries.")
        min_stake = gov.parameter("creditList.minStake")
        if gov.parameter("creditList.entryTtl") == 0:
            raise InvalidInput("the committee has not set creditList.entryTtl yet; no entry can be posted "
                               "(`creditshare members propose set-parameter --parameter creditList.entryTtl`).")
        errors = [RowError(r.line, f"stake_fen {r.stake} is below the governed minimum {min_stake}")
                  for r in rows if r.stake < min_stake]
        known = self._known_settlements(rows)
        errors += [RowError(r.line, f"settlement {to_hex(s)} is not on the ledger")
                   for r in rows for s in r.settlement_ids if s not in known]
        if errors:
            raise InvalidEntryFile(Path("<entries>"), errors)
        existing: dict[tuple[Any, ...], int] = {}
        for subject in {r.subject for r in rows}:
            for e in self.entries_of(subject):
                existing.setdefault(e.fingerprint(), e.id)
        todo: list[EntryRow] = []
        already: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for r in rows:
            fp = r.fingerprint(me)
            if fp in existing:
                already.append({"line": r.line, "id": existing[fp], "subject": to_hex(r.subject)})
            elif fp in seen:
                already.append({"line": r.line, "id": None, "subject": to_hex(r.subject), "duplicate_in_file": True})
            else:
                seen.add(fp)
                todo.append(r)
        if dry_run or not todo:
            return PostResult([{"line": r.line, "subject": to_hex(r.subject)} for r in todo] if dry_run else [],
                              already, 0)
        self.token.ensure_allowance(account, self.contract.address, sum(r.stake for r in todo), "posting the stakes")
        my_key = sealed.public_key_of(bytes(account.key))
        calls, sealed_info = [], []
        for r in todo:
            key, blob = sealed.seal(r.details_path.read_bytes(), r.subject)
            commitment, cid = self.store.put_blob(blob)
            # the maintainer's own copy of the content key is written before the entry exists
            self.store.put_key(commitment, me, sealed.wrap_key(key, my_key), role="maintainer")
            ev.store(self.client.settings.evidence_dir, r.evidence_path.read_bytes())
            sealed_info.append((commitment, cid))
            calls.append(encode_call(self.contract, "post", (
                r.subject, int(r.category), r.amount, r.period_from, r.period_to, list(r.settlement_ids), r.evidence,
                commitment, r.stake)))
        receipts = self.client.transact_many(calls, account, "posting the entries",
                                             on_mined=(lambda _i, _r: on_posted(1)) if on_posted else None)
        posted = []
        for r, receipt, (commitment, cid) in zip(todo, receipts, sealed_info, strict=True):
            log = _raw_logs(receipt, self.contract, "EntryPosted")[0]
            posted.append({"line": r.line, "id": int(_hex(log["topics"][1]), 16), "subject": to_hex(r.subject),
                           "details_commitment": to_hex(commitment), "details_cid": cid,
                           "evidence_cid": ev.cid_from_digest(r.evidence), "stake_fen": r.stake,
                           "gas_used": int(receipt["gasUsed"])})
        return PostResult(posted, already, sum(int(r["gasUsed"]) for r in receipts))

    def _known_settlements(self, rows: Sequence[EntryRow]) -> set[bytes]:
        wanted = sorted({s for r in rows for s in r.settlement_ids})
        return set(Ledger(self.client).records(wanted)) if wanted else set()

    # -- view, contest, resolve, withdraw -----------------------------------------------------------------

    def view(self, subject: bytes, account: LocalAccount, again: bool = False) -> dict[str, Any]:
        """Pays to view `subject`. Paying twice for the same entries is skipped unless `again`."""
        me = account.address
        now = self.client.block_timestamp()
        active = [e for e in self.entries_of(subject) if e.counts(now)]
        if not active:
            raise InvalidInput(f"subject {to_hex(subject)} has no active entry on the credit list: nothing to view.")
        last = self.last_viewed_at(me, subject)
        if last and not again and all(e.posted_at <= last for e in active):
            return {"subject": to_hex(subject), "paid": False, "already_paid_at": last, "fee_fen": 0,
                    "entry_ids": [e.id for e in active]}
        fee, _discount = self.fee_for(me)
        self.token.ensure_allowance(account, self.contract.address, fee, "viewing")
        receipt = self.client.transact(encode_call(self.contract, "viewSubject", subject), account, "the view")
        log = _raw_logs(receipt, self.contract, "EntryViewed")[0]
        fee, discount, ids = abi_decode(["uint256", "uint256", "uint256[]"], _bytes(log["data"]))
        return {"subject": to_hex(subject), "paid": True, "fee_fen": int(fee), "discount_fen": int(discount),
                "entry_ids": [int(i) for i in ids], "tx": _hex(receipt["transactionHash"]),
                "gas_used": int(receipt["gasUsed"])}

    def contest(self, entry_id: int, reason: str, account: LocalAccount) -> dict[str, Any]:
        entry = self.entry(entry_id)
        existing = self.contest_of(entry_id)
        if existing and existing["contester"] == account.address:
            return {"entry_id": entry_id, "contested": False, "already": True, **existing}
        deposit = Governance(self.client).parameter("creditList.contestDeposit")
        self.token.ensure_allowance(account, self.contract.address, deposit, "the contest deposit")
        reason_hash = keccak(text=reason)
        self.client.transact(encode_call(self.contract, "contest", entry.id, reason_hash), account, "the contest")
        return {"entry_id": entry_id, "contested": True, "already": False, **(self.contest_of(entry_id) or {})}

    def resolve(self, entry_id: int, uphold: bool, account: LocalAccount) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if entry.status in (3, 4):
            return {"entry_id": entry_id, "voted": False, "status": STATUSES[entry.status],
                    "message": f"entry {entry_id} is already {STATUSES[entry.status]}"}
        receipt = self.client.transact(encode_call(self.contract, "resolve", entry_id, uphold), account, "the vote")
        resolved = _raw_logs(receipt, self.contract, "ContestResolved")
        status = STATUSES[self.entry(entry_id).status]
        contest = self.contest_of(entry_id) or {}
        return {"entry_id": entry_id, "voted": True, "uphold": uphold, "resolved": bool(resolved), "status": status,
                "uphold_votes": contest.get("uphold_votes"), "overturn_votes": contest.get("overturn_votes")}

    def withdraw(self, account: LocalAccount) -> dict[str, Any]:
        amount = self.balance(account.address)
        if amount == 0:
            return {"account": account.address, "withdrawn_fen": 0}
        self.client.transact(encode_call(self.contract, "withdraw"), account, "the withdrawal")
        return {"account": account.address, "withdrawn_fen": amount,
                "token_balance_fen": self.token.balance(account.address)}

    def release_stake(self, entry_id: int, account: LocalAccount) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if entry.stake == 0:
            return {"entry_id": entry_id, "released_fen": 0}
        self.client.transact(encode_call(self.contract, "releaseStake", entry_id), account, "the stake release")
        return {"entry_id": entry_id, "released_fen": entry.stake}

    # -- key release and decryption ------------------------------------------------------------------------

    def views(self, subject: bytes | None = None) -> list[dict[str, Any]]:
        """Every paid view (EntryViewed), oldest first: viewer, subject, entry ids, transaction."""
        topic = _topic(self.contract, "EntryViewed")
        topics: list[Any] = [topic] + ([to_hex(subject)] if subject else [])
        out = []
        for log in self.client.logs(self.contract.address, topics):
            fee, discount, ids = abi_decode(["uint256", "uint256", "uint256[]"], _bytes(log["data"]))
            out.append({"subject": log["topics"][1], "viewer": to_checksum_address("0x" + log["topics"][2][-40:]),
                        "fee_fen": int(fee), "entry_ids": [int(i) for i in ids], "tx": log["transactionHash"],
                        "block": int(log["blockNumber"], 16)})
        return out

    def release(self, account: LocalAccount, subject: bytes | None = None) -> dict[str, Any]:
        """Wraps the content key of each of the caller's entries to every viewer who paid for it (idempotent)."""
        me = account.address
        entries: dict[int, Entry] = {}
        content_keys: dict[bytes, bytes] = {}
        released, already = [], 0
        for viewed in self.views(subject):
            mine = []
            for eid in viewed["entry_ids"]:
                if eid not in entries:
                    entries[eid] = self.entry(eid)
                if entries[eid].maintainer == me:
                    mine.append(entries[eid])
            todo = [e for e in mine if not self.store.has_key(e.details_commitment, viewed["viewer"])]
            already += len(mine) - len(todo)
            if not todo:
                continue
            tx = self.client.read(lambda h=viewed["tx"]: self.client.w3.eth.get_transaction(h), "view transaction")  # type: ignore[misc]
            # the key that paid is the key that reads: a view made through another contract (a multisig,
            # a relayer) has another sender, and its viewer gets no key this way
            if to_checksum_address(tx["from"]) != viewed["viewer"] or not tx.get("to") or \
                    to_checksum_address(tx["to"]) != to_checksum_address(self.contract.address):
                raise DetailsUnavailable(f"the view in {viewed['tx']} was not sent by its viewer {viewed['viewer']} "
                                         "to the credit list: no public key to wrap its content key to.")
            viewer_key = sealed.recover_sender_public_key(tx)
            for e in todo:
                c = e.details_commitment
                if c not in content_keys:
                    wrapped = self.store.key(c, me)
                    if wrapped is None:
                        raise DetailsUnavailable(f"the content key of entry {e.id} is not in the evidence store "
                                                 f"{self.store.root}: it was posted from another data folder.")
                    content_keys[c] = sealed.unwrap_key(wrapped, bytes(account.key))
                self.store.put_key(c, viewed["viewer"], sealed.wrap_key(content_keys[c], viewer_key), role="viewer",
                                   entry_id=e.id, view_tx=viewed["tx"], released_by=me)
                released.append({"entry_id": e.id, "viewer": viewed["viewer"], "view_tx": viewed["tx"]})
        return {"maintainer": me, "released": released, "already_released": already}

    def decrypt(self, entry_id: int, account: LocalAccount) -> bytes:
        """The private details of an entry, for its maintainer or a viewer whose key was released."""
        me = account.address
        entry = self.entry(entry_id)
        wrapped = self.store.key(entry.details_commitment, me)
        if wrapped is None:
            paid = self.last_viewed_at(me, entry.subject)
            if paid == 0:
                raise DetailsUnavailable(
                    f"{me} has not paid to view subject {to_hex(entry.subject)}: the details of entry {entry_id} "
                    f"are released only to paying viewers (`creditshare list view SUBJECT`).")
            raise DetailsUnavailable(
                f"{me} paid to view subject {to_hex(entry.subject)} but the key of entry {entry_id} has not been "
                f"released yet: its maintainer {entry.maintainer} runs `creditshare list release`.")
        key = sealed.unwrap_key(wrapped, bytes(account.key))
        return sealed.open_sealed(self.store.blob(entry.details_commitment), key, entry.subject)
