"""Credit-list entries: the CSV maintainers post from, and the sealed details behind each entry.

Each row's private details are sealed (AES-GCM, creditshare.domain.sealing)
into the evidence store before its entry is posted; the content key is wrapped
to the maintainer, and later to every viewer who paid (`release_keys`), with
the public key recovered from the viewer's own paying transaction.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.credit_list import STATUSES, Category, CreditList, Entry
from creditshare.bindings.data_bus import DataBus
from creditshare.bindings.settlement_ledger import SettlementLedger
from creditshare.core.chain import PartialWrite, encode_call, spans
from creditshare.core.errors import DetailsUnavailable, InvalidInput, TransactionRejected
from creditshare.core.files import confined_path, parse_date, read_csv_rows
from creditshare.core.ids import cid_from_digest, file_digest, parse_bytes32, subject_id, to_hex
from creditshare.domain import evidence as ev
from creditshare.domain import sealing
from creditshare.domain.settlements import RowError

ENTRY_COLUMNS = (
    "subject",
    "category",
    "amount_fen",
    "period_from",
    "period_to",
    "settlements",
    "evidence",
    "details",
    "stake_fen",
)
MAX_AMOUNT = 2**128 - 1
CHECK_COMMITMENT = keccak(b"creditshare:post-check")  # stands in for the sealed details while a post is simulated


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
        return (
            self.subject,
            to_checksum_address(maintainer),
            int(self.category),
            self.amount,
            self.period_from,
            self.period_to,
            keccak(b"".join(self.settlement_ids)),
            self.evidence,
        )


@dataclass
class PostResult:
    posted: list[dict[str, Any]]
    already: list[dict[str, Any]]
    gas_used: int


# -- the CSV ----------------------------------------------------------------------------------------------


def parse_entries(path: Path, root: Path | None = None) -> list[EntryRow]:
    """Reads and validates a whole entry CSV; InvalidEntryFile lists every bad row.

    The CSV dialect is the project's one (creditshare.core.files.read_csv_rows: UTF-8 with or without a BOM,
    LF or CRLF, every column of ENTRY_COLUMNS once and no other); the files its `evidence` and `details`
    columns name are resolved in, and confined to, `root` (default: the CSV's folder;
    creditshare.core.files.confined_path): no absolute path, no '..' out of it, no symlink leading out."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(path, required=ENTRY_COLUMNS, bad_rows=bad)
    rows: list[EntryRow] = []
    errors = [RowError(line, reason) for line, reason in bad]
    for line, raw in table:
        try:
            rows.append(_entry_row(line, raw, path.parent if root is None else root))
        except InvalidInput as err:
            errors.append(RowError(line, str(err)))
    if errors:
        raise InvalidEntryFile(path, sorted(errors, key=lambda e: e.line))
    if not rows:
        raise InvalidInput(f"{path} holds no entries.")
    return rows


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,40}")  # ASCII digits, as in settlement files: not '+5', '1_000' or '١٢'


def _fen(text: str | None, column: str) -> int:
    if not _WHOLE_NUMBER.fullmatch((text or "").strip()):
        raise InvalidInput(f"{column} must be a whole number of fen; got {text!r}")
    value = int((text or "").strip())
    if value < 0 or value > MAX_AMOUNT:
        raise InvalidInput(f"{column} must be between 0 and {MAX_AMOUNT}; got {value}")
    return value


def _file(base: Path, text: str | None, column: str) -> Path:
    """The file a row names, inside the CSV's folder: no absolute path, no '..' out, no symlink leading out."""
    return confined_path(base, text or "", column)


def _entry_row(line: int, raw: dict[str, str], base: Path) -> EntryRow:
    amount = _fen(raw.get("amount_fen"), "amount_fen")
    if amount == 0:
        raise InvalidInput("amount_fen must be positive; got 0")
    period_from = parse_date(raw.get("period_from") or "", "period_from")
    period_to = parse_date(raw.get("period_to") or "", "period_to")
    if period_to < period_from:
        raise InvalidInput(f"period_to {raw['period_to']} is before period_from {raw['period_from']}")
    settlements = tuple(
        parse_bytes32(s, "a settlement id") for s in (raw.get("settlements") or "").split(";") if s.strip()
    )
    evidence_path = _file(base, raw.get("evidence"), "evidence")
    return EntryRow(
        line,
        subject_id(raw.get("subject") or ""),
        Category.parse(raw.get("category") or ""),
        amount,
        period_from,
        period_to,
        settlements,
        evidence_path,
        file_digest(evidence_path),
        _file(base, raw.get("details"), "details"),
        _fen(raw.get("stake_fen"), "stake_fen"),
    )


