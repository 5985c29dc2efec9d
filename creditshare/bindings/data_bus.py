"""The data transaction control bus (DataBus): consents, consent-checked access, the audit log.

A subject's member grants a lender consent for a purpose (named by text; the
chain holds its keccak256) and a scope (score, settlements, list) until an
expiry; the lender records each access with `accessMany` before reading, and
the subject (or the committee) reads the log back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address

from creditshare.bindings.consortium import Consortium
from creditshare.core.chain import ChainClient, PartialWrite, decode_log_data, encode_call, event_topic
from creditshare.core.errors import InvalidInput, TransactionRejected
from creditshare.core.ids import to_hex

SCOPES = {"score": 1, "settlements": 2, "list": 4}
# purposes are hashed on chain; these names are shown back in clear
KNOWN_PURPOSES = ("receivable-financing", "credit-line", "onboarding", "monitoring", "collections")
DAY = 86_400
MAX_BATCH = 200  # subjects per accessMany transaction (the contract's MAX_BATCH)
PAGE = 500  # access records per accessesOf call (the contract's MAX_PAGE)


def parse_scope(text: str) -> int:
    """`score,settlements,list` (any non-empty subset, or `all`) as the contract's bitmask."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["all"]:
        return 7
    bad = [p for p in parts if p not in SCOPES]
    if not parts or bad:
        raise InvalidInput(f"scope must be a comma-separated subset of {', '.join(SCOPES)} (or all); got {text!r}.")
    mask = 0
    for p in parts:
        mask |= SCOPES[p]
    return mask


def scope_names(mask: int) -> list[str]:
    return [name for name, bit in SCOPES.items() if mask & bit]


def purpose_id(name: str) -> bytes:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("purpose must be a name of 1-64 characters, e.g. receivable-financing.")
    return keccak(text=name)


def purpose_name(purpose: bytes) -> str:
    for name in KNOWN_PURPOSES:
        if keccak(text=name) == purpose:
            return name
    return to_hex(purpose)


def expiry_after_days(now: int, days: int) -> int:
    """Midnight UTC after `now + days`: re-running a grant the same day asks for the same expiry."""
    if days <= 0:
        raise InvalidInput(f"--days must be a positive number of days; got {days}.")
    return (now + days * DAY) // DAY * DAY + DAY


# the last second Python's datetime can show; a uint64 on chain reaches the year 584 billion
_LAST_SHOWABLE = int(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp())


def utc_time(seconds: int, fmt: str) -> str:
    """`seconds` (any uint64 the chain holds) as UTC text in `fmt`; past the year 9999, which datetime cannot
    represent (a consent granted before the contract bounded expiries may say 2^64 - 1), "after 9999-12-31"."""
    if seconds > _LAST_SHOWABLE:
        return "after 9999-12-31"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime(fmt)


@dataclass(frozen=True)
class Consent:
    id: int
    subject: bytes
    lender: str
    purpose: bytes
    scope: int
    granted_at: int
    expires_at: int
    revoked: bool
    grantor: str

    def state(self, now: int) -> str:
        return "revoked" if self.revoked else ("expired" if now >= self.expires_at else "valid")

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": to_hex(self.subject),
            "lender": self.lender,
            "purpose": purpose_name(self.purpose),
            "scope": scope_names(self.scope),
            "granted_at": self.granted_at,
            "expires_at": self.expires_at,
            "expires": utc_time(self.expires_at, "%Y-%m-%d %H:%M UTC"),
            "state": self.state(now),
            "grantor": self.grantor,
        }


