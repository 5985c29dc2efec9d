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
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ABIEvent, ABIFunction
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from faster_eth_abi import decode as abi_decode  # compiled eth-abi: same API, 3x faster
from faster_eth_abi import encode as abi_encode
from hexbytes import HexBytes
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
        if not path.exists():
            return cls(path, chain_id, {})
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, int(raw["chain_id"]), dict(raw["contracts"]), int(raw.get("from_block", 0)))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        body = {"chain_id": self.chain_id, "from_block": self.from_block, "contracts": self.addresses}
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        tmp.replace(self.path)


LOG_BLOCK_SPAN = 5_000  # blocks per eth_getLogs request: nodes such as Besu cap the range


class ChainClient:
    """web3 connection, contract handles and transaction sending for one network."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        self.settings = settings
        session = requests.Session()
        provider = Web3.HTTPProvider(settings.network.rpc_url, request_kwargs={"timeout": timeout}, session=session)
        self.w3 = Web3(provider)
        if settings.network.poa:
            self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._nonces: dict[str, int] = {}
        self._deployment: Deployment | None = None

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
        """The chain id, after checking that it is the one configured."""
        chain_id = int(self.read(lambda: self.w3.eth.chain_id, "chain id"))
        if chain_id != self.settings.network.chain_id:
            raise ChainError(
                f"the node at the {self.settings.network.name} endpoint reports chain id {chain_id}, "
                f"expected {self.settings.network.chain_id}."
            )
        return chain_id

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
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact(name)["abi"])

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
            raise TransactionRejected(f"the node refused the transaction: {err}", reason=str(err)) from err
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
        window: int = 8,
        scale_gas: bool = False,
    ) -> list[TxReceipt]:
        """Sends calls in nonce order, up to `window` in flight, and returns their receipts.

        Each call's gas is estimated first, so that a revert is reported before
        that call is sent; a call that reverts stops the sequence there. With
        `scale_gas` (batches of one function over uniform records) only the
        first call is estimated and the others get its gas scaled by calldata
        length, plus a margin: eth_estimateGas runs the call many times over
        (a binary search), which costs more than sending it.
        """
        receipts: list[TxReceipt] = []
        pending: list[tuple[int, bytes]] = []

        def settle_one() -> None:
            index, tx_hash = pending.pop(0)
            receipt = self.wait_receipt(tx_hash)
            if receipt["status"] != 1:
                raise self._explain_failure(calls[index], account, what, tx_hash, int(receipt["blockNumber"]))
            receipts.append(receipt)
            if on_mined:
                on_mined(index, receipt)

        first: tuple[int, int] | None = None  # (gas, calldata length) of the first call
        for index, call in enumerate(calls):
            if scale_gas and first is not None:
                gas = first[0] * len(call.data) // first[1] * 13 // 10 + 50_000
            else:
                gas = self.estimate(call, account, what)
                first = (gas, len(call.data))
                gas = gas * 12 // 10
            tx = {"to": call.to, "data": call.data, "gas": gas, "value": 0}
            pending.append((index, self._sign_and_send(tx, account)))
            if len(pending) >= window:
                settle_one()
        while pending:
            settle_one()
        return receipts

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
        """
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            response = self.rpc("eth_getTransactionReceipt", ["0x" + tx_hash.hex()], "receipt")
            result = response.get("result")
            if result:
                for key in ("status", "gasUsed", "blockNumber"):
                    result[key] = int(result[key], 16)
                return result  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
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
        receipt = self.read(
            lambda: self.w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=120, poll_latency=0.01),
            "receipt",
        )
        if receipt["status"] != 1:
            raise TransactionRejected(f"deploying {name} reverted.")
        return str(receipt["contractAddress"])