# -- post -----------------------------------------------------------------------------------------------


def post_entries(
    book: CreditList,
    rows: Sequence[EntryRow],
    account: LocalAccount,
    dry_run: bool = False,
    on_posted: Callable[[int], None] | None = None,
) -> PostResult:
    """Posts the rows not yet on the list (same maintainer, subject, category, amount, period, settlements
    and evidence); seals each row's details into the store before its transaction is sent."""
    me = account.address
    gov = Consortium(book.client)
    member = gov.member(me)
    if member is None or not member.active or "MAINTAINER" not in member.roles:
        raise InvalidInput(f"{me} is not an active MAINTAINER member: only maintainers post entries.")
    min_stake = gov.parameter("creditList.minStake")
    if gov.parameter("creditList.entryTtl") == 0:
        raise InvalidInput(
            "the committee has not set creditList.entryTtl yet; no entry can be posted "
            "(`creditshare members propose set-parameter --parameter creditList.entryTtl`)."
        )
    errors = [
        RowError(r.line, f"stake_fen {r.stake} is below the governed minimum {min_stake}")
        for r in rows
        if r.stake < min_stake
    ]
    known = _known_settlements(book, rows)
    errors += [
        RowError(r.line, f"settlement {to_hex(s)} is not on the ledger")
        for r in rows
        for s in r.settlement_ids
        if s not in known
    ]
    if errors:
        raise InvalidEntryFile(Path("<entries>"), errors)
    existing: dict[tuple[Any, ...], int] = {}
    on_list = {subject: book.entries_of(subject) for subject in {r.subject for r in rows}}
    for subject_entries in on_list.values():
        for e in subject_entries:
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
    slot_errors = _slot_errors(book, todo, me, on_list)
    if slot_errors:  # checked before anything is sealed or sent
        raise InvalidEntryFile(Path("<entries>"), slot_errors)
    if not todo:
        return PostResult([], already, 0)
    total = sum(r.stake for r in todo)
    book.check_funds(account, total, "posting the stakes")
    # every post is run against the chain (as if the stakes were approved) before anything is sealed or sent;
    # the details are not sealed yet, so a stand-in commitment takes their place
    refused = []
    for r in todo:
        try:
            book.simulate(
                encode_call(book.contract, "post", _entry_input(r, CHECK_COMMITMENT)), account, "the post", total
            )
        except TransactionRejected as err:
            refused.append(RowError(r.line, f"the credit list would refuse this entry: {err.reason}"))
    if refused:
        raise InvalidEntryFile(Path("<entries>"), refused)
    if dry_run:  # checked like a real post, nothing sealed or sent
        return PostResult([{"line": r.line, "subject": to_hex(r.subject)} for r in todo], already, 0)
    # every evidence file in the evidence store (folder or IPFS, pinned and replicated), checked against the
    # digest it was parsed with, before anything is sealed or sent
    store_evidence(book.client.settings.evidence_dir, todo)
    book.token.ensure_allowance(account, book.contract.address, total, "posting the stakes")
    store = sealing.SealedStore(book.client.settings.evidence_dir)
    my_key = sealing.public_key_of(bytes(account.key))
    inputs, sealed_info = [], []
    for r in todo:
        key, blob = sealing.seal(r.details_path.read_bytes(), r.subject)
        commitment, cid = store.put_blob(blob)
        # the maintainer's own copy of the content key is written before the entry exists
        store.put_key(commitment, me, sealing.wrap_key(key, my_key), role="maintainer")
        sealed_info.append((commitment, cid))
        inputs.append(_entry_input(r, commitment))
    try:
        results = book.post(inputs, account, on_posted)
    except PartialWrite as err:
        landed = [todo[i].line for i in err.landed_items]
        missed = [todo[i].line for i in err.not_landed_items]
        raise err.restated(
            f"list post: the chain changed after the check: {len(landed)} entr(y/ies) posted and {len(missed)} not "
            f"({err.reason}); run the command again to post the rest (what was posted is skipped)",
            [f"posted: lines {spans(landed)}", f"not posted: lines {spans(missed)}"],
        ) from err
    posted = []
    for r, (entry_id, receipt), (commitment, cid) in zip(todo, results, sealed_info, strict=True):
        posted.append(
            {
                "line": r.line,
                "id": entry_id,
                "subject": to_hex(r.subject),
                "details_commitment": to_hex(commitment),
                "details_cid": cid,
                "evidence_cid": cid_from_digest(r.evidence),
                "stake_fen": r.stake,
                "gas_used": int(receipt["gasUsed"]),
            }
        )
    return PostResult(posted, already, sum(int(receipt["gasUsed"]) for _id, receipt in results))


