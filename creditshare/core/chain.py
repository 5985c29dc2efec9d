"""The one chain client: web3.py with CreditShare's contracts, keys and rules.

Reads are retried with backoff; a transaction is signed and sent exactly once,
tracked by a locally kept nonce, and its revert reaches the caller as a decoded
custom error (``SettlementLedgerAlreadyExists(id=0x...)``), never a traceback.
Nothing here uses Anvil-only RPC methods: the same client runs on Besu QBFT.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ABIEvent, ABIFunction
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from faster_eth_abi import decode as abi_decode  # compiled eth-abi: same API, 3x faster
from faster_eth_abi import encode as abi_encode
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import BlockIdentifier, RPCEndpoint, TxReceipt

from creditshare.core.config import Settings
from creditshare.core.errors import ChainError, ConfigError, TransactionRejected

log = logging.getLogger(__name__)

READ_RETRIES = 5


def _artifacts() -> Traversable:
    """The package's folder of compiled contracts (abi, bytecode), written by `make compile`."""
    return files("creditshare.core") / "artifacts"


@cache
def artifact(name: str) -> dict[str, Any]:
    """The compiled artifact (abi, bytecode) of contract `name`, shipped in the package."""
    path = _artifacts() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"contract {name} is not compiled ({path} missing); run `make compile`.") from err


@cache
def _error_selectors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (error name, argument names, argument types) over every compiled contract."""
    selectors: dict[bytes, tuple[str, list[str], list[str]]] = {}
    folder = _artifacts()
    paths = [p for p in folder.iterdir() if p.name.endswith(".json")] if folder.is_dir() else []
    for path in paths:
        for item in json.loads(path.read_text(encoding="utf-8")).get("abi", []):
            if item.get("type") != "error":
                continue
            selector = function_abi_to_4byte_selector(item)
            names = [arg["name"] for arg in item["inputs"]]
            types = [_abi_type(arg) for arg in item["inputs"]]
            selectors[selector] = (item["name"], names, types)
    return selectors


def _abi_type(arg: Mapping[str, Any]) -> str:
    if arg["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in arg["components"])
        return f"({inner}){arg['type'][5:]}"
    return str(arg["type"])


def _format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class ChainStalled(ChainError):
    """The network's latest block is older than its stall limit: it seals no blocks (too few signers up)."""

    def __init__(self, number: int, age: float, limit: float, pending: bytes | None = None) -> None:
        self.number, self.age, self.pending = number, age, pending
        tail = (
            f"; transaction 0x{pending.hex()} waits in the node's pool and lands when the chain resumes "
            "(run the command again then: what landed is skipped)"
            if pending is not None
            else ""
        )
        super().__init__(
            f"the chain has stalled: its last block #{number} was sealed {age:.0f} s ago (limit {limit:.0f} s, "
            f"CREDITSHARE_STALL_S); too few signers are up (try `creditshare network status`){tail}."
        )


def decode_revert(data: str | bytes | None) -> str:
    """A readable form of revert data: `ErrorName(arg=value, ...)`."""
    if data is None:
        return "reverted without a reason"
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    if len(raw) < 4:
        return "reverted without a reason"
    known = _error_selectors().get(raw[:4])
    if known is None:
        if raw[:4] == bytes.fromhex("08c379a0"):
            return abi_decode(["string"], raw[4:])[0]
        return f"reverted with unknown error 0x{raw.hex()}"
    name, names, types = known
    try:
        values = abi_decode(types, raw[4:])
    except Exception:  # malformed payload: show the name at least
        return name
    args = ", ".join(f"{n}={_format_value(v)}" for n, v in zip(names, values, strict=True))
    return f"{name}({args})"


def rejection(err: Exception, action: str) -> TransactionRejected:
    """Turns a web3 revert into TransactionRejected with the decoded reason."""
    if isinstance(err, ContractCustomError):
        reason = decode_revert(err.data if isinstance(err.data, str) else None)
    elif isinstance(err, ContractPanicError):
        reason = f"panic: {err.message}"
    elif isinstance(err, ContractLogicError):
        reason = decode_revert(err.data) if isinstance(err.data, str) and len(err.data) > 2 else str(err.message)
    else:
        reason = str(err)
    return TransactionRejected(f"{action} was refused by the contract: {reason}", reason=reason)


@dataclass(frozen=True)
class Call:
    """A contract call encoded once: what a transaction or an eth_call carries."""

    to: str
    data: bytes


@dataclass(frozen=True)
class CallFailure:
    """One refusal found by the check before sending, or met on chain: `call` is the index of the call in the
    sequence, `item` the index of what it carried (a record, a row) in the caller's list when the refusal is
    pinned to one item, else None (the whole call was refused, no single item of it)."""

    call: int
    item: int | None
    reason: str


