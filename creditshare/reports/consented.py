"""A lender's consented read: the access is recorded on chain first (DataBus.accessMany), then the data of
every subject is read, for the scopes consented (score, settlements, credit-list entries).

What each read releases: the score and tier, the settlement records and the list entry facts are public to every
member (the access declares and logs the use, it does not unlock them); the `list` access is the record an
entry's maintainer can check (`DataBus.consented_list_access`) before it releases the sealed details this lender
paid for with `list view`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount

from creditshare.bindings.data_bus import SCOPES, DataBus, purpose_id, scope_names
from creditshare.core.chain import ChainClient
from creditshare.core.ids import to_hex


def consented_read(
    client: ChainClient, account: LocalAccount, subjects: Sequence[bytes], scope: int, purpose: str
) -> dict[str, Any]:
    """Records ``account``'s access to ``subjects`` (all or nothing: every subject needs a valid consent for this
    lender, purpose and scope), then reads them: per subject its consent and access index, and its ``score``,
    ``settlements`` and ``list_entries`` as far as ``scope`` (a bitmask of SCOPES) reaches."""
    records = DataBus(client).access(account, subjects, scope, purpose_id(purpose))
    by_subject: dict[str, Any] = {to_hex(s): {"subject": to_hex(s)} for s in subjects}
    for r in records:
        by_subject[r["subject"]].update(consent_id=r["consent_id"], access_index=r["access_index"], tx=r["tx"])
    if scope & SCOPES["score"]:
        from oracle.scores import scores

        for item in scores(client, list(subjects)):
            by_subject[item["subject"]]["score"] = item
    if scope & SCOPES["settlements"]:
        from creditshare.domain.index import ChainIndex

        with ChainIndex(client) as index:  # this node's chain index, caught up first
            for s in subjects:
                roles = ("shipper", "platform", "carrier")
                by_subject[to_hex(s)]["settlements"] = [r.to_json() for r in index.records_of(s, roles)]
    if scope & SCOPES["list"]:
        from creditshare.bindings.credit_list import CreditList

        book = CreditList(client)
        now = client.block_timestamp()
        for s in subjects:
            by_subject[to_hex(s)]["list_entries"] = [e.to_json(now) for e in book.entries_of(s)]
    released = {
        "score": "public to every member",
        "settlements": "public to every member",
        "list": "entry facts public to every member; the logged access a maintainer checks before it "
        "releases the sealed details paid for with `list view`",
    }
    return {
        "lender": account.address,
        "purpose": purpose,
        "scope": scope_names(scope),
        "accesses": len(records),
        "releases": {name: released[name] for name in scope_names(scope)},
        "subjects": list(by_subject.values()),
    }