class DataBus:
    """The DataBus contract through the chain client."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("DataBus")

    def consent(self, consent_id: int) -> Consent:
        count = int(self.client.call(self.contract, "consentCount")[0])
        if not 1 <= consent_id <= count:
            raise InvalidInput(f"consent {consent_id} does not exist (consents 1..{count} were granted).")
        subject, lender, purpose, scope, granted, expires, revoked, grantor = self.client.call(
            self.contract, "consent", consent_id
        )[0]
        return Consent(
            consent_id,
            bytes(subject),
            to_checksum_address(lender),
            bytes(purpose),
            int(scope),
            int(granted),
            int(expires),
            bool(revoked),
            to_checksum_address(grantor),
        )

    def consents_of(self, subject: bytes) -> list[Consent]:
        ids = self.client.call(self.contract, "consentsOf", subject)[0]
        return [self.consent(int(i)) for i in ids]

    def valid_consent(self, subject: bytes, lender: str, purpose: bytes, scope: int) -> int:
        return int(
            self.client.call(self.contract, "validConsent", subject, to_checksum_address(lender), purpose, scope)[0]
        )

    def grant(
        self, account: LocalAccount, subject: bytes, lender: str, purpose: bytes, scope: int, expires_at: int
    ) -> dict[str, Any]:
        """Grants consent; a valid consent with the same scope and expiry is kept (idempotent)."""
        now = self.client.block_timestamp()
        if expires_at <= now:
            raise InvalidInput(f"the consent would expire at {expires_at}, not after the chain's time {now}.")
        lender = to_checksum_address(lender)
        for c in reversed(self.consents_of(subject)):
            if (c.lender, c.purpose) == (lender, purpose):
                if c.state(now) == "valid" and c.scope == scope and c.expires_at == expires_at:
                    return {"granted": False, "already": True, **c.to_json(now)}
                break
        receipt = self.client.transact(
            encode_call(self.contract, "grant", lender, purpose, scope, expires_at), account, "the consent grant"
        )
        consent_id = int(self.contract.events.ConsentGranted().process_receipt(receipt)[0]["args"]["consentId"])
        return {"granted": True, "already": False, **self.consent(consent_id).to_json(now)}

    def revoke(self, account: LocalAccount, consent_id: int) -> dict[str, Any]:
        c = self.consent(consent_id)
        now = self.client.block_timestamp()
        if c.revoked:
            return {"revoked": False, "already": True, **c.to_json(now)}
        self.client.transact(encode_call(self.contract, "revoke", consent_id), account, "the revocation")
        return {"revoked": True, "already": False, **self.consent(consent_id).to_json(now)}

    def access(
        self, account: LocalAccount, subjects: Sequence[bytes], scope: int, purpose: bytes, batch: int = MAX_BATCH
    ) -> list[dict[str, Any]]:
        """Records the caller's access to every subject (accessMany, `batch` subjects a transaction).

        All or nothing: subjects without a valid consent are named and nothing is recorded.
        """
        if not subjects:
            raise InvalidInput("name at least one subject to read.")
        member = Consortium(self.client).member(account.address)
        if member is None or not member.active or "LENDER" not in member.roles:
            raise InvalidInput(f"{account.address} is not an active LENDER member: only lenders read through the bus.")
        batches = [list(range(i, min(i + batch, len(subjects)))) for i in range(0, len(subjects), batch)]
        calls = [
            encode_call(self.contract, "accessMany", [subjects[i] for i in idx], scope, purpose) for idx in batches
        ]
        try:
            # every batch is checked before the first is sent (transact_many): one subject without consent
            # stops them all
            receipts = self.client.transact_many(calls, account, "the consented access", scale_gas=True, items=batches)
        except PartialWrite as err:
            landed = [to_hex(subjects[i]) for i in err.landed_items]
            missed = [to_hex(subjects[i]) for i in err.not_landed_items]
            raise err.restated(
                f"the chain changed after the check: the access of {len(landed)} subject(s) was recorded and of "
                f"{len(missed)} not ({err.reason}); read the others again",
                [f"recorded: {', '.join(landed)}", f"not recorded: {', '.join(missed)}"],
            ) from err
        except TransactionRejected as err:
            missing = [s for s in subjects if self.valid_consent(s, account.address, purpose, scope) == 0]
            if not missing:
                raise
            raise InvalidInput(
                f"no valid consent of {len(missing)} subject(s) for {account.address}, purpose "
                f"{purpose_name(purpose)}, scope {','.join(scope_names(scope))}: "
                f"{', '.join(to_hex(s) for s in missing[:5])}{' ...' if len(missing) > 5 else ''}; nothing was read."
            ) from err
        wanted = "0x" + event_abi_to_log_topic(self.contract.events.DataAccessed().abi).hex()
        out = []
        for receipt in receipts:
            for log in receipt["logs"]:
                if log["topics"][0] == wanted:
                    consent_id, _scope, index = decode_log_data(("uint256", "uint8", "uint256"), log)
                    out.append(
                        {
                            "subject": log["topics"][1],
                            "consent_id": int(consent_id),
                            "access_index": int(index),
                            "tx": log["transactionHash"],
                        }
                    )
        return out

    def consented_list_access(self, subject: bytes, lender: str, to_block: int) -> dict[str, Any] | None:
        """The latest `DataAccessed` record of `lender` for `subject` with the list scope, in a block up to
        `to_block`, whose consent (or its replacement for the same purpose) still covers the list scope now;
        None if there is none. The events are public, so anyone may ask (a maintainer releasing a key does)."""
        lender = to_checksum_address(lender)
        topics = [event_topic(self.contract, "DataAccessed"), to_hex(subject), "0x" + "00" * 12 + lender[2:].lower()]
        for log in reversed(self.client.logs(self.contract.address, topics, to_block=to_block)):
            consent_id, scope, index = decode_log_data(("uint256", "uint8", "uint256"), log)
            if not int(scope) & SCOPES["list"]:
                continue
            purpose = bytes.fromhex(log["topics"][3][2:])
            if self.valid_consent(subject, lender, purpose, SCOPES["list"]):
                return {
                    "consent_id": int(consent_id),
                    "access_index": int(index),
                    "tx": log["transactionHash"],
                    "block": int(log["blockNumber"], 16),
                }
        return None

    def accesses_of(
        self, subject: bytes, reader: str, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The access log of `subject` from index `offset` (all of it, or `limit` records), read as `reader`
        (the subject's member or a committee member) in pages of PAGE records.

        `reader` is the `from` of an eth_call: it keeps honest callers out, it authenticates no one."""
        if offset < 0 or (limit is not None and limit <= 0):
            raise InvalidInput(f"offset must be 0 or more and limit positive; got {offset} and {limit}.")
        raw: list[Any] = []
        while limit is None or len(raw) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(raw))
            page = self.client.call(
                self.contract, "accessesOf", subject, offset + len(raw), size, sender=to_checksum_address(reader)
            )[0]
            raw.extend(page)
            if len(page) < size:
                break
        return [
            {
                "lender": to_checksum_address(lender),
                "purpose": purpose_name(bytes(purpose)),
                "consent_id": int(cid),
                "scope": scope_names(int(scope)),
                "at": int(at),
                "time": utc_time(int(at), "%Y-%m-%d %H:%M:%S UTC"),
            }
            for lender, purpose, cid, scope, at in raw
        ]
