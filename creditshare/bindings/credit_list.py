"""The CreditList contract: entries, paid views, contests, stakes and withdrawals.

Maintainers post entries (read from a CSV, details sealed off chain: see
creditshare.domain.credit_entries); members pay to view a subject; anyone
concerned contests; the committee resolves; earnings leave by pull withdrawal.
Money is integer fen throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.settlement_ledger import iso_date
from creditshare.bindings.settlement_token import SettlementToken
from creditshare.core.chain import Call, ChainClient, decode_log_data, decode_revert, encode_call, event_topic
from creditshare.core.errors import InvalidInput, TransactionRejected
from creditshare.core.ids import cid_from_digest, to_hex

VIEWED_DATA = ("uint256", "uint256", "uint256[]")  # EntryViewed: fee, discount, entry ids
PAGE = 100  # CreditList.MAX_PAGE: the history of a subject is read in pages
ALLOWANCES_SLOT = 1  # OpenZeppelin 5 ERC20: _balances at slot 0, _allowances at slot 1 (SettlementToken is ERC20 first)


def allowance_slot(owner: str, spender: str) -> str:
    """The storage slot of ERC20 `_allowances[owner][spender]` (Solidity's nested mapping layout)."""
    inner = keccak(bytes.fromhex(owner[2:].lower().rjust(64, "0")) + ALLOWANCES_SLOT.to_bytes(32, "big"))
    return "0x" + keccak(bytes.fromhex(spender[2:].lower().rjust(64, "0")) + inner).hex()


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
        (
            subject,
            maintainer,
            category,
            band,
            status,
            posted,
            expires,
            pfrom,
            pto,
            amount,
            stake,
            shash,
            evid,
            details,
        ) = raw
        return cls(
            entry_id,
            bytes(subject),
            to_checksum_address(maintainer),
            Category(category),
            int(band),
            int(status),
            int(posted),
            int(expires),
            int(pfrom),
            int(pto),
            int(amount),
            int(stake),
            bytes(shash),
            bytes(evid),
            bytes(details),
        )

    def fingerprint(self) -> tuple[Any, ...]:
        return (
            self.subject,
            self.maintainer,
            int(self.category),
            self.amount,
            self.period_from,
            self.period_to,
            self.settlements_hash,
            self.evidence,
        )

    def counts(self, now: int) -> bool:
        return self.status != 4 and now < self.expires_at

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": to_hex(self.subject),
            "maintainer": self.maintainer,
            "category": self.category.label,
            "amount_fen": self.amount,
            "band": BANDS[self.band],
            "status": STATUSES[self.status],
            "active": self.counts(now),
            "posted_at": self.posted_at,
            "expires_at": self.expires_at,
            "expires": iso_date(self.expires_at),
            "period_from": iso_date(self.period_from),
            "period_to": iso_date(self.period_to),
            "stake_fen": self.stake,
            "evidence_cid": cid_from_digest(self.evidence),
            "details_commitment": to_hex(self.details_commitment),
        }


# -- the contracts ---------------------------------------------------------------------------------------