def store_evidence(evidence_dir: Path, rows: Sequence[EntryRow]) -> list[str]:
    """Stores each distinct evidence file of `rows` through the chosen evidence backend
    (creditshare.domain.evidence.store_file: it must still hash to the digest the row was parsed with, which is
    the digest the entry goes on chain with); returns the CIDs. A changed or unreadable file is a row error
    (InvalidEntryFile): nothing is sealed or posted."""
    lines: dict[Path, list[int]] = {}
    digests: dict[Path, bytes] = {}
    for r in rows:
        lines.setdefault(r.evidence_path, []).append(r.line)
        digests[r.evidence_path] = r.evidence
    files = list(lines)
    cids: list[str] = []
    errors: list[RowError] = []
    for path, outcome in zip(files, ev.store_files(evidence_dir, [(f, digests[f]) for f in files]), strict=True):
        if isinstance(outcome, str):
            cids.append(outcome)
        elif isinstance(outcome, ev.EvidenceCorrupted):
            errors += [RowError(line, str(outcome)) for line in lines[path]]
        else:
            reason = f"cannot read evidence file {path}: {outcome.strerror or outcome}"
            errors += [RowError(line, reason) for line in lines[path]]
    if errors:
        raise InvalidEntryFile(Path("<entries>"), sorted(errors, key=lambda e: e.line))
    return cids


def _entry_input(r: EntryRow, commitment: bytes) -> tuple[Any, ...]:
    """The `EntryInput` tuple CreditList.post takes."""
    return (
        r.subject,
        int(r.category),
        r.amount,
        r.period_from,
        r.period_to,
        list(r.settlement_ids),
        r.evidence,
        commitment,
        r.stake,
    )


def _slot_errors(
    book: CreditList, rows: Sequence[EntryRow], me: str, on_list: dict[bytes, list[Entry]]
) -> list[RowError]:
    """The rows the list's caps would refuse: more live entries by one maintainer about a subject than
    creditList.maxLivePerMaintainer, or a maintainer new to a subject whose creditList.maxMaintainersPerSubject
    maintainers all hold live entries (CreditList counts the same way: entries that stopped counting free a slot)."""
    limits = book.limits()
    per_maintainer, per_subject = limits["max_live_per_maintainer"], limits["max_maintainers_per_subject"]
    now = book.client.block_timestamp()
    errors: list[RowError] = []
    for subject, entries in on_list.items():
        wanted = [r for r in rows if r.subject == subject]
        live = [e for e in entries if e.counts(now)]
        mine = sum(1 for e in live if e.maintainer == me)
        others = {e.maintainer for e in live if e.maintainer != me}
        if mine == 0 and wanted and len(others) >= per_subject:
            errors += [
                RowError(
                    r.line,
                    f"subject {to_hex(subject)} already has live entries by {len(others)} "
                    f"maintainers, the most the list allows (creditList.maxMaintainersPerSubject "
                    f"= {per_subject})",
                )
                for r in wanted
            ]
        elif mine + len(wanted) > per_maintainer:
            errors += [
                RowError(
                    r.line,
                    f"you already hold {mine} live entries about subject {to_hex(subject)} and "
                    f"this file adds {len(wanted)}: the list allows {per_maintainer} per "
                    f"maintainer and subject (creditList.maxLivePerMaintainer)",
                )
                for r in wanted[max(0, per_maintainer - mine) :]
            ]
    return sorted(errors, key=lambda e: e.line)


def _known_settlements(book: CreditList, rows: Sequence[EntryRow]) -> set[bytes]:
    wanted = sorted({s for r in rows for s in r.settlement_ids})
    return set(SettlementLedger(book.client).records(wanted)) if wanted else set()


# -- key release and decryption ------------------------------------------------------------------------


