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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import requests
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import TxReceipt

from creditshare.config import BUILD_DIR, Settings
from creditshare.errors import ChainError, ConfigError, TransactionRejected

log = logging.getLogger(__name__)

READ_RETRIES = 5


@cache
def artifact(name: str) -> dict[str, Any]:
    """The compiled artifact (abi, bytecode) of contract `name` from build/."""
    path = BUILD_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"contract {name} is not compiled ({path} missing); run `make setup`.") from err


@cache
def _error_selectors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (error name, argument names, argument types) over every compiled contract."""
    selectors: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for path in BUILD_DIR.glob("*.json"):
        for item in json.loads(path.read_text(encoding="utf-8")).get("abi", []):
            if item.get("type") != "error":
                continue
            selector = function_abi_to_4byte_selector(item)
            names = [arg["name"] for arg in item["inputs"]]
            types = [_abi_type(arg) for arg in item["inputs"]]
            selectors[selector] = (item["name"], names, types)
    return selectors


def _abi_type(arg: dict[str, Any]) -> str:
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

    def check_connection(self) -> int:
        """The chain id, after checking that it is the one configured."""
        chain_id = int(self.read(lambda: self.w3.eth.chain_id, "chain id"))
        if chain_id != self.settings.network.chain_id:
            raise ChainError(
                f"the node at the {self.settings.network.name} endpoint reports chain id {chain_id}, "
                f"expected {self.settings.network.chain_id}."
            )
        return chain_id

    def block_timestamp(self) -> int:
        return int(self.read(lambda: self.w3.eth.get_block("latest")["timestamp"], "latest block"))

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
            raise ChainError("the node did not answer while a transaction was being sent; check state and retry.") from err
        except Web3RPCError as err:
            self._nonces.pop(account.address, None)
            raise TransactionRejected(f"the node refused the transaction: {err}", reason=str(err)) from err
        log.debug("sent %s", tx_hash.hex())
        return bytes(tx_hash)

    def estimate(self, fn: ContractFunction, account: LocalAccount, what: str) -> int:
        """Gas for `fn` from `account`; a revert surfaces here as TransactionRejected."""
        try:
            return int(fn.estimate_gas({"from": account.address, "gasPrice": self.settings.network.gas_price}))
        except (ContractCustomError, ContractLogicError) as err:
            raise rejection(err, what) from err

    def transact(self, fn: ContractFunction, account: LocalAccount, what: str, gas: int | None = None) -> TxReceipt:
        """Sends one contract call as a transaction and waits for its receipt."""
        return self.transact_many([(fn, gas)], account, what)[0]

    def transact_many(
        self,
        calls: Sequence[tuple[ContractFunction, int | None]],
        account: LocalAccount,
        what: str,
        on_mined: Callable[[int, TxReceipt], None] | None = None,
        window: int = 8,
    ) -> list[TxReceipt]:
        """Sends calls in nonce order, up to `window` in flight, and returns their receipts.

        Each call's gas is estimated first (unless given), so that a revert is
        reported before anything of that call is sent.
        """
        receipts: list[TxReceipt] = []
        pending: list[tuple[int, bytes]] = []

        def settle_one() -> None:
            index, tx_hash = pending.pop(0)
            receipt = self.read(lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120), "receipt")
            if receipt["status"] != 1:
                raise TransactionRejected(f"{what}: transaction {tx_hash.hex()} reverted on chain.")
            receipts.append(receipt)
            if on_mined:
                on_mined(index, receipt)

        for index, (fn, gas) in enumerate(calls):
            limit = gas if gas is not None else self.estimate(fn, account, what) * 12 // 10
            tx = fn.build_transaction(
                {"from": account.address, "gas": limit, "gasPrice": self.settings.network.gas_price, "nonce": 0}
            )
            pending.append((index, self._sign_and_send(tx, account)))
            if len(pending) >= window:
                settle_one()
        while pending:
            settle_one()
        return receipts

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
        receipt = self.read(lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120), "receipt")
        if receipt["status"] != 1:
            raise TransactionRejected(f"deploying {name} reverted.")
        return str(receipt["contractAddress"])