def _raw_logs(receipt: Any, contract: Any, name: str) -> list[dict[str, Any]]:
    topic = event_topic(contract, name)
    return [
        log
        for log in receipt["logs"]
        if _hex(log["topics"][0]) == topic and to_checksum_address(log["address"]) == contract.address
    ]


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class CreditList:
    """The CreditList contract (and the token its fees and stakes are paid in)."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("CreditList")
        self.token = SettlementToken(client)

    # -- reads --------------------------------------------------------------------------------------------

    def entry(self, entry_id: int) -> Entry:
        count = int(self.client.call(self.contract, "entryCount")[0])
        if not 1 <= entry_id <= count:
            raise InvalidInput(f"entry {entry_id} does not exist (the list holds entries 1..{count}).")
        return Entry.from_tuple(entry_id, self.client.call(self.contract, "entry", entry_id)[0])

    def entries_of(self, subject: bytes) -> list[Entry]:
        """Every entry ever posted about `subject`, oldest first (read in pages of PAGE)."""
        total = int(self.client.call(self.contract, "entryCountOf", subject)[0])
        out: list[Entry] = []
        for start in range(0, total, PAGE):
            ids = self.client.call(self.contract, "entryIdsOf", subject, start, PAGE)[0]
            raw = self.client.call(self.contract, "entriesOf", subject, start, PAGE)[0]
            out += [Entry.from_tuple(int(i), r) for i, r in zip(ids, raw, strict=True)]
        return out

    def contest_of(self, entry_id: int) -> dict[str, Any] | None:
        contester, deposit, opened, up, down, deadline, rnd, reason = self.client.call(
            self.contract, "contestOf", entry_id
        )[0]
        if int(opened) == 0:
            return None
        return {
            "contester": to_checksum_address(contester),
            "deposit_fen": int(deposit),
            "opened_at": int(opened),
            "uphold_votes": int(up),
            "overturn_votes": int(down),
            "deadline": int(deadline),
            "deadline_date": iso_date(int(deadline)),
            "round": int(rnd),
            "reason_hash": to_hex(bytes(reason)),
        }

    def limits(self) -> dict[str, int]:
        """The governed caps and contest timeout in force (the contract applies defaults and bounds)."""
        per_maintainer, per_subject, timeout = self.client.call(self.contract, "limits")
        return {
            "max_live_per_maintainer": int(per_maintainer),
            "max_maintainers_per_subject": int(per_subject),
            "contest_timeout": int(timeout),
        }

    def balance(self, address: str) -> int:
        return int(self.client.call(self.contract, "balanceOf", to_checksum_address(address))[0])

    def fee_for(self, address: str) -> tuple[int, int]:
        fee, discount = self.client.call(self.contract, "viewFeeFor", to_checksum_address(address))
        return int(fee), int(discount)

    def last_viewed_at(self, viewer: str, subject: bytes) -> int:
        return int(self.client.call(self.contract, "lastViewedAt", to_checksum_address(viewer), subject)[0])

    # -- checks before anything is sent -------------------------------------------------------------------

    def check_funds(self, account: LocalAccount, amount: int, what: str) -> None:
        """Refuses (InvalidInput, nothing sent) if `account` holds fewer than `amount` fen of the token."""
        held = self.token.balance(account.address)
        if held < amount:
            raise InvalidInput(
                f"{what} needs {amount} fen of the settlement token; {account.address} holds {held}. "
                f"Ask the committee to mint (`creditshare token mint`)."
            )

    def simulate(self, call: Call, account: LocalAccount, what: str, spend: int = 0) -> None:
        """Runs `call` as an eth_call from `account` on the latest state, as if the token approval for `spend`
        fen were already given: a call the list (roles, membership, entry state, balances) would refuse raises
        TransactionRejected here, before the approval or the call itself is sent.

        The approval is supplied with an eth_call state override of the token's allowance slot; the override is
        checked by reading the allowance back through it, and without it the call is simulated as the chain is."""
        query = {"from": account.address, "to": call.to, "data": "0x" + call.data.hex()}
        params: list[Any] = [query, "latest"]
        if spend and self.token.allowance(account.address, self.contract.address) < spend:
            override = self._allowance_override(account.address, spend)
            if override is not None:
                params.append(override)
        response = self.client.rpc("eth_call", params, what)
        if "error" in response:
            data = response["error"].get("data")
            reason = decode_revert(data) if isinstance(data, str) else str(response["error"].get("message", ""))
            raise TransactionRejected(f"{what} was refused by the contract: {reason}; nothing was sent", reason=reason)

    def _allowance_override(self, owner: str, amount: int) -> dict[str, Any] | None:
        token = self.token.contract
        override: dict[str, Any] = {
            str(token.address): {
                "stateDiff": {allowance_slot(owner, self.contract.address): "0x" + amount.to_bytes(32, "big").hex()}
            }
        }
        probe = encode_call(token, "allowance", owner, self.contract.address)
        response = self.client.rpc(
            "eth_call", [{"to": probe.to, "data": "0x" + probe.data.hex()}, "latest", override], "the allowance"
        )
        result = response.get("result")
        if isinstance(result, str) and len(result) > 2 and int(result, 16) == amount:
            return override
        return None

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
            return {
                "subject": to_hex(subject),
                "paid": False,
                "already_paid_at": last,
                "fee_fen": 0,
                "entry_ids": [e.id for e in active],
            }
        fee, _discount = self.fee_for(me)
        call = encode_call(self.contract, "viewSubject", subject)
        self.check_funds(account, fee, "viewing")
        self.simulate(call, account, "the view", spend=fee)
        self.token.ensure_allowance(account, self.contract.address, fee, "viewing")
        receipt = self.client.transact(call, account, "the view")
        log = _raw_logs(receipt, self.contract, "EntryViewed")[0]
        fee, discount, ids = decode_log_data(VIEWED_DATA, log)
        return {
            "subject": to_hex(subject),
            "paid": True,
            "fee_fen": int(fee),
            "discount_fen": int(discount),
            "entry_ids": [int(i) for i in ids],
            "tx": _hex(receipt["transactionHash"]),
            "gas_used": int(receipt["gasUsed"]),
        }

    def contest(self, entry_id: int, reason: str, account: LocalAccount) -> dict[str, Any]:
        # as for a settlement's dispute: a contest with no reason is no contest (its keccak256 is all that is kept)
        if not reason.strip():
            raise InvalidInput("--reason must not be empty: say why the entry is wrong.")
        entry = self.entry(entry_id)
        existing = self.contest_of(entry_id)
        if existing and existing["contester"] == account.address:
            return {"entry_id": entry_id, "contested": False, "already": True, **existing}
        deposit = Consortium(self.client).parameter("creditList.contestDeposit")
        call = encode_call(self.contract, "contest", entry.id, keccak(text=reason))
        self.check_funds(account, deposit, "the contest deposit")
        self.simulate(call, account, "the contest", spend=deposit)
        self.token.ensure_allowance(account, self.contract.address, deposit, "the contest deposit")
        self.client.transact(call, account, "the contest")
        return {"entry_id": entry_id, "contested": True, "already": False, **(self.contest_of(entry_id) or {})}

    def resolve(self, entry_id: int, uphold: bool, account: LocalAccount) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if entry.status in (3, 4):
            return {
                "entry_id": entry_id,
                "voted": False,
                "status": STATUSES[entry.status],
                "message": f"entry {entry_id} is already {STATUSES[entry.status]}",
            }
        receipt = self.client.transact(encode_call(self.contract, "resolve", entry_id, uphold), account, "the vote")
        resolved = _raw_logs(receipt, self.contract, "ContestResolved")
        status = STATUSES[self.entry(entry_id).status]
        contest = self.contest_of(entry_id) or {}
        return {
            "entry_id": entry_id,
            "voted": True,
            "uphold": uphold,
            "resolved": bool(resolved),
            "status": status,
            "uphold_votes": contest.get("uphold_votes"),
            "overturn_votes": contest.get("overturn_votes"),
        }

    def revote(self, entry_id: int, account: LocalAccount) -> dict[str, Any]:
        """Discards a split round of votes (COMMITTEE); voting starts again, the deadline stays."""
        self.entry(entry_id)
        self.client.transact(encode_call(self.contract, "revote", entry_id), account, "the revote")
        contest = self.contest_of(entry_id) or {}
        return {"entry_id": entry_id, "round": contest.get("round"), "deadline": contest.get("deadline")}

    def expire_contest(self, entry_id: int, account: LocalAccount) -> dict[str, Any]:
        """Ends a contest undecided at its deadline: the deposit back to the contester, the entry Active again."""
        entry = self.entry(entry_id)
        contest = self.contest_of(entry_id)
        if entry.status != STATUSES.index("contested") or contest is None:
            return {
                "entry_id": entry_id,
                "expired": False,
                "status": STATUSES[entry.status],
                "message": f"entry {entry_id} has no pending contest (it is {STATUSES[entry.status]})",
            }
        now = self.client.block_timestamp()
        if now < contest["deadline"]:
            raise InvalidInput(
                f"the contest of entry {entry_id} is open until {contest['deadline_date']} "
                f"(unix {contest['deadline']}); it can be expired only after its deadline."
            )
        self.client.transact(encode_call(self.contract, "expireContest", entry_id), account, "the contest expiry")
        return {
            "entry_id": entry_id,
            "expired": True,
            "status": STATUSES[self.entry(entry_id).status],
            "contester": contest["contester"],
            "refunded_fen": contest["deposit_fen"],
        }

    def withdraw(self, account: LocalAccount) -> dict[str, Any]:
        amount = self.balance(account.address)
        if amount == 0:
            return {"account": account.address, "withdrawn_fen": 0}
        self.client.transact(encode_call(self.contract, "withdraw"), account, "the withdrawal")
        return {
            "account": account.address,
            "withdrawn_fen": amount,
            "token_balance_fen": self.token.balance(account.address),
        }

    def release_stake(self, entry_id: int, account: LocalAccount) -> dict[str, Any]:
        entry = self.entry(entry_id)
        if entry.stake == 0:
            return {"entry_id": entry_id, "released_fen": 0}
        self.client.transact(encode_call(self.contract, "releaseStake", entry_id), account, "the stake release")
        return {"entry_id": entry_id, "released_fen": entry.stake}

    # -- key release and decryption ------------------------------------------------------------------------

    def views(self, subject: bytes | None = None) -> list[dict[str, Any]]:
        """Every paid view (EntryViewed), oldest first: viewer, subject, entry ids, transaction."""
        topic = event_topic(self.contract, "EntryViewed")
        topics: list[Any] = [topic] + ([to_hex(subject)] if subject else [])
        out = []
        for log in self.client.logs(self.contract.address, topics):
            fee, discount, ids = decode_log_data(VIEWED_DATA, log)
            out.append(
                {
                    "subject": log["topics"][1],
                    "viewer": to_checksum_address("0x" + log["topics"][2][-40:]),
                    "fee_fen": int(fee),
                    "entry_ids": [int(i) for i in ids],
                    "tx": log["transactionHash"],
                    "block": int(log["blockNumber"], 16),
                }
            )
        return out

    # -- post -------------------------------------------------------------------------------------------------

    def post(
        self, entries: Sequence[tuple[Any, ...]], account: LocalAccount, on_posted: Callable[[int], None] | None = None
    ) -> list[tuple[int, Any]]:
        """Posts each `EntryInput` tuple in its own transaction; returns (entry id, receipt) pairs in order."""
        calls = [encode_call(self.contract, "post", entry) for entry in entries]
        receipts = self.client.transact_many(
            calls, account, "posting the entries", on_mined=(lambda _i, _r: on_posted(1)) if on_posted else None
        )
        return [(int(_hex(_raw_logs(r, self.contract, "EntryPosted")[0]["topics"][1]), 16), r) for r in receipts]

    def transaction(self, tx_hash: str) -> Any:
        """A transaction sent to the list (a view's, whose sender's public key wraps a content key)."""
        return self.client.read(lambda: self.client.w3.eth.get_transaction(tx_hash), "view transaction")  # type: ignore[arg-type]