def release_keys(book: CreditList, account: LocalAccount, subject: bytes | None = None) -> dict[str, Any]:
    """Wraps the content key of each of the caller's entries to every viewer who paid for it (idempotent).

    A view is skipped, with its reason in ``skipped``, and the release goes on with the next one, when:

    - its subject is a consortium member and the viewer has no consented, logged list-scope read of it
      (`DataBus.consented_list_access`: a `consent access --scope list` at or before the view's block, under a
      consent that still covers the list scope): a member's sealed details leave only through such a read;
    - the view was not sent by its viewer straight to the credit list (a multisig, a relayer): the key that
      paid is the key that reads, and there is none to wrap to;
    - the viewer's public key cannot be recovered from the paying transaction (a transaction type whose
      signing hash cannot be rebuilt, see `sealing.recover_sender_public_key`).
    """
    me = account.address
    store = sealing.SealedStore(book.client.settings.evidence_dir)
    gov = Consortium(book.client)
    bus = DataBus(book.client)
    entries: dict[int, Entry] = {}
    content_keys: dict[bytes, bytes] = {}
    member_subjects: dict[str, bool] = {}
    released: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    already = 0
    for viewed in book.views(subject):
        mine = []
        for eid in viewed["entry_ids"]:
            if eid not in entries:
                entries[eid] = book.entry(eid)
            if entries[eid].maintainer == me:
                mine.append(entries[eid])
        todo = [e for e in mine if not store.has_key(e.details_commitment, viewed["viewer"])]
        already += len(mine) - len(todo)
        if not todo:
            continue
        reason, tx = _release_refusal(book, gov, bus, viewed, member_subjects)
        viewer_key = b""
        if reason is None:
            try:
                viewer_key = sealing.recover_sender_public_key(tx)
            except DetailsUnavailable as err:
                reason = str(err)
        if reason is not None:
            skipped.append(
                {
                    "view_tx": viewed["tx"],
                    "viewer": viewed["viewer"],
                    "subject": viewed["subject"],
                    "entry_ids": [e.id for e in todo],
                    "reason": reason,
                }
            )
            continue
        for e in todo:
            c = e.details_commitment
            if c not in content_keys:
                wrapped = store.key(c, me)
                if wrapped is None:
                    raise DetailsUnavailable(
                        f"the content key of entry {e.id} is not in the evidence store "
                        f"{store.root}: it was posted from another data folder."
                    )
                content_keys[c] = sealing.unwrap_key(wrapped, bytes(account.key))
            wrapped_for_viewer = sealing.wrap_key(content_keys[c], viewer_key)
            # signed, so that a key that does not open the details is provable to others (bad-key proof)
            signature = sealing.sign_key_release(
                bytes(account.key), *_release_fields(book, e.id, viewed["viewer"], c, wrapped_for_viewer)
            )
            store.put_key(
                c,
                viewed["viewer"],
                wrapped_for_viewer,
                role="viewer",
                entry_id=e.id,
                view_tx=viewed["tx"],
                released_by=me,
                signature="0x" + signature.hex(),
            )
            released.append({"entry_id": e.id, "viewer": viewed["viewer"], "view_tx": viewed["tx"]})
    return {"maintainer": me, "released": released, "skipped": skipped, "already_released": already}


def _is_member_subject(gov: Consortium, subject: bytes, cache: dict[str, bool]) -> bool:
    key = to_hex(subject)
    if key not in cache:
        cache[key] = gov.member_by_org(subject) is not None
    return cache[key]


def _release_refusal(
    book: CreditList, gov: Consortium, bus: DataBus, viewed: dict[str, Any], member_subjects: dict[str, bool]
) -> tuple[str | None, Any]:
    """Why the content keys of one paid view may not be released to its viewer (None: they may), and the
    paying transaction."""
    subject = parse_bytes32(viewed["subject"], "a subject id")
    if _is_member_subject(gov, subject, member_subjects) and (
        bus.consented_list_access(subject, viewed["viewer"], viewed["block"]) is None
    ):
        return (
            f"no consented list-scope read: subject {to_hex(subject)} is a member, and {viewed['viewer']} "
            f"logged no `consent access --scope list` of it under a valid consent at or before the view "
            f"(block {viewed['block']})",
            None,
        )
    tx = book.transaction(viewed["tx"])
    # the key that paid is the key that reads: a view made through another contract (a multisig,
    # a relayer) has another sender, and its viewer gets no key this way
    if (
        to_checksum_address(tx["from"]) != viewed["viewer"]
        or not tx.get("to")
        or to_checksum_address(tx["to"]) != to_checksum_address(book.contract.address)
    ):
        return (
            f"the view was not sent by its viewer {viewed['viewer']} to the credit list: no public key to "
            "wrap its content key to",
            tx,
        )
    return None, tx