class CallsRefused(TransactionRejected):
    """The check before the first transaction found calls the contract would refuse; nothing was sent."""

    def __init__(
        self, what: str, failures: Sequence[CallFailure], total: int, items: Sequence[Sequence[int]] = ()
    ) -> None:
        self.failures = list(failures)
        self.total = total
        self.items = [list(x) for x in items] or [[i] for i in range(total)]  # what each call carries
        first = self.failures[0].reason
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        super().__init__(f"{what} was refused by the contract: {first}{more}; nothing was sent", reason=first)


class PartialWrite(TransactionRejected):
    """Some calls of a sequence landed and others did not: the chain changed between the check and the send
    (another account acted, a member was suspended) or the node refused a transaction.

    `landed` and `not_landed` are call indexes; `landed_items` and `not_landed_items` the indexes of what those
    calls carried, in the caller's list. `errors` (detail lines printed under the message) is set by whoever
    can name the items (a CLI command: the file's lines). The landed calls stay: re-running the command
    completes the rest, since every batched command skips what is already done."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None,
        landed: Sequence[int],
        not_landed: Sequence[int],
        landed_items: Sequence[int],
        not_landed_items: Sequence[int],
        failures: Sequence[CallFailure],
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__(message, reason=reason)
        self.landed = list(landed)
        self.not_landed = list(not_landed)
        self.landed_items = list(landed_items)
        self.not_landed_items = list(not_landed_items)
        self.failures = list(failures)
        self.errors = list(errors)

    def restated(self, message: str, errors: Sequence[str] = ()) -> PartialWrite:
        """The same outcome told in the caller's terms (its rows, its ids)."""
        return PartialWrite(
            message,
            reason=self.reason,
            landed=self.landed,
            not_landed=self.not_landed,
            landed_items=self.landed_items,
            not_landed_items=self.not_landed_items,
            failures=self.failures,
            errors=errors,
        )


