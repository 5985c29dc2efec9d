"""The oracle daemon (`creditshare oracle run --id N`): follows the chain, scores, gathers k signatures, submits once.

Design (README "Oracle operators"):

- **Rounds.** A round is the block range (start, B]: B = the last window end at or
  below head − confirmations (a block number divisible by round_blocks = W, see
  oracle/config.py), start = the leader's checkpoint. Its reports (oracle/rounds.py)
  score every subject whose last relevant event in the range lies after its stored
  epoch, as of block B, with epoch = B. Everything is read as of B, so every node
  computes the same digests; the epoch rule (strictly newer per subject) makes a
  later round never undo an earlier one.
- **Windows.** On a chain that mines blocks on a timer (Clique, QBFT; empty blocks
  included) a round that ended at every block would change its end, its digests and
  its leader each block period: competing leaders would split the peers' signing
  locks and no round would reach k. With windows, B stays the same for W blocks, so
  every daemon agrees on the round and its leader while blocks keep coming; W × the
  block period should exceed the time a round takes to compute, sign and land. W = 1
  (the default) suits a chain that mines a block per transaction.
- **Leader.** The n oracles of the config sorted by address take turns: the leader
  of round B is number (B // W + attempt) mod n, where attempt = (now − block time of
  B) // leader_timeout_seconds: the same on every node (clocks in sync) and across
  restarts. So a leader that is down or killed is taken over by the next one after
  the timeout, as long as the report is not on chain; a leader stops sending shortly
  before its turn ends, so two leaders never race. leader_timeout_seconds must
  exceed the time a round's computation and signing take.
- **Exchange.** The leader POSTs (start, B, digests, timestamp, nonce), signed by its
  oracle key over the chain id and the ScoreOracle address, to every peer's HTTP
  endpoint (oracle/peers.py). Before any recomputation a peer refuses a signer that is
  not another oracle of the config or not an active ORACLE member on chain, a request
  older than leader_timeout_seconds (or ahead of its clock), a nonce already seen, a
  round that is not current (B not a window end, unconfirmed, absurd, or more than
  max(ROUND_LAG_BLOCKS, W) blocks behind the peer's own last window end), a signer
  that is not the leader of round B at the request's time, and a round outside the
  report window (oracle/scores.check_report_window: epoch B confirmed, asOf its block
  time, expiry within report_ttl_seconds). Then it recomputes the round from its own
  node and returns its signatures only if its digests are equal. The leader gives
  each peer one deadline inside its turn, checks every reply as it arrives, and once
  k signers agree it submits each report not yet used (`isUsed(digest)` read right
  before sending; the gas estimate replays the call, so a report that would revert is
  never sent), with exactly k signatures in ascending signer order; it does not wait
  for the other peers.
- **Lock.** An oracle that signed a round signs, for leader_timeout_seconds or until
  that round is on chain, only those digests: a request naming another range or other
  digests, for that epoch or another, is refused before recomputing (persisted in the
  checkpoint). With k > n/2 two competing rounds cannot both reach k. A leader whose
  locked round never landed gets no new round from that peer for a rotation
  (n × leader_timeout_seconds), and each requester costs a peer at most one
  recomputation per leader_timeout_seconds: one operator cannot keep its peers busy or
  locked. A daemon that signed before but lost its checkpoint signs nothing for
  leader_timeout_seconds (oracle/checkpoint.py).
- **Checkpoint.** The checkpoint block moves to B only when the round (checkpoint, B]
  has nothing left to score (every report used, or nothing due). Killed at any
  moment, the daemon restarts from the old checkpoint: the same round gives the
  same digests and `isUsed` stops a second submission; if blocks arrived meanwhile,
  the new round leaves out what already landed (stored epochs are newer).
- **Refresh bound.** A RefreshRequested at block Q is due in every round with
  B ≥ Q; it is answered by the first round whose report lands, epoch in
  [Q, Q + confirmations + blocks mined while the round is gathered]. With no other
  traffic that is epoch = Q + confirmations, landing in the next block; in wall time
  within poll_seconds + (n − k + 1) × leader_timeout_seconds + one round's work when
  at least k oracles are up (the leaders that are down each cost one timeout).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.score_oracle import ScoreOracle
from creditshare.core.chain import ChainClient
from creditshare.core.config import Settings
from creditshare.core.errors import ChainError, ConfigError, CreditShareError, InvalidInput, TransactionRejected
from creditshare.core.ids import parse_bytes32, to_hex
from oracle.checkpoint import Checkpoint, checkpoint_path, mark_signed
from oracle.config import OracleConfig, OracleEntry
from oracle.peers import PeerServer, Refused, ask_signatures, peer_status
from oracle.report import InvalidSignature, order_signatures, recover_signer, sign_report
from oracle.rounds import Round, compute_round
from oracle.scores import check_report_window
from scoring.errors import ScoringError
from scoring.model_card import ModelCard

log = logging.getLogger(__name__)

CACHE_SIZE = 16
CLOCK_SKEW = 2.0  # seconds a request's timestamp may lie ahead of this node's clock
ROUND_LAG_BLOCKS = 8  # a peer signs a round ending at most this many blocks behind its confirmed head


class QuorumNotReached(CreditShareError):
    """`--once` gave up: fewer than k oracles signed within the timeout; nothing was written."""


def round_request_text(request: dict[str, Any], chain_id: int, contract: str) -> str:
    """What a leader signs (EIP-191) to ask for signatures: the round (range, epoch = end, digests), its
    timestamp and a nonce, bound to this chain and this ScoreOracle."""
    body = {k: request[k] for k in ("start", "end", "digests", "leader", "timestamp", "nonce")}
    return (
        f"creditshare oracle round request\nchain {chain_id}\n"
        f"contract {contract}\n{json.dumps(body, sort_keys=True, separators=(',', ':'))}"
    )


def _int_field(request: dict[str, Any], key: str) -> int:
    """A request's integer field: a JSON integer, not a float, a string or a boolean (int() would take 1e400 as
    inf and raise OverflowError, "12" as 12, true as 1)."""
    value = request[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer; got {value!r}")
    return value


class Daemon:
    """One oracle operator's daemon: call `serve()` then `run_once()` or `run_forever()`."""

    def __init__(
        self,
        settings: Settings,
        config: OracleConfig,
        oracle_id: int,
        account: LocalAccount,
        card_path: Path,
        say: Callable[[str], None] | None = None,
        aggregates: dict[str, dict[str, int]] | None = None,
    ) -> None:
        self.config = config
        self.me = config.by_id(oracle_id)
        if account.address.lower() != self.me.address.lower():
            raise ConfigError(
                f"keystore {self.me.keystore} holds {account.address}, but {config.path} lists "
                f"{self.me.address} for oracle {oracle_id}."
            )
        self.account = account
        self.card_path = card_path
        self._card_stamp: tuple[int, int] | None = None
        self.card: Any = None
        self.aggregates = (
            aggregates  # xp_* features of a recorded MPC job (oracle/mpc_features.py), if the card uses them
        )
        self.say = say or (lambda line: log.info("%s", line))
        self.client = ChainClient(settings)
        self.client.check_connection()
        self.peer_client = ChainClient(settings)  # the HTTP thread's own connection
        self.oracle = ScoreOracle(self.client)
        self.path = checkpoint_path(settings.data_dir, oracle_id)
        self.cp = Checkpoint.load(self.path, self.client.deployment.from_block - 1, now=time.time())
        self.computed = 0  # rounds computed (not from the cache): /status shows it
        self._nonces: dict[str, float] = {}  # "signer:nonce" of fresh requests seen -> when it can be forgotten
        self._nonce_lock = threading.Lock()
        self._recomputed: dict[str, float] = {}  # requester -> when a request of it last cost a recomputation
        self._granted: dict[str, tuple[list[str], float]] = {}  # requester -> the round last locked for it, when
        self._cp_lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._cache: dict[tuple[int, int], Round] = {}
        self._block_time: dict[int, int] = {}
        self._last_said = ""
        self._shortfall = ""  # the last "m of k signatures" status: what --once reports when it gives up
        self.server: PeerServer | None = None
        self._reload_card()
        if self.cp.lock and self.cp.lock.get("lost"):
            self.say(
                f"{self.me.name}: no checkpoint at {self.path}, but it has signed before: its last signed round is "
                "unknown, so it signs "
                f"nothing for {self.config.leader_timeout_seconds:.0f}s (leader_timeout_seconds)"
            )
            self.cp.last_round = {"status": "lock lost: signs nothing until leader_timeout_seconds pass"}
            self.cp.save(self.path)

    # -- shared pieces ---------------------------------------------------------

    def _reload_card(self) -> None:
        """(Re)loads the card file when it changed: after a promotion the operator replaces it in place."""
        try:
            stat = self.card_path.stat()
        except OSError as err:
            raise ConfigError(f"cannot read the model card {self.card_path}: {err.strerror}.") from err
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._card_stamp:
            card = ModelCard.load(self.card_path)
            with self._compute_lock:
                self.card, self._card_stamp = card, stamp
                self._cache.clear()
            if self._card_stamp is not None and self.server is not None:
                self.say(f"{self.me.name}: loaded model card {card.model_hash}")

    def compute(self, client: ChainClient, start: int, end: int) -> Round:
        """Round (start, end], computed once per node (the chain as of `end` does not change)."""
        with self._compute_lock:
            key = (start, end)
            if key not in self._cache:
                self.computed += 1
                self._cache[key] = compute_round(
                    client,
                    self.card,
                    start,
                    end,
                    ttl=self.config.report_ttl_seconds,
                    batch=self.config.batch,
                    aggregates=self.aggregates,
                )
                while len(self._cache) > CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
            return self._cache[key]

    def used(self, client: ChainClient, digests: list[bytes]) -> list[bool]:
        oracle = ScoreOracle(client)
        return [oracle.is_used(d) for d in digests]

    def head(self, client: ChainClient) -> int:
        return int(client.read(lambda: client.w3.eth.block_number, "block number"))

    def status(self, text: str, **extra: Any) -> None:
        if text == self._last_said:
            return
        with self._cp_lock:
            self.cp.last_round = {"status": text, "at": int(time.time()), **extra}
            self.cp.save(self.path)
        self._last_said = text
        self.say(f"{self.me.name}: {text}")

    def status_body(self) -> dict[str, Any]:
        with self._cp_lock:
            return {
                "id": self.me.id,
                "name": self.me.name,
                "address": self.me.address,
                "checkpoint": self.cp.block,
                "last_round": self.cp.last_round,
                "lock": self.cp.lock,
                "rounds_computed": self.computed,
                "up": True,
            }

    # -- peer side: sign a round after recomputing it --------------------------------

    def _lock_refusal(self, client: ChainClient, end: int, digests: list[str], now: float) -> str | None:
        """Why the signing lock forbids signing `digests` for round `end` now (None: it does not).

        The lock is per epoch: while it is fresh (younger than leader_timeout_seconds) and its round is not
        on chain, this oracle signs that round's digests only, whatever range a request names. A lost lock
        (no readable checkpoint at start) forbids everything until it is stale.
        """
        lock = self.cp.lock
        if not lock or now - float(lock["at"]) >= self.config.leader_timeout_seconds:
            return None
        until = float(lock["at"]) + self.config.leader_timeout_seconds
        if lock.get("lost"):
            return (
                f"{self.me.name} lost its signing lock (no readable checkpoint at start): it signs nothing "
                f"for {until - now:.0f}s more (leader_timeout_seconds)."
            )
        if lock["digests"] == digests:
            return None
        if all(self.used(client, [parse_bytes32(d) for d in lock["digests"]])):
            return None
        return (
            f"{self.me.name} signed round ({lock['start']}, {lock['end']}], not on chain yet; "
            f"it signs no other round or range for {until - now:.0f}s more."
        )

    def sign_round(
        self, request: dict[str, Any], client: ChainClient | None = None, requester: str | None = None
    ) -> dict[str, Any]:
        """Signs round (start, end] if this node computes the same digests and the report window and the
        per-epoch lock allow it; everything that refuses is checked before the (costly) recomputation."""
        client = client or self.peer_client
        try:
            start, end = _int_field(request, "start"), _int_field(request, "end")
            if not isinstance(request["digests"], list) or not -1 <= start < end:
                raise ValueError("digests must be a list and -1 <= start < end")
            digests = [to_hex(parse_bytes32(str(d))) for d in request["digests"]]
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"a sign request needs start, end and digests: {err}") from err
        head = self.head(client)
        confirmed = head - self.config.confirmations
        if end > confirmed:
            raise Refused(f"block {end} is not confirmed on {self.me.name}'s node yet (confirmed head {confirmed}).")
        as_of = client.block_timestamp(end)
        check_report_window(
            client,
            epoch=end,
            as_of=as_of,
            expiry=as_of + self.config.report_ttl_seconds,
            confirmations=self.config.confirmations,
            ttl=self.config.report_ttl_seconds,
        )
        now = time.time()
        with self._cp_lock:
            why = self._lock_refusal(client, end, digests, now)
            lock = self.cp.lock
        if why:
            raise Refused(why)
        if lock and lock["digests"] == digests and not lock.get("lost"):
            start, end = int(lock["start"]), int(lock["end"])  # the locked round (cached): no recomputation
        elif requester is not None:
            self._check_requester_budget(client, requester, now)
            if (start, end) not in self._cache:
                self._charge_recomputation(requester, now)
        r = self.compute(client, start, end)
        mine = [to_hex(d) for d in r.digests]
        if not mine:
            raise Refused(f"{self.me.name} finds nothing to score in round ({start}, {end}].")
        if mine != digests:
            raise Refused(
                f"{self.me.name}'s recomputation of round ({start}, {end}] disagrees "
                f"({len(mine)} report(s) here, {len(digests)} asked)."
            )
        with self._cp_lock:
            why = self._lock_refusal(client, end, mine, time.time())  # another request may have locked meanwhile
            if why:
                raise Refused(why)
            lock = self.cp.lock
            if not lock or lock["digests"] != mine or lock.get("lost"):
                mark_signed(self.path)  # from now on, a missing checkpoint means a lost lock
                self.cp.lock = {"start": start, "end": end, "digests": mine, "at": time.time()}
                self.cp.save(self.path)
                if requester is not None:
                    self._granted[requester.lower()] = (mine, time.time())
        chain_id, contract = client.settings.network.chain_id, self.oracle.address
        signatures = [sign_report(report, self.account, chain_id, contract) for report, _ in r.reports]
        return {"address": self.account.address, "signatures": ["0x" + s.hex() for s in signatures]}

    def _charge_recomputation(self, requester: str, now: float) -> None:
        """One round recomputed per requester and leader_timeout_seconds: a leader asks once per turn, so
        a flood of requests naming new ranges costs this node one recomputation, not one each."""
        with self._nonce_lock:
            last = self._recomputed.get(requester.lower(), 0.0)
            if now - last < self.config.leader_timeout_seconds:
                raise Refused(
                    f"{self.me.name} recomputed a round for {requester} {now - last:.1f}s ago: one round per "
                    f"{self.config.leader_timeout_seconds:.0f}s (leader_timeout_seconds) for each requester."
                )
            self._recomputed[requester.lower()] = now

    def _check_requester_budget(self, client: ChainClient, requester: str, now: float) -> None:
        """A leader whose last locked round never landed gets no new round for a whole rotation
        (n × leader_timeout_seconds): one operator cannot keep its peers locked on rounds it withholds."""
        granted = self._granted.get(requester.lower())
        if granted is None:
            return
        digests, at = granted
        wait = len(self.config.oracles) * self.config.leader_timeout_seconds
        if now - at < wait and not all(self.used(client, [parse_bytes32(d) for d in digests])):
            raise Refused(
                f"the last round {self.me.name} signed for {requester} is not on chain: no new round for it "
                f"for {at + wait - now:.0f}s more."
            )

    def request_text(self, request: dict[str, Any], chain_id: int) -> str:
        return round_request_text(request, chain_id, self.oracle.address)

    def signed_request(self, start: int, end: int, digests: list[str]) -> dict[str, Any]:
        """A /sign request from this oracle: fresh timestamp, random nonce, signed by its key."""
        request: dict[str, Any] = {
            "start": start,
            "end": end,
            "digests": digests,
            "leader": self.me.name,
            "timestamp": int(time.time()),
            "nonce": "0x" + secrets.token_hex(16),
        }
        text = self.request_text(request, self.client.settings.network.chain_id)
        auth = self.account.sign_message(encode_defunct(text=text))
        return {**request, "auth": "0x" + bytes(auth.signature).hex()}

    def sign_peer_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """A /sign request from the network. Refused, before any recomputation, unless it is signed by another
        oracle of the config that is an active ORACLE member on chain and the leader of that round at the
        request's time, the request is fresh (timestamp within leader_timeout_seconds) and its nonce unseen."""
        client = self.peer_client
        try:
            timestamp = _int_field(request, "timestamp")
            nonce = str(request["nonce"])
            if not 1 <= len(nonce) <= 66:
                raise ValueError("nonce must be 1 to 66 characters")
            text = self.request_text(request, client.settings.network.chain_id)
            signer = Account.recover_message(encode_defunct(text=text), signature=str(request["auth"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"a sign request must be signed by an oracle of the config: {err}") from err
        entry = self.config.by_address(signer)
        if entry is None or entry.id == self.me.id:
            raise InvalidInput(f"{signer} is not another oracle of this config: request refused.")
        now = time.time()
        if timestamp < now - self.config.leader_timeout_seconds or timestamp > now + CLOCK_SKEW:
            raise InvalidInput(
                f"stale request from {entry.name}: timestamp {timestamp} is not within "
                f"{self.config.leader_timeout_seconds:.0f}s of this node's time {int(now)}: refused."
            )
        with self._nonce_lock:
            for old in [n for n, until in self._nonces.items() if until < now]:
                del self._nonces[old]
            key = f"{signer.lower()}:{nonce}"
            if key in self._nonces:
                raise InvalidInput(f"replayed request from {entry.name} (nonce {nonce} already seen): refused.")
            self._nonces[key] = timestamp + self.config.leader_timeout_seconds + CLOCK_SKEW
        if not Consortium(client).is_active_with_role(signer, "ORACLE"):
            raise InvalidInput(f"{entry.name} ({signer}) is not an active ORACLE member on chain: request refused.")
        try:
            end = _int_field(request, "end")
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"a sign request needs start, end and digests: {err}") from err
        width = self.config.round_blocks
        if end % width:
            raise InvalidInput(
                f"{entry.name} asks for round {end}, which does not end a window of {width} blocks "
                "(round_blocks): refused."
            )
        confirmed = self.head(client) - self.config.confirmations
        # the current window or, for a node a few blocks behind this one, the window before
        lag = max(ROUND_LAG_BLOCKS, width)
        if not self.config.window_end(confirmed) - lag <= end <= confirmed:
            raise InvalidInput(
                f"{entry.name} asks for round {end}, not a current round on {self.me.name}'s node "
                f"(confirmed head {confirmed}, at most {lag} blocks behind its last window end): refused."
            )
        leader, _, _ = self.leader(end, client, at=float(timestamp))
        if leader.id != entry.id:
            raise InvalidInput(f"{entry.name} is not the leader of round {end} ({leader.name} is): request refused.")
        return self.sign_round(request, client, requester=signer)

    def serve(self) -> None:
        self.server = PeerServer(self.me.host, self.me.port, self.sign_peer_request, self.status_body)
        self.server.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    # -- the loop ----------------------------------------------------------------------

    def leader(
        self, end: int, client: ChainClient | None = None, at: float | None = None
    ) -> tuple[OracleEntry, int, float]:
        """The leader of round `end` at unix time `at` (now), its take-over attempt, and when its turn ends.

        Turns are counted from the block time of `end`, the same on every node and across
        restarts (node clocks are assumed in sync to well under leader_timeout_seconds).
        """
        client = client or self.client
        if end not in self._block_time:
            self._block_time[end] = client.block_timestamp(end)
            while len(self._block_time) > CACHE_SIZE:
                self._block_time.pop(next(iter(self._block_time)), None)
        timeout = self.config.leader_timeout_seconds
        attempt = max(0, int(((time.time() if at is None else at) - self._block_time[end]) // timeout))
        rotation = self.config.rotation
        turn_ends = self._block_time[end] + (attempt + 1) * timeout
        return rotation[(end // self.config.round_blocks + attempt) % len(rotation)], attempt, turn_ends

    def step(self) -> bool:
        """One look at the chain; True when the checkpoint is at the confirmed head (nothing pending)."""
        self._reload_card()
        # the last closed window: every daemon names the same round for round_blocks blocks
        end = self.config.window_end(self.head(self.client) - self.config.confirmations)
        start = self.cp.block
        if end <= start:
            return True
        r = self.compute(self.client, start, end)
        if not r.digests or all(self.used(self.client, list(r.digests))):
            self._advance(r)
            return True
        leader, attempt, turn_ends = self.leader(end)
        if leader.id != self.me.id:
            self.status(
                f"round {end}: {len(r.due)} subjects due; waiting for leader {leader.name}"
                + (f" (take-over {attempt})" if attempt else ""),
                round=r.summary(),
            )
            return False
        self._lead(r, turn_ends)
        return False

    def _advance(self, r: Round) -> None:
        with self._cp_lock:
            self.cp.block = r.end
            lock = self.cp.lock
            if (
                lock
                and not lock.get("lost")
                and all(self.used(self.client, [parse_bytes32(d) for d in lock["digests"]]))
            ):
                self.cp.lock = None
            self.cp.save(self.path)
        if r.digests:
            self.status(
                f"round {r.end}: on chain ({r.summary()['subjects']} subjects); checkpoint {r.end}", round=r.summary()
            )
        elif r.due:
            self.status(
                f"round {r.end}: {len(r.unscorable)} due subjects have no shipper history yet; checkpoint {r.end}",
                round=r.summary(),
            )

    def _lead(self, r: Round, turn_ends: float) -> None:
        digests = [to_hex(d) for d in r.digests]
        request = self.signed_request(r.start, r.end, digests)
        try:
            own = self.sign_round(request, self.client)
        except (Refused, InvalidInput) as err:
            self.status(f"round {r.end}: leading, but {err}", round=r.summary())
            return
        k = self.oracle.threshold()
        consortium = Consortium(self.client)
        signed: dict[str, list[bytes]] = {}
        waiting: dict[str, str] = {}

        def accept(entry: OracleEntry, reply: dict[str, Any]) -> str | None:
            """None when `reply` holds `entry`'s signatures over these digests and `entry` is an active oracle."""
            try:
                sigs = [bytes.fromhex(str(s)[2:]) for s in reply["signatures"]]
                if len(sigs) != len(r.digests) or any(
                    recover_signer(d, s) != entry.address for d, s in zip(r.digests, sigs, strict=True)
                ):
                    raise InvalidSignature("signatures not made by its configured address over these digests")
            except (KeyError, TypeError, ValueError, InvalidSignature) as err:
                return f"bad reply: {err}"
            # the contract refuses a report carrying a suspended oracle's signature
            if not consortium.is_active_with_role(entry.address, "ORACLE"):
                return "not an active ORACLE member"
            signed[entry.address] = sigs
            return None

        why = accept(self.me, own)
        if why is not None:
            waiting[self.me.name] = why
        peers = [o for o in self.config.oracles if o.id != self.me.id]
        # one deadline per peer for the whole exchange, inside this leader's turn; stop at k valid signatures
        timeout = max(1.0, min(self.config.request_timeout_seconds, turn_ends - time.time() - 1.0))
        replies = ask_signatures(peers, request, timeout, accept=accept, needed=max(0, k - len(signed)))
        waiting.update({name: reply for name, reply in replies.items() if isinstance(reply, str)})
        if len(signed) < k:
            names = ", ".join(f"{n} ({why})" for n, why in sorted(waiting.items()))
            self._shortfall = f"round {r.end}: {len(signed)} of {k} signatures; waiting for oracles {names}"
            self.status(
                self._shortfall, round=r.summary(), signatures=len(signed), threshold=k, waiting=sorted(waiting)
            )
            return
        chosen = sorted(signed, key=lambda a: int(a, 16))[:k]
        sent = 0
        # stop sending a little before the turn ends, so a leader taking over never races this one
        last_send = turn_ends - min(1.0, self.config.leader_timeout_seconds / 4)
        for i, (report, entries) in enumerate(r.reports):
            digest = r.digests[i]
            if time.time() > last_send:
                self.status(
                    f"round {r.end}: {self.me.name}'s turn is over; the next leader takes the round", round=r.summary()
                )
                return
            if self.used(self.client, [digest])[0]:  # right before sending: another leader may have landed it
                continue
            signatures = order_signatures(digest, [signed[a][i] for a in chosen])
            try:
                self.oracle.submit(
                    report.as_tuple(),
                    [e.as_tuple() for e in entries],
                    signatures,
                    self.account,
                    f"submitting round {r.end} report {i + 1}",
                )
            except TransactionRejected as err:  # refused at estimation: nothing was sent
                self.status(f"round {r.end}: {err}", round=r.summary())
                return
            sent += 1
        self.status(
            f"round {r.end}: submitted {sent} report(s) with {k} signatures "
            f"({', '.join(self.config.by_address(a).name for a in chosen)})",  # type: ignore[union-attr]
            round=r.summary(),
            signatures=k,
            threshold=k,
        )

    def _safe_step(self) -> bool:
        try:
            return self.step()
        except ChainError as err:
            self.status(f"chain not reachable: {err}")
            return False

    def run_once(self, timeout: float) -> dict[str, Any]:
        """Runs until every event up to the confirmed head at start is scored on chain, or raises after `timeout`.
        With round_blocks > 1 that is the end of the window holding the confirmed head: it waits for it to close."""
        confirmed = self.head(self.client) - self.config.confirmations
        target = -(-confirmed // self.config.round_blocks) * self.config.round_blocks
        deadline = time.monotonic() + timeout
        while True:
            done = self._safe_step()
            if done and self.cp.block >= target:
                return self.status_body()
            if time.monotonic() > deadline:
                last = self._shortfall or self.cp.last_round.get("status", "no round started")
                raise QuorumNotReached(f"{self.me.name} gave up after {timeout:.0f}s, nothing partial written: {last}")
            time.sleep(self.config.poll_seconds)

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self._safe_step()
            except (
                InvalidInput,
                ScoringError,
            ) as err:  # e.g. the card is no longer the champion: wait for the operator
                self.status(f"cannot score: {err}")
            except CreditShareError as err:  # a refused transaction, a bad reply: look again next poll
                self.status(f"round failed: {err}")
            except Exception as err:  # a daemon outlives a bug in one round; the checkpoint makes retrying safe
                log.exception("round failed")
                self.status(f"round failed: {type(err).__name__}: {err}")
            stop.wait(self.config.poll_seconds)


def status_rows(config: OracleConfig, data_dir: Path) -> list[dict[str, Any]]:
    """Each configured oracle's /status, or its local checkpoint file when it does not answer."""
    rows = []
    for entry in config.oracles:
        body = peer_status(entry)
        if body is None:
            path = checkpoint_path(data_dir, entry.id)
            try:
                cp = Checkpoint.load(path, -1) if path.exists() else None
            except ConfigError as err:
                cp = Checkpoint(block=-1, last_round={"status": str(err)})
            body = {
                "id": entry.id,
                "name": entry.name,
                "address": entry.address,
                "up": False,
                "checkpoint": cp.block if cp else None,
                "last_round": cp.last_round if cp else {},
                "lock": cp.lock if cp else None,
            }
        rows.append(body)
    return rows