def decrypt_details(book: CreditList, entry_id: int, account: LocalAccount) -> bytes:
    """The private details of an entry, for its maintainer or a viewer whose key was released."""
    me = account.address
    store = sealing.SealedStore(book.client.settings.evidence_dir)
    entry = book.entry(entry_id)
    wrapped = store.key(entry.details_commitment, me)
    if wrapped is None:
        paid = book.last_viewed_at(me, entry.subject)
        if paid == 0:
            raise DetailsUnavailable(
                f"{me} has not paid to view subject {to_hex(entry.subject)}: the details of entry {entry_id} "
                f"are released only to paying viewers (`creditshare list view SUBJECT`)."
            )
        if Consortium(book.client).member_by_org(entry.subject) is not None:
            bus = DataBus(book.client)
            mine = [v for v in book.views(entry.subject) if v["viewer"] == me]
            if not any(bus.consented_list_access(entry.subject, me, v["block"]) for v in mine):
                raise DetailsUnavailable(
                    f"{me} paid to view subject {to_hex(entry.subject)}, a consortium member, without a consented, "
                    f"logged list-scope read before the view: its maintainer releases no key for such a view. Ask "
                    f"the subject's member for consent (`creditshare consent grant --scope list`), record the read "
                    f"(`creditshare consent access SUBJECT --scope list`), then view again "
                    f"(`creditshare list view SUBJECT --again`)."
                )
        raise DetailsUnavailable(
            f"{me} paid to view subject {to_hex(entry.subject)} but the key of entry {entry_id} has not been "
            f"released yet: its maintainer {entry.maintainer} runs `creditshare list release`."
        )
    blob = store.blob(entry.details_commitment)  # checked against the on-chain commitment
    if me == entry.maintainer:
        return sealing.open_sealed(blob, sealing.unwrap_key(wrapped, bytes(account.key)), entry.subject)
    record = store.key_record(entry.details_commitment, me) or {}
    fields = _release_fields(book, entry.id, me, entry.details_commitment, wrapped)
    try:
        signature = bytes.fromhex(str(record.get("signature", ""))[2:])
        signed_by = sealing.key_release_signer(signature, *fields) if signature else None
    except (ValueError, DetailsUnavailable):
        signed_by = None
    if signed_by != entry.maintainer:
        raise DetailsUnavailable(
            f"the key released to {me} for entry {entry_id} is not signed by the entry's maintainer "
            f"{entry.maintainer}: it is not used. Ask the maintainer to release it again (`creditshare list release`)."
        )
    try:
        return sealing.open_sealed(blob, sealing.unwrap_key(wrapped, bytes(account.key)), entry.subject)
    except DetailsUnavailable as err:
        proof = {
            "kind": PROOF_KIND,
            "chain_id": fields[0],
            "credit_list": fields[1],
            "entry_id": entry.id,
            "subject": to_hex(entry.subject),
            "maintainer": entry.maintainer,
            "viewer": me,
            "viewer_public_key": "0x" + sealing.public_key_of(bytes(account.key)).hex(),
            "details_commitment": to_hex(entry.details_commitment),
            "sealed_blob": "0x" + blob.hex(),
            "wrapped_key": "0x" + wrapped.hex(),
            "signature": "0x" + signature.hex(),
            "view_tx": record.get("view_tx"),
            "shared_point_proof": sealing.prove_shared_point(wrapped, bytes(account.key)),
            "problem": str(err),
        }
        path = book.client.settings.data_dir / "proofs" / f"bad-key-entry-{entry.id}-{me}.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(proof, indent=1) + "\n")
        except OSError as write_err:
            raise InvalidInput(f"cannot write the bad-key proof {path}: {write_err.strerror}") from write_err
        raise DetailsUnavailable(
            f"the key {entry.maintainer} released to {me} for entry {entry_id} does not open its sealed details "
            f"({err}). A bad-key proof (the maintainer's signed release and your evidence) is written to {path}: "
            f"show it to the committee; anyone checks it with `creditshare list check-proof {path}`."
        ) from err


PROOF_KIND = "creditshare/bad-key-proof/v1"


def _release_fields(
    book: CreditList, entry_id: int, viewer: str, commitment: bytes, wrapped: bytes
) -> tuple[int, str, int, str, bytes, bytes]:
    """What a maintainer's key-release signature binds (sealing.key_release_message)."""
    return (
        book.client.settings.network.chain_id,
        to_checksum_address(book.contract.address),
        entry_id,
        to_checksum_address(viewer),
        commitment,
        wrapped,
    )


