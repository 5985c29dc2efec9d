"""A member's consent for its own organisation: the subject of a consent is always the granting member's org."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.data_bus import DAY, DataBus, expiry_after_days, purpose_id
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput
from creditshare.domain.settlements import parse_date

#: the longest a consent may run: DataBus takes any uint64 expiry, and one of millions of years was granted on
#: chain before its date could be printed (an OSError after the transaction had landed)
MAX_CONSENT_DAYS = 36_500


def grant_own(
    client: ChainClient,
    account: LocalAccount,
    lender: str,
    purpose: str,
    scope: int,
    *,
    days: int | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """``account``'s member grants ``lender`` consent for its organisation, for the purpose named ``purpose``
    and the ``scope`` bitmask, valid until midnight UTC after ``days`` or until the date ``until`` (YYYY-MM-DD,
    00:00 UTC). Only an active member grants consent."""
    member = Consortium(client).member(account.address)
    if member is None or not member.active:
        raise InvalidInput(
            f"{account.address} is not an active consortium member: only a member grants consent for its organisation."
        )
    now = client.block_timestamp()
    if days is not None and days > MAX_CONSENT_DAYS:
        raise InvalidInput(f"--days must be at most {MAX_CONSENT_DAYS} (100 years); got {days}.")
    expires = expiry_after_days(now, days) if days is not None else parse_date(until or "", "--until")
    if expires > now + (MAX_CONSENT_DAYS + 1) * DAY:
        raise InvalidInput(f"--until must be at most {MAX_CONSENT_DAYS} days (100 years) ahead; got {until}.")
    return DataBus(client).grant(account, member.org_id, lender, purpose_id(purpose), scope, expires)