def spans(numbers: Iterable[int]) -> str:
    """Numbers as sorted ranges: [2, 3, 4, 7] -> "2-4, 7" (for the lines of a partial write)."""
    ordered = sorted(set(numbers))
    out: list[str] = []
    start = prev = None
    for n in [*ordered, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(out) if out else "none"


SIMULATE_BLOCKS = 256  # eth_simulateV1 takes at most 256 blocks a request (geth, reth, anvil); one call a block
# calldata per eth_simulateV1 request: Anvil 1.7.1 refuses a request body near 2 MB ("Invalid request"; tried:
# 0.92 MB of calldata, hex-encoded, passes, 1.15 MB fails), so a request carries at most this much
SIMULATE_BYTES = 640 * 1024


def _chunks(calls: Sequence[Call]) -> list[Sequence[Call]]:
    """`calls` cut into eth_simulateV1 requests of at most SIMULATE_BLOCKS calls and SIMULATE_BYTES of calldata
    (a call larger than that goes alone)."""
    out: list[Sequence[Call]] = []
    start, size = 0, 0
    for index, call in enumerate(calls):
        if index > start and (index - start >= SIMULATE_BLOCKS or size + len(call.data) > SIMULATE_BYTES):
            out.append(calls[start:index])
            start, size = index, 0
        size += len(call.data)
    if start < len(calls):
        out.append(calls[start:])
    return out


def gas_limit_for(used: int) -> int:
    """The gas limit a transaction is sent with when the check saw it use `used` gas (refunds and the 63/64
    rule of nested calls make the limit a call needs exceed what it uses)."""
    return used * 13 // 10 + 50_000


def batch_for_block(block_gas: int, gas_per_item: int, fixed_gas: int, most: int) -> int:
    """The number of items a batch should carry (1..`most`) so that a block holds the most items in whole
    batches (each batch also pays `fixed_gas`: the transaction, the call, the batch's own checks).

    A block takes a sender's transactions in nonce order while the next one's gas limit (gas_limit_for its
    use, fixed_gas + n * gas_per_item) fits in what is left: with 400 settlements (13.1M gas, a 17.1M limit)
    4 batches fill 87% of a 60M block and 425 fill 93%, while 426 leave room for only 3 (70%). `most` bounds
    it from the caller's side (a node's transaction size limit: geth refuses transactions over 128 KB)."""
    per_block: dict[int, int] = {}
    for n in range(1, max(1, most) + 1):
        used = fixed_gas + n * gas_per_item
        limit = gas_limit_for(used)
        if limit > block_gas:
            break
        per_block[n] = ((block_gas - limit) // used + 1) * n  # whole batches the block takes, times their items
    if not per_block:
        return 1
    # fewer, larger transactions cost the client less (signing, sending, receipts): the largest batch within
    # 2% of the best packing
    top = max(per_block.values())
    return max(n for n, items in per_block.items() if items * 50 >= top * 49)


def _function_abi(contract: Contract, name: str) -> ABIFunction:
    matches = [item for item in contract.abi if item.get("type") == "function" and item.get("name") == name]
    if len(matches) != 1:
        raise ConfigError(f"{name} is not a unique function of the contract ABI.")
    return cast(ABIFunction, matches[0])


_SIGNATURES: dict[tuple[str, str], tuple[bytes, tuple[str, ...], tuple[str, ...]]] = {}


def _signature(contract: Contract, name: str) -> tuple[bytes, tuple[str, ...], tuple[str, ...]]:
    """(selector, input types, output types) of function `name`, cached per contract."""
    key = (str(contract.address), name)
    if key not in _SIGNATURES:
        item = _function_abi(contract, name)
        _SIGNATURES[key] = (
            function_abi_to_4byte_selector(item),
            tuple(_abi_type(a) for a in item["inputs"]),
            tuple(_abi_type(a) for a in item.get("outputs", [])),
        )
    return _SIGNATURES[key]


def encode_call(contract: Contract, name: str, *args: Any) -> Call:
    """Encodes `name(*args)` with eth-abi directly.

    web3's contract-function path normalises every argument recursively, which
    costs far more than the encoding itself on batches of hundreds of records.
    """
    selector, inputs, _ = _signature(contract, name)
    return Call(str(contract.address), selector + abi_encode(list(inputs), list(args)))


def event_topic(contract: Contract, name: str) -> str:
    """The 0x topic of event `name` of `contract` (for raw log scans with ChainClient.logs)."""
    item = next(i for i in contract.abi if i.get("type") == "event" and i.get("name") == name)
    return "0x" + event_abi_to_log_topic(cast(ABIEvent, item)).hex()


def decode_log_data(types: Sequence[str], log: Mapping[str, Any]) -> tuple[Any, ...]:
    """The non-indexed arguments of a raw log (ChainClient.logs or a raw receipt), decoded with eth-abi."""
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    return tuple(abi_decode(list(types), raw))


def decode_result(contract: Contract, name: str, raw: bytes) -> tuple[Any, ...]:
    _, _, outputs = _signature(contract, name)
    return tuple(abi_decode(list(outputs), raw))


@dataclass
class Deployment:
    """Addresses of the deployed contracts on one network, saved as JSON."""

    path: Path
    chain_id: int
    addresses: dict[str, str]
    from_block: int = 0  # block of the first deployment: event queries start there

    @classmethod
    def load(cls, path: Path, chain_id: int) -> Deployment:
        """The saved deployments at `path` (none saved: an empty one). A file that is not the JSON `save`
        writes (unreadable, not UTF-8, not JSON, fields missing or of the wrong type) is one ConfigError
        naming the file: it is never guessed at, since its addresses say where every transaction goes."""
        try:
            if not path.exists():
                return cls(path, chain_id, {})
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read the saved deployments {path}: {err.strerror or err}") from err
        except UnicodeDecodeError as err:
            raise ConfigError(f"the saved deployments {path} are not UTF-8 text (byte {err.start}).") from err
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"the saved deployments {path} are not valid JSON (line {err.lineno}, column {err.colno}: "
                f"{err.msg}); redeploy with `creditshare deploy --force` or restore the file."
            ) from err
        except RecursionError as err:  # nested deeper than the parser goes: not a file `save` wrote
            raise ConfigError(f"the saved deployments {path} are not valid JSON (nested too deeply).") from err
        return cls._from_json(path, raw)

    @classmethod
    def _from_json(cls, path: Path, raw: Any) -> Deployment:
        problem = None
        if not isinstance(raw, dict):
            problem = f"a JSON object is expected, not {type(raw).__name__}"
        elif type(raw.get("chain_id")) is not int:
            problem = "chain_id must be an integer"
        elif not isinstance(raw.get("contracts"), dict):
            problem = "contracts must be an object of contract name to address"
        elif type(raw.get("from_block", 0)) is not int or raw.get("from_block", 0) < 0:
            problem = "from_block must be a non-negative integer"
        else:
            bad = [str(k) for k, v in raw["contracts"].items() if not isinstance(v, str) or not _is_address(v)]
            if bad:
                problem = f"not an address: {', '.join(bad[:3])}"
        if problem is not None:
            raise ConfigError(f"the saved deployments {path} are malformed: {problem}.")
        return cls(path, raw["chain_id"], dict(raw["contracts"]), raw.get("from_block", 0))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        body = {"chain_id": self.chain_id, "from_block": self.from_block, "contracts": self.addresses}
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        tmp.replace(self.path)


def _is_address(text: str) -> bool:
    body = text[2:] if text.startswith(("0x", "0X")) else ""
    return len(body) == 40 and all(c in "0123456789abcdefABCDEF" for c in body)


CHECK_THREADS = 4  # concurrent eth_calls of the check before sending, on a node without eth_simulateV1

# transactions in flight in transact_many: WINDOW_BLOCKS blocks' worth of gas, within these bounds
WINDOW_BLOCKS = 3
MIN_WINDOW = 8
MAX_WINDOW = 64

LOG_BLOCK_SPAN = 5_000  # blocks per eth_getLogs request: nodes such as Besu cap the range


class ChainClient:
    """web3 connection, contract handles and transaction sending for one network."""

    # called by transact_many with each call's index just before that call is sent (after the check): a test
    # acts on the chain here, from another account, to prove what a command reports when the chain changes
    # between the check and the send
    before_send: ClassVar[Callable[[int], None] | None] = None

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.settings = settings
        session = requests.Session()
        provider = Web3.HTTPProvider(settings.network.rpc_url, request_kwargs={"timeout": timeout}, session=session)
        self.w3 = Web3(provider)
        if settings.network.poa:
            self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._nonces: dict[str, int] = {}
        self._deployment: Deployment | None = None
        # (name, address) -> handle: building a web3 Contract parses its ABI (~19 ms), and a command asks for
        # the same few contracts many times
        self._contracts: dict[tuple[str, str], Contract] = {}
        self._check_pool: ThreadPoolExecutor | None = None  # the per-call check's eth_calls (see _try_calls)

    # -- reads ---------------------------------------------------------------

    def read(self, fn: Callable[[], Any], what: str = "read") -> Any:
        """Runs a read, retrying connection errors with exponential backoff."""
        delay = 0.2
        for attempt in range(READ_RETRIES):
            try:
                return fn()
            except (ContractCustomError, ContractLogicError) as err:
                raise rejection(err, what) from err
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt == READ_RETRIES - 1:
                    raise ChainError(
                        f"cannot reach the {self.settings.network.name} chain; is the node running? "
                        f"(try `creditshare chain status`)"
                    ) from err
                log.debug("read %s failed (%s); retrying in %.1fs", what, type(err).__name__, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def rpc(self, method: str, params: list[Any], what: str) -> dict[str, Any]:
        """A raw JSON-RPC request, retried like every read (for calls and logs that skip web3's formatting)."""
        endpoint = RPCEndpoint(method)
        response: dict[str, Any] = self.read(lambda: self.w3.provider.make_request(endpoint, params), what)
        return response

    def logs(
        self, address: str, topics: list[Any], from_block: int | None = None, to_block: int | None = None
    ) -> list[dict[str, Any]]:
        """Raw logs of `address` matching `topics` (eth_getLogs, undecoded: web3's log formatting is the slow
        part at 10^5 events), oldest first, read in LOG_BLOCK_SPAN windows. Defaults: from the deployment's
        first block to the latest."""
        start = self.deployment.from_block if from_block is None else from_block
        latest = int(self.read(lambda: self.w3.eth.block_number, "block number")) if to_block is None else to_block
        out: list[dict[str, Any]] = []
        while start <= latest:
            end = min(start + LOG_BLOCK_SPAN - 1, latest)
            query = {"address": address, "fromBlock": hex(start), "toBlock": hex(end), "topics": topics}
            response = self.rpc("eth_getLogs", [query], "event logs")
            if "error" in response:
                raise ChainError(f"the node refused a log query: {response['error'].get('message', response['error'])}")
            out.extend(response.get("result", []))
            start = end + 1
        return out

    def call(
        self, contract: Contract, name: str, *args: Any, block: int | None = None, sender: str | None = None
    ) -> tuple[Any, ...]:
        """eth_call of `name(*args)` with eth-abi encoding and decoding (see encode_call),
        on the latest state or, with `block`, on the state as of that block number.
        `sender` sets `from`, for views that check their caller (no signature is involved)."""
        call = encode_call(contract, name, *args)
        query = {"to": call.to, "data": "0x" + call.data.hex()} | ({"from": sender} if sender else {})
        params = [query, "latest" if block is None else hex(block)]
        response = self.rpc("eth_call", params, name)
        if "error" in response:
            data = response["error"].get("data")
            reason = decode_revert(data) if isinstance(data, str) else response["error"].get("message", "")
            raise TransactionRejected(f"{name} was refused by the contract: {reason}", reason=reason)
        return decode_result(contract, name, bytes.fromhex(response["result"][2:]))

    def check_connection(self) -> int:
        """The chain id, after checking that it is the one configured and, on a proof-of-authority network,
        that the chain advances (see check_not_stalled)."""
        chain_id = int(self.read(lambda: self.w3.eth.chain_id, "chain id"))
        if chain_id != self.settings.network.chain_id:
            raise ChainError(
                f"the node at the {self.settings.network.name} endpoint reports chain id {chain_id}, "
                f"expected {self.settings.network.chain_id}."
            )
        self.check_not_stalled()
        return chain_id

    def head_age(self) -> tuple[int, float]:
        """(number, age in seconds) of the node's latest block."""
        block = self.rpc("eth_getBlockByNumber", ["latest", False], "latest block").get("result") or {}
        if "number" not in block:
            raise ChainError(f"the {self.settings.network.name} node returned no latest block.")
        return int(block["number"], 16), max(0.0, time.time() - int(block["timestamp"], 16))

    def check_not_stalled(self) -> None:
        """Raises ChainStalled if the network seals blocks on a schedule (stall_s > 0: Clique, QBFT) and its
        latest block is older than stall_s: too few signers are up, and a transaction would wait forever."""
        limit = self.settings.network.stall_s
        if limit <= 0:
            return
        number, age = self.head_age()
        if age > limit:
            raise ChainStalled(number, age, limit)

    def block_timestamp(self, block: BlockIdentifier = "latest") -> int:
        """The timestamp of `block` (a number, or "latest")."""
        return int(self.read(lambda: self.w3.eth.get_block(block)["timestamp"], "block"))

    # -- contracts -----------------------------------------------------------

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            self._deployment = Deployment.load(self.settings.deployments_file, self.settings.network.chain_id)
        return self._deployment

    def contract(self, name: str, address: str | None = None) -> Contract:
        """A handle on deployed contract `name` (or on `address`)."""
        if address is None:
            address = self.deployment.addresses.get(name)
            if address is None:
                raise ConfigError(
                    f"{name} is not deployed on the {self.settings.network.name} network; run `creditshare deploy`."
                )
        key = (name, to_checksum_address(address))
        handle = self._contracts.get(key)
        if handle is None:
            handle = self._contracts[key] = self.w3.eth.contract(address=key[1], abi=artifact(name)["abi"])
        return handle

    def is_deployed(self, name: str) -> bool:
        address = self.deployment.addresses.get(name)
        if address is None:
            return False
        return len(self.read(lambda: self.w3.eth.get_code(to_checksum_address(address)), "code")) > 0

    # -- transactions --------------------------------------------------------

    def _next_nonce(self, account: LocalAccount) -> int:
        address = account.address
        if address not in self._nonces:
            self._nonces[address] = int(
                self.read(lambda: self.w3.eth.get_transaction_count(address, "pending"), "nonce")
            )
        nonce = self._nonces[address]
        self._nonces[address] = nonce + 1
        return nonce

    def _sign_and_send(self, tx: dict[str, Any], account: LocalAccount) -> bytes:
        # legacy transactions at the network's fixed gas price (zero on a permissioned chain)
        tx.pop("maxFeePerGas", None)
        tx.pop("maxPriorityFeePerGas", None)
        tx.pop("type", None)
        tx["gasPrice"] = self.settings.network.gas_price
        tx["chainId"] = self.settings.network.chain_id
        tx["nonce"] = self._next_nonce(account)
        signed = account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except (requests.ConnectionError, requests.Timeout) as err:
            # never resent blindly: the node may have it. The caller re-reads state to find out.
            self._nonces.pop(account.address, None)
            raise ChainError(
                "the node did not answer while a transaction was being sent; check state and retry."
            ) from err
        except Web3RPCError as err:
            self._nonces.pop(account.address, None)
            reason = _rpc_message(err)
            hint = " (another process sent from this account meanwhile: run the command again)"
            hint = hint if "nonce" in reason else ""
            raise TransactionRejected(f"the node refused the transaction: {reason}{hint}", reason=reason) from err
        log.debug("sent %s", tx_hash.hex())
        return bytes(tx_hash)

    def estimate(self, call: Call, account: LocalAccount, what: str) -> int:
        """Gas for `call` from `account`; a revert surfaces here as TransactionRejected."""
        tx = {"from": account.address, "to": call.to, "data": call.data, "gasPrice": self.settings.network.gas_price}
        try:
            return int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        except (ContractCustomError, ContractLogicError) as err:
            raise rejection(err, what) from err

    def transact(self, call: Call, account: LocalAccount, what: str) -> TxReceipt:
        """Sends one contract call as a transaction; returns its receipt with logs formatted by web3."""
        raw = self.transact_many([call], account, what)[0]
        tx_hash = raw["transactionHash"]
        return self.read(lambda: self.w3.eth.get_transaction_receipt(tx_hash), "receipt")  # type: ignore[arg-type]

    def transact_many(
        self,
        calls: Sequence[Call],
        account: LocalAccount,
        what: str,
        on_mined: Callable[[int, TxReceipt], None] | None = None,
        window: int | None = None,
        scale_gas: bool = False,
        items: Sequence[Sequence[int]] | None = None,
        split: Callable[[int], Sequence[Call]] | None = None,
    ) -> list[TxReceipt]:
        """Checks every call against the chain, then sends them in nonce order, up to `window` in flight, and
        returns their receipts. By default the window holds WINDOW_BLOCKS blocks' worth of the calls' gas
        (see send_window): the node's pool always has the next block's transactions while one is sealed.
        All or nothing as far as the chain allows:

        - Before the first transaction, `check_calls` runs the whole sequence (eth_simulateV1, each call on the
          state the earlier ones leave). If any call would revert, nothing is sent: CallsRefused lists every
          refusal. `items[i]` are the indexes (in the caller's list) of what call i carries, one each by
          default; `split(i)` gives one call per item of call i, to pin a refused batch's refusal on its items.
        - The gas of each transaction is what the simulation used, plus a margin (refunds and the 63/64 rule of
          nested calls make the limit a call needs exceed what it uses).
        - If a call fails on chain anyway (the chain changed after the check), no further call is sent, the
          ones in flight are awaited, and PartialWrite says which landed and which did not (a single call
          fails as plain TransactionRejected). Receipts of landed calls still reach `on_mined`.

        `scale_gas` (batches of one function over uniform records) matters only on a node without
        eth_simulateV1: see check_calls.
        """
        per_call = [list(x) for x in items] if items is not None else [[i] for i in range(len(calls))]
        if not calls:
            return []
        gas_limits = self.check_calls(calls, account, what, scale_gas=scale_gas, items=per_call, split=split)
        if window is None:
            window = self.send_window(gas_limits) if len(calls) > MIN_WINDOW else MIN_WINDOW
        receipts: dict[int, TxReceipt] = {}
        failures: list[CallFailure] = []
        pending: list[tuple[int, bytes]] = []

        def settle_one() -> None:
            index, tx_hash = pending.pop(0)
            receipt = self.wait_receipt(tx_hash)
            if receipt["status"] != 1:
                err = self._explain_failure(calls[index], account, what, tx_hash, int(receipt["blockNumber"]))
                failures.append(CallFailure(index, None, err.reason or str(err)))
                if len(calls) == 1:
                    raise err
                return
            receipts[index] = receipt
            if on_mined:
                on_mined(index, receipt)

        for index, call in enumerate(calls):
            if failures:
                break  # the chain changed since the check: send nothing more
            if ChainClient.before_send is not None:
                ChainClient.before_send(index)
            tx = {"to": call.to, "data": call.data, "gas": gas_limits[index], "value": 0}
            try:
                pending.append((index, self._sign_and_send(tx, account)))
            except TransactionRejected as err:
                if len(calls) == 1:
                    raise
                failures.append(CallFailure(index, None, err.reason or str(err)))
                break
            if len(pending) >= window:
                settle_one()
        while pending:
            settle_one()
        if failures:
            raise self._partial(what, len(calls), receipts, failures, per_call)
        return [receipts[i] for i in range(len(calls))]

    def block_gas_limit(self) -> int:
        """The latest block's gas limit (0 if the node does not say): what one block, hence one transaction,
        can hold on this chain (batch sizes and the send window follow it)."""
        block = self.rpc("eth_getBlockByNumber", ["latest", False], "latest block").get("result") or {}
        return int(block.get("gasLimit", "0x0"), 16)

    def send_window(self, gas_limits: Sequence[int]) -> int:
        """How many transactions of these gas limits to keep in flight: WINDOW_BLOCKS blocks' worth (by the
        latest block's gas limit), between MIN_WINDOW and MAX_WINDOW.

        On a chain that seals on a schedule a block's content is chosen from the pool when the block before
        it arrives: with only one block's worth in flight, the refill sent after a receipt misses the next
        block and every other block goes out half empty (seen on the 4-node geth network with a window of 8
        batches of 400 settlements, 4 to a 60M-gas block). The window still bounds what is already sent when
        a call fails on chain (see transact_many)."""
        block_gas = self.block_gas_limit()
        mean = sum(gas_limits) // max(1, len(gas_limits))
        if block_gas <= 0 or mean <= 0:
            return MIN_WINDOW
        return max(MIN_WINDOW, min(MAX_WINDOW, -(-WINDOW_BLOCKS * block_gas // mean)))

    @staticmethod
    def _partial(
        what: str,
        total: int,
        receipts: Mapping[int, TxReceipt],
        failures: list[CallFailure],
        items: Sequence[Sequence[int]],
    ) -> PartialWrite:
        landed = sorted(receipts)
        not_landed = [i for i in range(total) if i not in receipts]
        reason = failures[0].reason
        return PartialWrite(
            f"{what}: the chain changed after the check; {len(landed)} of {total} transaction(s) landed and "
            f"{len(not_landed)} did not (transaction {failures[0].call + 1}: {reason}). Run the command again "
            f"to complete the rest: what landed is skipped.",
            reason=reason,
            landed=landed,
            not_landed=not_landed,
            landed_items=[x for i in landed for x in items[i]],
            not_landed_items=[x for i in not_landed for x in items[i]],
            failures=failures,
        )

    def check_calls(
        self,
        calls: Sequence[Call],
        account: LocalAccount,
        what: str,
        *,
        scale_gas: bool = False,
        items: Sequence[Sequence[int]] | None = None,
        split: Callable[[int], Sequence[Call]] | None = None,
    ) -> list[int]:
        """The gas limit of each call, after checking that none would revert; raises CallsRefused otherwise.

        With eth_simulateV1 (Anvil 1.7.1, as tried; geth and reth document it): the sequence runs in one
        request, one call per simulated block, each on the state the earlier calls leave, and the gas each
        used sets its limit. A sequence longer than SIMULATE_BLOCKS calls or SIMULATE_BYTES of calldata (a
        400-settlement batch is 115 KB) is simulated in chunks, each chunk on the latest state: the batches
        of one command touch distinct records (duplicates within a file are refused up front), so a chunk
        does not depend on the one before. A simulated block's time is the latest block's or a little
        later: checks against time (due dates, dispute windows) hold within those seconds.
        On a node without it (or one that refuses the request, or fails a call without revert data: geth caps
        the gas of a whole simulation with --rpc.gascap, 50M by default), each call is checked alone against
        the latest state: eth_estimateGas per call, or with `scale_gas` one eth_call per call and the first
        call's estimate scaled by calldata length (eth_estimateGas runs a call many times over, a binary
        search, which costs more than sending it).
        """
        per_call = [list(x) for x in items] if items is not None else [[i] for i in range(len(calls))]
        simulated = self._simulate(calls, account)
        if simulated is None:
            return self._check_each(calls, account, what, scale_gas, per_call, split)
        gas_cap, results = simulated
        failures: list[CallFailure] = []
        limits: list[int] = []
        for index, (ok, value) in enumerate(results):
            if ok:
                limits.append(min(gas_limit_for(int(value)), gas_cap))
            else:
                failures.extend(self._pin(index, str(value), account, per_call, split))
        if failures:
            raise CallsRefused(what, failures, len(calls), per_call)
        return limits

    def _simulate(self, calls: Sequence[Call], account: LocalAccount) -> tuple[int, list[tuple[bool, Any]]] | None:
        """(block gas limit, [(True, gas used) or (False, decoded revert)] per call) from eth_simulateV1,
        or None if the node does not offer it, refuses the request, or a call fails without revert data."""
        out: list[tuple[bool, Any]] = []
        gas_cap = 0
        for chunk in _chunks(calls):
            blocks = [{"calls": [{"from": account.address, "to": c.to, "data": "0x" + c.data.hex()}]} for c in chunk]
            response = self.rpc("eth_simulateV1", [{"blockStateCalls": blocks, "validation": False}, "latest"], "check")
            result = response.get("result")
            if "error" in response or not isinstance(result, list) or len(result) != len(chunk):
                log.debug("eth_simulateV1 unavailable (%s); checking call by call", response.get("error"))
                return None
            for block in result:
                gas_cap = max(gas_cap, int(block.get("gasLimit", "0x0"), 16))
                (call,) = block["calls"]
                if int(call.get("status", "0x0"), 16) == 1:
                    out.append((True, int(call["gasUsed"], 16)))
                else:
                    error = call.get("error") or {}
                    data = error.get("data") or call.get("returnData")
                    if not (isinstance(data, str) and len(data) > 2):
                        # no revert data: out of gas, maybe only for the simulation (geth caps the gas of a
                        # whole request, --rpc.gascap), or a bare revert: the per-call check decides
                        log.debug("simulated call failed without revert data (%s); checking call by call", error)
                        return None
                    out.append((False, decode_revert(data)))
        return gas_cap or 30_000_000, out

    def _pin(
        self,
        index: int,
        reason: str,
        account: LocalAccount,
        items: Sequence[Sequence[int]],
        split: Callable[[int], Sequence[Call]] | None,
    ) -> list[CallFailure]:
        """The refusals of refused call `index`, pinned on its items where `split` allows: each item's own
        call is checked (in order, on the latest state); a call refused though none of its items is refused
        alone (a batch-wide limit) stays one refusal of the whole call."""
        if split is None or len(items[index]) == 1:
            item = items[index][0] if len(items[index]) == 1 else None
            return [CallFailure(index, item, reason)]
        singles = list(split(index))
        simulated = self._simulate(singles, account)
        if simulated is None:
            outcomes = [self._try_call(c, account) for c in singles]
        else:
            outcomes = [None if ok else str(value) for ok, value in simulated[1]]
        found = [CallFailure(index, items[index][k], r) for k, r in enumerate(outcomes) if r is not None]
        return found or [CallFailure(index, None, reason)]

    def _try_call(self, call: Call, account: LocalAccount) -> str | None:
        """The decoded revert of `call` on the latest state, or None if it would succeed."""
        query = {"from": account.address, "to": call.to, "data": "0x" + call.data.hex()}
        response = self.rpc("eth_call", [query, "latest"], "check")
        if "error" not in response:
            return None
        data = response["error"].get("data")
        return decode_revert(data) if isinstance(data, str) else str(response["error"].get("message", "reverted"))

    def _try_calls(self, calls: Sequence[Call], account: LocalAccount) -> list[str | None]:
        """_try_call of every call, CHECK_THREADS at a time: each is an eth_call on the latest state,
        independent of the others, and a node runs them in parallel (on geth a 400-settlement batch is ~40 ms
        of EVM work, so a 50-batch file waited 2 s for its check one call after another)."""
        if len(calls) < 2:
            return [self._try_call(c, account) for c in calls]
        if self._check_pool is None:
            # one pool per client, kept: web3 keeps an HTTP session per thread, so the same few threads reuse
            # theirs rather than every check opening (and web3 later evicting) new ones
            self._check_pool = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix="check")
        return list(self._check_pool.map(lambda c: self._try_call(c, account), calls))

    def _check_each(
        self,
        calls: Sequence[Call],
        account: LocalAccount,
        what: str,
        scale_gas: bool,
        items: Sequence[Sequence[int]],
        split: Callable[[int], Sequence[Call]] | None,
    ) -> list[int]:
        """check_calls on a node without eth_simulateV1: each call alone on the latest state."""
        failures: list[CallFailure] = []
        limits: list[int] = []
        first: tuple[int, int] | None = None  # (gas, calldata length) of the first call estimated
        reasons = self._try_calls(calls, account) if scale_gas else [None] * len(calls)
        for index, call in enumerate(calls):
            reason = reasons[index]
            if reason is None and (first is None or not scale_gas):
                try:
                    gas = self.estimate(call, account, what)
                except TransactionRejected as err:
                    reason = err.reason or str(err)
                else:
                    first = (gas, len(call.data))
                    limits.append(gas * 12 // 10)
                    continue
            if reason is not None:
                failures.extend(self._pin(index, reason, account, items, split))
                limits.append(0)
                continue
            assert first is not None
            limits.append(gas_limit_for(first[0] * len(call.data) // first[1]))
        if failures:
            raise CallsRefused(what, failures, len(calls), items)
        return limits

    def _explain_failure(
        self, call: Call, account: LocalAccount, what: str, tx_hash: bytes, block: int
    ) -> TransactionRejected:
        """Replays a transaction that failed on chain to name its revert reason."""
        try:
            self.w3.eth.call({"from": account.address, "to": call.to, "data": call.data}, block - 1)
        except (ContractCustomError, ContractLogicError) as err:
            return rejection(err, what)
        except Exception:  # the replay is a courtesy: the failure itself is certain
            pass
        return TransactionRejected(f"{what}: transaction 0x{tx_hash.hex()} failed on chain (out of gas?).")

    def wait_receipt(self, tx_hash: bytes, timeout: float = 120.0) -> TxReceipt:
        """The receipt of `tx_hash` once mined, with its logs left raw.

        Uses the plain JSON-RPC call: web3's receipt formatting costs more than
        the node's work when a batch emits hundreds of events. `status`,
        `gasUsed` and `blockNumber` are converted to int; decode logs with a
        contract event's `process_receipt` or `process_log` where needed.

        On a network that seals on a schedule (stall_s > 0), a head that stops advancing for stall_s while
        the receipt is missing ends the wait early with ChainStalled (the transaction stays in the node's pool
        and lands once the chain resumes; re-running the command skips what landed). There, `timeout` counts
        only time in which blocks were sealed: a pause shorter than stall_s (a signer restarting) does not
        use it up, since no transaction can be mined without a block.
        """
        deadline = time.monotonic() + timeout
        delay = 0.002
        stall_s = self.settings.network.stall_s
        check_every = min(stall_s, 5.0)
        next_check = time.monotonic() + check_every if stall_s > 0 else float("inf")
        last_head, last_check = (self.head_age()[0] if stall_s > 0 else -1), time.monotonic()
        while True:
            response = self.rpc("eth_getTransactionReceipt", ["0x" + tx_hash.hex()], "receipt")
            result = response.get("result")
            if result:
                for key in ("status", "gasUsed", "blockNumber"):
                    result[key] = int(result[key], 16)
                return result  # type: ignore[no-any-return]
            now = time.monotonic()
            if stall_s > 0 and (now > next_check or now > deadline):
                number, age = self.head_age()
                if age > stall_s:
                    raise ChainStalled(number, age, stall_s, pending=tx_hash)
                if number == last_head:  # no block since the last look: that time cannot mine anything
                    deadline += now - last_check
                last_head, last_check = number, now
                next_check = now + check_every
            if now > deadline:
                raise ChainError(f"transaction 0x{tx_hash.hex()} was not mined within {timeout:.0f}s.")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def deploy(self, name: str, args: Iterable[Any], account: LocalAccount) -> str:
        """Deploys contract `name` and returns its address (not saved)."""
        art = artifact(name)
        factory = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        ctor = factory.constructor(*args)
        try:
            gas = int(ctor.estimate_gas({"from": account.address})) * 12 // 10
        except (ContractCustomError, ContractLogicError) as err:
            raise rejection(err, f"deploying {name}") from err
        tx = ctor.build_transaction(
            {"from": account.address, "gas": gas, "gasPrice": self.settings.network.gas_price, "nonce": 0}
        )
        tx.pop("to", None)
        tx_hash = self._sign_and_send(tx, account)
        receipt = self.wait_receipt(tx_hash)
        if receipt["status"] != 1:
            raise TransactionRejected(f"deploying {name} reverted.")
        return to_checksum_address(str(receipt["contractAddress"]))


def _rpc_message(err: Web3RPCError) -> str:
    """The node's own message of a JSON-RPC error ("nonce too low"), not the error object's dict."""
    error = (err.rpc_response or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(err)