def check_bad_key_proof(path: Path, book: CreditList) -> dict[str, Any]:
    """Checks a bad-key proof written by `decrypt_details` and returns what it proves; InvalidInput when it
    proves nothing (each check names what failed).

    The proof holds when: the sealed blob hashes to the entry's on-chain details commitment; the maintainer the
    chain names for the entry signed (EIP-712, bound to this chain and CreditList) exactly this wrapped key for
    this viewer and entry; the revealed ECDH point is proven (Chaum-Pedersen) to come from the viewer's public
    key, whose address is the viewer's; and with that point the wrapped key either does not decrypt, or decrypts
    to a content key that does not open the blob. A wrong proof cannot be made against an honest maintainer: a
    key that opens the blob makes the check fail."""
    try:
        proof = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidInput(f"cannot read {path}: {err.strerror}") from err
    except ValueError as err:
        raise InvalidInput(f"{path} is not a bad-key proof: not JSON ({err})") from err
    if not isinstance(proof, dict) or proof.get("kind") != PROOF_KIND:
        raise InvalidInput(f"{path} is not a bad-key proof (kind {PROOF_KIND} expected).")
    try:
        entry_id = int(proof["entry_id"])
        viewer = to_checksum_address(proof["viewer"])
        blob, wrapped, signature, viewer_key, commitment = (
            bytes.fromhex(str(proof[k])[2:])
            for k in ("sealed_blob", "wrapped_key", "signature", "viewer_public_key", "details_commitment")
        )
        point_proof = proof["shared_point_proof"]
        chain_id, credit_list = int(proof["chain_id"]), to_checksum_address(proof["credit_list"])
    except (KeyError, ValueError, TypeError) as err:
        raise InvalidInput(f"{path} is not a bad-key proof: {type(err).__name__} {err}") from err
    here = _release_fields(book, entry_id, viewer, commitment, wrapped)
    if (chain_id, credit_list) != here[:2]:
        raise InvalidInput(
            f"{path} is about CreditList {credit_list} on chain {chain_id}; this network's is {here[1]} on {here[0]}."
        )
    entry = book.entry(entry_id)
    if entry.details_commitment != commitment or sealing.commitment(blob) != commitment:
        raise InvalidInput(f"{path}: the sealed blob is not the one entry {entry_id} commits to on chain.")
    signer = sealing.key_release_signer(signature, *here)
    if signer != entry.maintainer:
        raise InvalidInput(
            f"{path}: the release is signed by {signer}, not by entry {entry_id}'s maintainer {entry.maintainer}."
        )
    if len(viewer_key) != 64 or sealing.address_of(viewer_key) != viewer:
        raise InvalidInput(f"{path}: the viewer public key is not {viewer}'s.")
    shared = sealing.check_shared_point(wrapped, viewer_key, point_proof)
    try:
        content_key = sealing.unwrap_with_shared_point(wrapped, shared)
    except DetailsUnavailable:
        finding = "the wrapped key the maintainer signed does not decrypt with the viewer's key"
    else:
        try:
            sealing.open_sealed(blob, content_key, entry.subject)
        except DetailsUnavailable:
            finding = "the content key the maintainer signed does not open the sealed details committed on chain"
        else:
            raise InvalidInput(
                f"{path} proves nothing: the released key opens entry {entry_id}'s sealed details; the maintainer "
                "released a good key."
            )
    return {
        "proof": str(path),
        "valid": True,
        "entry_id": entry_id,
        "maintainer": entry.maintainer,
        "viewer": viewer,
        "finding": finding,
        "paid_view_at": book.last_viewed_at(viewer, entry.subject),
    }


def save_details(path: Path, details: bytes) -> None:
    """Writes decrypted details to ``path``, readable by this user only (0600): they are private."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(details)
    except OSError as err:
        raise InvalidInput(f"cannot write {path}: {err.strerror}") from err


# -- stakes ---------------------------------------------------------------------------------------------


def release_expired_stakes(book: CreditList, account: LocalAccount) -> list[dict[str, Any]]:
    """Credits back to the caller's list balance the stake of each of its entries that has expired and is not
    under contest (one transaction each): the release_stake results, oldest entry first."""
    now = book.client.block_timestamp()
    contested = STATUSES.index("contested")
    released = []
    for eid in range(1, int(book.client.call(book.contract, "entryCount")[0]) + 1):
        e = book.entry(eid)
        if e.maintainer == account.address and e.stake and now >= e.expires_at and e.status != contested:
            released.append(book.release_stake(eid, account))
    return released
