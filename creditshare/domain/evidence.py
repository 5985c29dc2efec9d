"""The evidence store: documents (waybills, proofs of delivery, invoices, IoT trip logs) kept under their CID.

Files stay off chain; the chain holds the sha2-256 digest inside the file's
CIDv1 (raw codec; see creditshare.core.ids), so anyone holding the file can
prove that it matches.

Two backends, chosen by ``CREDITSHARE_EVIDENCE``:

* ``folder`` (the default, embedded): ``<data>/evidence/<CID>``, readable by this member only;
* ``ipfs``: this member's Kubo node (``CREDITSHARE_IPFS_API``, default node 0 of ``creditshare ipfs init``),
  with each document pinned by the submitter's node and by other members' nodes
  (``CREDITSHARE_IPFS_REPLICAS``: their RPC addresses, comma-separated; default the other nodes of the
  network) until ``CREDITSHARE_IPFS_REPLICATION`` nodes hold it (default 2). A reader's node fetches what
  it lacks from any connected member over bitswap.

One CID everywhere: a document up to `MAX_BLOCK` (1 MiB) is stored as one raw block (``block/put
--cid-codec raw --mhtype sha2-256``), so the CID Kubo serves is exactly the CID the chain's digest gives. A
larger one is not a valid single block (Kubo's limit; its own nodes exchange blocks up to about 4 MiB over
bitswap, a 5 MiB one is never delivered): it is added as a UnixFS file (CIDv1, 256 KiB raw leaves) whose root
CID differs, and the link ``document CID -> root CID`` is recorded in the member's link index
(``<data>/ipfs/links.json``) and in the MFS of every node that pins it (``/creditshare/links/<CID>``), where
a member without the link looks it up. Either way every read checks the bytes against the
digest inside the document CID, so a wrong link, a tampered block or a lying peer is an error, never data.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from creditshare.core.errors import ConfigError, InvalidInput
from creditshare.core.ids import cid_from_digest, digest_from_cid
from creditshare.core.ipfs import MAX_BLOCK, IpfsError, Kubo, load_network, network_dir

BACKEND_ENV = "CREDITSHARE_EVIDENCE"
API_ENV = "CREDITSHARE_IPFS_API"
REPLICAS_ENV = "CREDITSHARE_IPFS_REPLICAS"
# a Kubo RPC API: http(s), a host, an optional port, nothing after it
_API_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+/?")
REPLICATION_ENV = "CREDITSHARE_IPFS_REPLICATION"
BACKENDS = ("folder", "ipfs")
#: where each pin holder keeps the links of the large documents it pins (document CID -> UnixFS root)
LINKS_MFS = "/creditshare/links"
#: the empty document: Kubo stores and pins it, but bitswap never sends a zero-length block
EMPTY_CID = cid_from_digest(hashlib.sha256(b"").digest())


class EvidenceUnavailable(InvalidInput):
    """No reachable copy of a document: not in the folder, or on no member's node within the wait."""


class EvidenceCorrupted(InvalidInput):
    """A copy of a document does not match its CID (tampered or damaged)."""


def backend() -> str:
    """The evidence backend `CREDITSHARE_EVIDENCE` names (folder when unset)."""
    name = os.environ.get(BACKEND_ENV, "").strip().lower() or "folder"
    if name not in BACKENDS:
        raise ConfigError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}; got {name!r}.")
    return name


def store(evidence_dir: Path, data: bytes) -> str:
    """Puts `data` in the evidence store under its CIDv1 and returns the CID (idempotent).

    `evidence_dir` is ``<data>/evidence`` (Settings.evidence_dir); the IPFS backend finds its network in
    ``<data>/ipfs``.
    """
    if backend() == "ipfs":
        return IpfsStore.from_env(evidence_dir.parent).store(data)
    return store_folder(evidence_dir, data)


