"""What the console's pages and API read, composed from the library the CLI uses, with caches per block.

A subject's settlements come from this node's chain index (creditshare.domain.index, through
creditshare.reports.lender.subject_settlements: the CLI's `report` reads the same), caught up to the head on each
read; their states are read live (`SettlementLedger.states`). What does not change until the next block (the
accepted reports, a subject's composed page, the portfolio, the model and network pages) is memoized, keyed by
the head block's number and hash: a new block drops every memo, and so does a development chain reverted to a
snapshot (it reuses numbers, not hashes). Nothing stale is shown and nothing is copied.

The numbers on a subject page are the CLI's (`creditshare --json report SUBJECT`): the same summarize_settlements,
verify_scores and score_history over the same records; tests/web compares them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from web3.types import RPCEndpoint, RPCResponse

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.credit_list import CreditList
from creditshare.bindings.data_bus import DataBus
from creditshare.bindings.model_registry import ModelRegistry
from creditshare.bindings.score_oracle import ScoreOracle
from creditshare.bindings.settlement_ledger import SettlementLedger
from creditshare.core import keys, network
from creditshare.core.chain import ChainClient, event_topic
from creditshare.core.config import Settings
from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.domain.cards import champion_card
from creditshare.domain.index import ChainIndex
from creditshare.reports.freight import model_features, new_energy_shares
from creditshare.reports.lender import freight_facts, model_provenance, subject_settlements, summarize_settlements
from oracle.provenance import AcceptedReport, accepted_reports, score_history, verify_scores
from scoring.model_card import TIERS

PAGE_SIZE = 50
MAX_PAGE = 100_000
#: how long the network page waits for a node (the connected one's clique_getSigners, every geth node's status)
NODE_TIMEOUT_S = 3.0
T = TypeVar("T")


class ConsoleClient(ChainClient):
    """The chain client of a long-running console: ChainClient, plus reads pinned to one page.

    Inside ``pinned()`` (one page's composition, under the console's lock) the answers to eth_blockNumber and
    eth_getBlockByNumber ("latest" or a number) are kept and reused: the page reads one head however many times
    its parts ask (the chain index's catch-up alone asks for the head and its last block at each of its 3-4
    opens a page), which saves about 10 of a subject page's 23 round trips after a new block. Nothing is kept
    after the page; calls and logs are always sent."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        super().__init__(settings, timeout)
        self._pinned: dict[str, Any] | None = None
        send = self.w3.provider.make_request

        def make_request(method: RPCEndpoint, params: Any) -> RPCResponse:
            pinned = self._pinned
            block = method == "eth_getBlockByNumber" and (params[0] == "latest" or str(params[0]).startswith("0x"))
            if pinned is None or not (method == "eth_blockNumber" or block):
                return send(method, params)
            key = f"{method}{params!r}"
            if key not in pinned:
                response = send(method, params)
                if "error" in response or response.get("result") is None:
                    return response  # an error or a block not there yet: asked again next time
                pinned[key] = response
            return pinned[key]  # type: ignore[no-any-return]

        # before the first request: web3 builds its middleware chain around the provider's make_request then
        self.w3.provider.make_request = make_request  # type: ignore[method-assign]

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Keeps the head and the blocks read for the reads inside (a nested use shares the outer one; one
        thread at a time: the console calls it under its lock)."""
        outer = self._pinned is not None
        if not outer:
            self._pinned = {}
        try:
            yield
        finally:
            if not outer:
                self._pinned = None


class NotFound(InvalidInput):
    """The chain holds nothing about what a page or API call names (an HTTP 404)."""


class Forbidden(CreditShareError):
    """An action this console's member may not take (an HTTP 403)."""


@dataclass
class ConsoleConfig:
    """What `creditshare serve` starts the console with."""

    account: LocalAccount
    account_name: str
    card: Any = None  # the champion's public model card (scoring.model_card.ModelCard), for reasons and the model page
    card_path: Path | None = None
    max_age_days: int | None = 90