def load(evidence_dir: Path, cid: str) -> bytes:
    """The bytes stored under `cid`, checked against the CID's digest."""
    if backend() == "ipfs":
        return IpfsStore.from_env(evidence_dir.parent).load(cid)
    return load_folder(evidence_dir, cid)


def storer(evidence_dir: Path) -> Callable[[bytes], str]:
    """`store` bound to the chosen backend once (with IPFS: one client, so one HTTP connection per node, for
    many documents; not shared between threads)."""
    if backend() == "ipfs":
        return IpfsStore.from_env(evidence_dir.parent).store
    return functools.partial(store_folder, evidence_dir)


def store_file(evidence_dir: Path, path: Path, digest: bytes, *, put: Callable[[bytes], str] | None = None) -> str:
    """Stores the document at `path`, which must still hash to `digest` (the digest a settlement or entry row was
    parsed with and goes on chain with), through the chosen backend (or `put`, a `storer`); returns its CID. The
    hook for settlements submit and list post: store every distinct document before the records that name it are
    sent."""
    data = path.read_bytes()
    if hashlib.sha256(data).digest() != digest:
        raise EvidenceCorrupted(f"{path} changed since it was read: it no longer matches {cid_from_digest(digest)}.")
    return (put or storer(evidence_dir))(data)


def store_files(
    evidence_dir: Path, files: Sequence[tuple[Path, bytes]], *, workers: int = 8
) -> list[str | EvidenceCorrupted | OSError]:
    """`store_file` for many (path, digest) pairs; for each, in order, its CID or the error that refused that
    file (a changed or unreadable file; the others are still stored). With IPFS `workers` documents are in
    flight at once (each on its own client): a document's add, pin and replication wait mostly on the nodes.
    A node that cannot be reached or refuses raises (IpfsError), as a wrong setting does (ConfigError)."""
    local = threading.local()

    def one(item: tuple[Path, bytes]) -> str | EvidenceCorrupted | OSError:
        if not hasattr(local, "put"):
            local.put = storer(evidence_dir)
        try:
            return store_file(evidence_dir, item[0], item[1], put=local.put)
        except (EvidenceCorrupted, OSError) as err:
            return err

    if not files:
        return []
    in_flight = max(1, min(workers, len(files))) if backend() == "ipfs" else 1
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        return list(pool.map(one, files))


@dataclass(frozen=True)
class Verdict:
    """What `verify` found for one document: ``ok`` (the bytes match the CID), ``missing`` (no reachable copy)
    or ``tampered`` (a copy that does not match); `problem` says which copy and why."""

    cid: str
    status: str
    size: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def verify(evidence_dir: Path, cid: str) -> Verdict:
    """Fetches the document `cid` through the chosen backend (over bitswap from any member's node with IPFS)
    and checks it against the digest inside the CID. A missing or tampered copy is a verdict, not an error; a
    setting that is wrong or this member's own node being down still raises."""
    try:
        data = load(evidence_dir, cid)
    except EvidenceUnavailable as err:
        return Verdict(cid, "missing", problem=str(err))
    except EvidenceCorrupted as err:
        return Verdict(cid, "tampered", problem=str(err))
    return Verdict(cid, "ok", size=len(data))


def verify_many(evidence_dir: Path, cids: list[str], *, workers: int = 8) -> dict[str, Verdict]:
    """`verify` for each distinct CID, `workers` at a time with IPFS (a missing document waits for the fetch
    timeout: in parallel, n missing documents cost one wait, not n)."""
    distinct = list(dict.fromkeys(cids))
    for cid in distinct:  # a malformed CID is the caller's error, before anything is fetched
        digest_from_cid(cid)
    if backend() != "ipfs" or len(distinct) < 2:
        return {cid: verify(evidence_dir, cid) for cid in distinct}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
        return dict(zip(distinct, pool.map(lambda c: verify(evidence_dir, c), distinct), strict=True))


def _check(cid: str, data: bytes, where: str) -> bytes:
    if hashlib.sha256(data).digest() != digest_from_cid(cid):
        raise EvidenceCorrupted(f"{where} copy of {cid} does not match its CID (tampered or corrupted).")
    return data


# -- the folder ---------------------------------------------------------------------------------------------


def _intact(path: Path, digest: bytes) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).digest() == digest
    except FileNotFoundError:
        return False


def store_folder(evidence_dir: Path, data: bytes) -> str:
    """Writes `data` as ``<evidence_dir>/<CID>``; a copy already there is kept if intact and replaced if it no
    longer matches its CID (storing a document again repairs a damaged copy)."""
    digest = hashlib.sha256(data).digest()
    cid = cid_from_digest(digest)
    path = evidence_dir / cid
    if not _intact(path, digest):
        evidence_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return cid


def load_folder(evidence_dir: Path, cid: str) -> bytes:
    digest_from_cid(cid)
    try:
        data = (evidence_dir / cid).read_bytes()
    except FileNotFoundError as err:
        raise EvidenceUnavailable(f"{cid} is not in the evidence store {evidence_dir}.") from err
    return _check(cid, data, "the evidence store's")


# -- IPFS ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentStatus:
    cid: str
    served_as: str
    holders: list[str]
    target: int

    @property
    def below_target(self) -> bool:
        return len(self.holders) < self.target


_LINKS_LOCK = threading.Lock()


class IpfsStore:
    """Documents on this member's Kubo node, pinned there and on `replicas` up to `target` nodes in all."""

    def __init__(self, api: str, replicas: list[str], target: int, links: Path) -> None:
        if target < 1:
            raise ConfigError(f"{REPLICATION_ENV} must be at least 1; got {target}.")
        self.node = Kubo(api)
        self.replicas = [Kubo(r) for r in replicas if r.rstrip("/") != self.node.api]
        self.target = target
        self.links_path = links

    @classmethod
    def from_env(cls, data_dir: Path) -> IpfsStore:
        api = os.environ.get(API_ENV, "").strip()
        replicas = [r.strip() for r in os.environ.get(REPLICAS_ENV, "").split(",") if r.strip()]
        if not api or REPLICAS_ENV not in os.environ:
            nodes = [n.api for n in load_network(data_dir)]
            api = api or nodes[0]
            if REPLICAS_ENV not in os.environ:
                replicas = nodes
        for name, url in [(API_ENV, api)] + [(REPLICAS_ENV, r) for r in replicas]:
            if not _API_URL.fullmatch(url):
                raise ConfigError(f"{name} must name Kubo API URLs like http://127.0.0.1:5001; got {url!r}.")
        raw_target = os.environ.get(REPLICATION_ENV, "2").strip()
        try:
            target = int(raw_target)
        except ValueError as err:
            raise ConfigError(f"{REPLICATION_ENV} must be a whole number; got {raw_target!r}.") from err
        return cls(api, replicas, target, network_dir(data_dir) / "links.json")

    # the link index: documents over MAX_BLOCK, document CID -> UnixFS root CID
    def links(self) -> dict[str, str]:
        try:
            links = json.loads(self.links_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeError are ValueErrors
            raise ConfigError(f"the link index {self.links_path} is malformed ({err}); move it away.") from err
        if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
            raise ConfigError(f"the link index {self.links_path} is malformed (not an object of CIDs); move it away.")
        return dict(links)

    def _link(self, cid: str, root: str) -> None:
        with _LINKS_LOCK:  # read-modify-write: stores running in threads (store_files) must not lose a link
            links = self.links()
            if links.get(cid) == root:
                return
            links[cid] = root
            self.links_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.links_path.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(links, indent=2, sort_keys=True))
            tmp.replace(self.links_path)

    def served_as(self, cid: str) -> str:
        """The CID Kubo serves the document under: the document CID itself, or its linked UnixFS root.

        A link missing from this member's index is looked up on the pin holders (each keeps the links of the
        large documents it pins in its MFS, under LINKS_MFS), then kept in the index.
        """
        digest_from_cid(cid)
        known = self.links().get(cid)
        if known is not None:
            return known
        for kubo in [self.node, *self.replicas]:
            try:
                root = kubo.files_read(f"{LINKS_MFS}/{cid}").decode("ascii").strip()
            except (IpfsError, UnicodeDecodeError):
                continue
            if root:
                self._link(cid, root)
                return root
        return cid

    def store(self, data: bytes) -> str:
        cid = cid_from_digest(hashlib.sha256(data).digest())
        if len(data) <= MAX_BLOCK:
            served = self.node.block_put_raw(data, pin=True)
            if served != cid:  # Kubo and the chain disagree on the CID: never record such a document
                raise IpfsError(f"the IPFS node stored the document as {served}, not as its CID {cid}.")
        else:
            served = self.node.add(data, pin=True)
            self._link(cid, served)
            self.node.files_write(f"{LINKS_MFS}/{cid}", served.encode("ascii"))
        for api in self.replicate(served, data if served == cid else None):
            if served != cid:
                Kubo(api).files_write(f"{LINKS_MFS}/{cid}", served.encode("ascii"))
        return cid

    def replicate(self, served: str, block: bytes | None = None) -> list[str]:
        """Pins `served` on replica nodes until `target` nodes hold it; returns the replicas that pinned it.

        A single-block document (`block`) is handed to each replica with its pin (one request, and the only
        way for the empty document, which bitswap never sends); otherwise the replica fetches the DAG from the
        members over bitswap. A replica that is down is skipped: `status` shows the shortfall.
        """
        if block is None and served == EMPTY_CID:
            block = b""
        pinned: list[str] = []
        for replica in self.replicas:
            if len(pinned) + 1 >= self.target:
                break
            try:
                if block is not None:
                    replica.block_put_raw(block, pin=True)
                else:
                    replica.pin_add(served)
            except IpfsError:
                continue
            pinned.append(replica.api)
        return pinned

    def load(self, cid: str) -> bytes:
        served = self.served_as(cid)
        if served == EMPTY_CID:  # the CID is the proof of the empty document, and bitswap does not carry it
            return b""
        try:
            data = self.node.block_get(served) if served == cid else self.node.cat(served)
        except IpfsError as err:
            text = str(err)
            if "not reachable" in text:
                raise
            if "deadline" in text or "timeout" in text or "did not answer" in text:
                raise EvidenceUnavailable(
                    f"{cid} is on no reachable member's IPFS node (waited {self.node.timeout:g} s via {self.node.api})."
                ) from err
            raise
        return _check(cid, data, f"the IPFS node {self.node.api}'s")

    def load_many(self, cids: list[str], *, workers: int = 8) -> list[bytes]:
        """`load` for many documents, `workers` requests in flight (a remote fetch waits mostly on bitswap's
        round trips, not on this process), in the order of `cids`."""
        local = threading.local()

        def one(cid: str) -> bytes:
            if not hasattr(local, "store"):  # a requests session per thread
                local.store = IpfsStore(self.node.api, [], 1, self.links_path)
            return local.store.load(cid)  # type: ignore[no-any-return]

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, cids))

    def status(self, nodes: list[str]) -> tuple[list[DocumentStatus], list[str]]:
        """Each document pinned on any of `nodes` (RPC addresses) with the nodes that pin it; and the nodes
        that did not answer."""
        back = {root: cid for cid, root in self.links().items()}
        holders: dict[str, list[str]] = {}
        down: list[str] = []
        for api in nodes:
            try:
                pins = Kubo(api, timeout=10).pins()
            except IpfsError:
                down.append(api)
                continue
            for served in pins:
                # documents only: raw blocks (CIDv1 raw, sha2-256) and the roots of linked large ones, not the
                # empty folder Kubo pins at init
                if served.startswith("bafkrei") or served in back:
                    holders.setdefault(served, []).append(api)
        docs = [
            DocumentStatus(back.get(served, served), served, apis, self.target)
            for served, apis in sorted(holders.items())
        ]
        return docs, down