class Console:
    """One member's view of the chain: the reads of every page, the signed actions, the caches."""

    def __init__(self, client: ChainClient, config: ConsoleConfig) -> None:
        self.client = client
        self.config = config
        self.account = config.account
        self.ledger = SettlementLedger(client)
        self.lock = threading.RLock()  # one chain client, one signer: requests are served one at a time
        self._memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._memo_block = -1
        self._memo_key: tuple[int, bytes] = (-1, b"")
        self._head_time = 0

    # -- caches ------------------------------------------------------------------------------------

    def head(self) -> int:
        """The head block's number; the memos are dropped when the head block changes (by number or hash: a
        development chain reverted to a snapshot reuses numbers)."""
        block = self.client.read(lambda: self.client.w3.eth.get_block("latest"), "block")
        key = (int(block["number"]), bytes(block["hash"]))
        if key != self._memo_key:
            self._memo.clear()
            self._memo_key = key
            self._memo_block = key[0]
            self._head_time = int(block["timestamp"])
        return key[0]

    def page(self) -> AbstractContextManager[None]:
        """One page's reads, pinned to one head when the client is a ConsoleClient (see there)."""
        return self.client.pinned() if isinstance(self.client, ConsoleClient) else nullcontext()

    def memo(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per head block (call head() first)."""
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]  # type: ignore[no-any-return]
        value = compute()
        self._memo[key] = value
        if len(self._memo) > 512:
            self._memo.popitem(last=False)
        return value

    def reports(self) -> dict[int, AcceptedReport]:
        return self.memo(("reports",), lambda: accepted_reports(self.client))

    def now(self) -> int:
        return self.memo(("now",), self.client.block_timestamp)

    # -- search ------------------------------------------------------------------------------------

    def resolve(self, query: str) -> bytes:
        """A subject id from what a user types: `namespace:registration`, a 0x 32-byte id, a member's address or
        a keystore name in this node's data folder (the member's organisation)."""
        text = query.strip()
        if not text:
            raise InvalidInput("type a registration (uscc:..., driver:...), a subject id, a member or a key name.")
        if len(text) > 200:
            raise InvalidInput("a search is at most 200 characters.")
        if ":" in text or (text.startswith("0x") and len(text) == 66):
            return subject_id(text)
        if text.startswith("0x"):
            if not is_address(text):
                raise InvalidInput(f"{text!r} is neither a 0x 32-byte subject id nor an address.")
            address = to_checksum_address(text)
        else:
            known = keys.list_keystores(self.client.settings.keystore_dir)
            if text not in known:
                raise NotFound(
                    f"no registration, id, member or key named {text!r}: "
                    "a registration looks like uscc:91310000MA1FL4XX1X"
                )
            address = to_checksum_address(known[text])
        member = Consortium(self.client).member(address)
        if member is None:
            raise NotFound(f"{address} is not a consortium member: it has no organisation to look up.")
        return member.org_id

    # -- a subject ---------------------------------------------------------------------------------

    def subject(self, subject: bytes) -> dict[str, Any]:
        """The subject page's facts: the CLI report's (score, history, settlements, list entries, provenance)
        plus consents and the records, memoized until the next block."""
        with self.lock, self.page():
            self.head()
            return self.memo(("subject", subject), lambda: self._subject(subject))

    def _subject(self, subject: bytes) -> dict[str, Any]:
        reports = self.reports()
        (score,) = verify_scores(
            self.client, [subject], self.config.card, reports, max_age_days=self.config.max_age_days
        )
        history = score_history(self.client, [subject], reports).get(to_hex(subject), [])
        records = subject_settlements(self.client, self.ledger, subject)
        states = self.ledger.states([r.id for r in records])
        settlements = summarize_settlements(
            (s.status.label, r.amount, r.due_date, s.paid_date, r.evidence)
            for r, s in zip(records, states, strict=True)
        )
        settlements["as_shipper"] = sum(r.shipper == subject for r in records)
        settlements["as_carrier"] = sum(r.carrier == subject for r in records)
        now = self.now()
        entries = self.entries(subject, now)
        if not score["scored"] and not records and not entries:
            raise NotFound(
                f"unknown subject {to_hex(subject)}: "
                "the chain holds no score, settlement or credit-list entry about it."
            )
        rows = [
            {
                **r.to_json(),
                "role": "shipper" if r.shipper == subject else "carrier",
                "status": s.status.label,
                "paid_date": s.paid_date,
            }
            for r, s in zip(records, states, strict=True)
        ]
        consents = [c.to_json(now) for c in DataBus(self.client).consents_of(subject)]
        return {
            "subject": to_hex(subject),
            "score": score,
            "history": history,
            "settlements": settlements,
            "list_entries": entries,
            "provenance": {**(model_provenance(score) or {}), "evidence_cids": settlements["evidence_cids"]},
            "consents": consents,
            "records": rows,
            "block": self._memo_block,
            # reasons as sentences, lanes and green freight: the CLI report's (creditshare.reports.freight)
            **freight_facts(self.client, subject, score, self.config.card),
        }

    def entries(self, subject: bytes, now: int) -> list[dict[str, Any]]:
        if "CreditList" not in self.client.deployment.addresses:
            return []
        return [e.to_json(now) for e in CreditList(self.client).entries_of(subject)]

    def subject_page(self, subject: bytes, page: int) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
        """The subject's facts, the records of page `page` (from 1) and the number of pages."""
        facts = self.subject(subject)
        pages = max(1, -(-len(facts["records"]) // PAGE_SIZE))
        if not 1 <= page <= min(pages, MAX_PAGE):
            raise NotFound(f"page {page} does not exist: this subject's settlements fill {pages} page(s).")
        return facts, facts["records"][(page - 1) * PAGE_SIZE : page * PAGE_SIZE], pages

    # -- portfolio, model, network -----------------------------------------------------------------

    def portfolio(self, sort: str = "score") -> dict[str, Any]:
        """The subjects that granted this console's member a consent still valid, with their verified scores, and
        the default rate per tier among them (a subject with a settlement closed as Defaulted)."""
        if sort not in ("score", "tier", "subject"):
            raise InvalidInput(f"sort by score, tier or subject; got {sort!r}.")
        with self.lock, self.page():
            self.head()
            items = self.memo(("portfolio",), self._portfolio)
        key: Callable[[dict[str, Any]], Any] = {
            "score": lambda i: (-(i["score"] or -1), i["subject"]),
            "tier": lambda i: (i["tier"] or "Z", -(i["score"] or -1), i["subject"]),
            "subject": lambda i: i["subject"],
        }[sort]
        rows = sorted(items["subjects"], key=key)
        return {**items, "subjects": rows, "sort": sort}

    def _portfolio(self) -> dict[str, Any]:
        bus = DataBus(self.client)
        lender_topic = "0x" + self.account.address[2:].lower().rjust(64, "0")
        logs = self.client.logs(
            bus.contract.address, [event_topic(bus.contract, "ConsentGranted"), None, None, lender_topic]
        )
        now = self.now()
        consents: dict[bytes, list[dict[str, Any]]] = {}
        for log in logs:
            consent = bus.consent(int(log["topics"][1], 16))
            if consent.state(now) == "valid":
                consents.setdefault(consent.subject, []).append(consent.to_json(now))
        subjects = list(consents)
        green = new_energy_shares(self.client, subjects)  # green freight: shown beside each score
        scores = verify_scores(
            self.client, subjects, self.config.card, self.reports(), max_age_days=self.config.max_age_days
        )
        by_tier: dict[str, dict[str, Any]] = {t: {"subjects": 0, "defaulters": 0} for t in TIERS}
        rows = []
        for subject, item in zip(subjects, scores, strict=True):
            records = [r for r in subject_settlements(self.client, self.ledger, subject) if r.shipper == subject]
            defaulted = any(s.status.label == "Defaulted" for s in self.ledger.states([r.id for r in records]))
            if item["scored"]:
                by_tier[item["tier"]]["subjects"] += 1
                by_tier[item["tier"]]["defaulters"] += defaulted
            rows.append(
                {
                    "subject": to_hex(subject),
                    "score": item["score"] if item["scored"] else None,
                    "tier": item["tier"] if item["scored"] else None,
                    "verdict": item["provenance"]["verdict"] if item["scored"] else "no score",
                    "defaulted": defaulted,
                    "new_energy_bps": green[to_hex(subject)]["new_energy_bps"],
                    "logged_trips": green[to_hex(subject)]["logged_trips"],
                    "consents": consents[subject],
                }
            )
        for row in by_tier.values():
            row["default_rate"] = round(row["defaulters"] / row["subjects"], 4) if row["subjects"] else None
        return {"lender": self.account.address, "subjects": rows, "by_tier": by_tier}

    def model(self) -> dict[str, Any]:
        with self.lock:
            self.head()
            return self.memo(("model",), self._model)

    def champion_card(self) -> tuple[Any, str | None]:
        """The card of the model page: the one the console was started with, else the champion's published card
        (creditshare.domain.cards, checked against the registry); with the reason when there is none."""
        if self.config.card is not None:
            return self.config.card, None
        try:
            return self.memo(
                ("card",), lambda: champion_card(ModelRegistry(self.client), self.client.settings.evidence_dir)
            ), None
        except CreditShareError as err:
            return None, str(err)

    def _model(self) -> dict[str, Any]:
        registry = ModelRegistry(self.client)
        champion = registry.champion()
        models = [m.to_json() for m in registry.models()]
        card, why = self.champion_card()
        out: dict[str, Any] = {
            "champion": to_hex(champion) if champion else None,
            "models": models,
            "card": None,
            "card_matches_champion": None,
            "no_card": why,
        }
        if card is not None:
            out["card"] = {
                **card.summary(),
                "feature_tables": model_features(card),
            }
            out["card_matches_champion"] = champion is not None and card.model_hash == to_hex(champion)
        return out

    def model_health(self) -> dict[str, Any]:
        """The champion card's ROC on the ledger (shippers as of its first published score, labelled by defaults
        in the following 90 days) and its PSI (training vs scored population), drawn as creditshare report
        --html draws them; `reason` says why there is none. Memoized per block: it reads the whole ledger."""
        with self.lock:
            self.head()
            return self.memo(("model_health",), self._model_health)

    def _model_health(self) -> dict[str, Any]:
        from creditshare.reports.html import plot_psi, plot_roc
        from creditshare.reports.lender import population
        from scoring.errors import ScoringError
        from scoring.factory import training_set
        from scoring.features import build_features

        card, why = self.champion_card()
        champion = ModelRegistry(self.client).champion()
        if card is None or champion is None or card.model_hash != to_hex(champion):
            return {"reason": why or "the console's card is not the registered champion (start it with --card)"}
        pop = population(self.client, card, self.config.max_age_days)
        mine = [i for i in pop.scored() if i["model_hash"] == card.model_hash]
        if not mine:
            return {"reason": "the champion has scored no subject yet"}
        firsts = [r.as_of for r in pop.reports.values() if to_hex(r.model_hash) == card.model_hash]
        first = min(firsts) if firsts else max(i["as_of"] for i in mine)
        try:
            labelled = training_set(pop.frame, first, population=card.training_population)
        except (ScoringError, InvalidInput):
            labelled = None
        source = "the ledger's shippers as of the champion's first published score, defaults in the next 90 days"
        roc_svg, roc = plot_roc(card, labelled, source)
        features = build_features(
            pop.frame, max(i["as_of"] for i in mine), subjects=[i["subject"] for i in mine], roles=("shipper",)
        )
        psi_svg, psi = plot_psi(card, features)
        return {
            "reason": None,
            "roc": roc,
            "psi": {"psi": psi["psi"], "status": psi["status"], "n": psi["n"]},
            "roc_svg": _bare_svg(roc_svg),
            "psi_svg": _bare_svg(psi_svg),
        }

    def network(self) -> dict[str, Any]:
        """The network page: the registry's facts and the chain's head and signers (memoized per block), then
        the head's age and, when this data folder holds a geth network, each node's state, read live."""
        with self.lock:
            head = self.head()
            facts = self.memo(("network",), lambda: self._network(head))
            head_time = self._head_time
        age = max(0.0, time.time() - head_time)
        stall = self.client.settings.network.stall_s
        chain = {**facts["chain"], "block_age_s": round(age, 1), "stalled": bool(stall) and age > stall}
        return {**facts, "chain": chain, "nodes": self._nodes()}

    def _network(self, head: int) -> dict[str, Any]:
        consortium = Consortium(self.client)
        oracle = ScoreOracle(self.client)
        reports = self.reports()
        last = max(reports) if reports else None
        validators: list[dict[str, Any]] = []
        try:
            validators = [v.to_json() for v in consortium.validator_signers()]
        except CreditShareError:  # a registry without validators (older deployments)
            validators = []
        return {
            "chain_id": self.client.settings.network.chain_id,
            "network": self.client.settings.network.name,
            "head": head,
            "head_time": self.now(),
            "me": {"address": self.account.address, "key": self.config.account_name},
            "members": [m.to_json() for m in consortium.members()],
            "threshold": consortium.threshold(),
            "proposals": consortium.proposals(),
            "oracle": {
                "threshold": oracle.threshold(),
                "reports": oracle.report_count(),
                "operators": consortium.active_members_with_role("ORACLE"),
                "last_report": None
                if last is None
                else {"id": last, "epoch": reports[last].epoch, "as_of": reports[last].as_of, "tx": reports[last].tx},
            },
            "validators": validators,
            "chain": self._chain(validators),
            "index": self._index_status(),
        }

    def _chain(self, validators: list[dict[str, Any]]) -> dict[str, Any]:
        """The connected node's head and its Clique signer set against the registry's validators. Anvil has no
        signers (clique_getSigners is not a method there): a single-node development chain, no drift check."""
        url = self.client.settings.network.rpc_url
        number, block_hash = self._memo_key
        out: dict[str, Any] = {
            "head": number,
            "head_hash": "0x" + block_hash.hex(),
            "client": None,
            "signers": None,
            "signers_note": None,
            "drift": None,
        }
        try:
            out["client"] = str(network.rpc(url, "web3_clientVersion", timeout=NODE_TIMEOUT_S))
        except network.NetworkError:
            out["client"] = None
        try:
            signers = network.rpc(url, "clique_getSigners", timeout=NODE_TIMEOUT_S)
        except network.NetworkError:  # its message names the URL, which may carry credentials: not shown
            anvil = (out["client"] or "").lower().startswith("anvil")
            out["signers_note"] = (
                "single-node Anvil: no Clique signers"
                if anvil
                else "this node reports no Clique signer set (clique_getSigners refused or not answered)"
            )
            return out
        out["signers"] = [to_checksum_address(a) for a in signers or []]
        registry = {v["signer"]: bool(v["active"]) for v in validators}
        out["drift"] = network.drift(registry, out["signers"])
        return out

    def _nodes(self) -> dict[str, Any] | None:
        """One row per node of the geth network under this data folder (None if there is none), from
        creditshare.core.network.node_status, all nodes asked at once; a node that has not answered within
        NODE_TIMEOUT_S is shown as down (its thread finishes on its own, the page does not wait for it)."""
        data_dir = self.client.settings.data_dir
        if not (network.network_dir(data_dir) / "network.json").is_file():
            return None
        try:
            net = network.load_network(data_dir)
        except CreditShareError as err:
            return {"root": str(network.network_dir(data_dir)), "rows": [], "error": str(err)}
        url = self.client.settings.network.rpc_url.rstrip("/")
        pool = ThreadPoolExecutor(max_workers=len(net.nodes), thread_name_prefix="node-status")
        try:
            futures = [pool.submit(network.node_status, node) for node in net.nodes]
            wait(futures, timeout=NODE_TIMEOUT_S)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        rows = []
        for node, future in zip(net.nodes, futures, strict=True):
            row: dict[str, Any] = {
                "index": node.index,
                "signer": node.signer,
                "rpc_port": node.http_port,
                "connected": node.rpc_url == url,
            }
            ok = future.done() and not future.cancelled() and future.exception() is None
            status = future.result() if ok else None
            if status is None:
                why = "down" if future.done() else f"down (no answer within {NODE_TIMEOUT_S:g} s)"
                rows.append(row | {"state": why, "head": None, "head_hash": None, "peers": None, "block_age_s": None})
                continue
            state = "down" if not status.running else ("syncing" if status.syncing else "up")
            rows.append(
                row
                | {
                    "state": state,
                    "head": status.head,
                    "head_hash": status.head_hash,
                    "peers": status.peers,
                    "block_age_s": None if status.block_age_s is None else round(status.block_age_s, 1),
                }
            )
        return {"root": net.root, "chain_id": net.chain_id, "period": net.period, "rows": rows, "error": None}

    def _index_status(self) -> dict[str, Any] | None:
        try:
            with ChainIndex(self.client) as index:
                status = index.status()
        except CreditShareError:
            return None
        return {
            "last_block": status["last_block"],
            "settlements": status["rows"].get("settlements"),
            "bytes": status["bytes"],
        }

    # -- signed actions ----------------------------------------------------------------------------

    def grant(self, lender: str, purpose: str, scope: int, days: int) -> dict[str, Any]:
        from creditshare.domain.consents import grant_own

        if not is_address(lender):
            raise InvalidInput(f"the lender must be a 0x address; got {lender!r}.")
        with self.lock:
            return grant_own(self.client, self.account, to_checksum_address(lender), purpose, scope, days=days)

    def consented_read(self, subjects: Sequence[bytes], scope: int, purpose: str) -> dict[str, Any]:
        from creditshare.reports.consented import consented_read

        with self.lock:
            return consented_read(self.client, self.account, subjects, scope, purpose)

    def view(self, subject: bytes) -> dict[str, Any]:
        with self.lock:
            return CreditList(self.client).view(subject, self.account)

    def decrypt(self, entry_id: int) -> dict[str, Any]:
        from creditshare.domain.credit_entries import decrypt_details

        with self.lock:
            details = decrypt_details(CreditList(self.client), entry_id, self.account)
        try:
            return {"entry_id": entry_id, "bytes": len(details), "details": details.decode("utf-8")}
        except UnicodeDecodeError:
            return {"entry_id": entry_id, "bytes": len(details), "details_hex": "0x" + details.hex()}

    def refresh(self, subject: bytes) -> dict[str, Any]:
        with self.lock:
            receipt = ScoreOracle(self.client).request_refresh(subject, self.account)
        return {"subject": to_hex(subject), "tx": to_hex(bytes(receipt["transactionHash"]))}


def _bare_svg(figure: str) -> str:
    """The <svg> of a creditshare.reports.html figure, served as an image of its own (its inline styles stay
    inside the image, outside the page's Content-Security-Policy)."""
    return figure[figure.index("<svg") : figure.rindex("</svg>") + len("</svg>")]
