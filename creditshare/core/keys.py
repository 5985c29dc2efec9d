"""Signing keys: encrypted keystores (Web3 Secret Storage) or the environment.

A key never comes from argv and is never logged. Sources, in order:

1. ``CREDITSHARE_PRIVATE_KEY`` (hex), for scripts and CI secrets;
2. a keystore file ``<data>/keystore/<name>.json`` unlocked with the password in
   ``CREDITSHARE_PASSWORD``, in the file named by ``CREDITSHARE_PASSWORD_FILE``,
   or typed at a prompt.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from creditshare.core.errors import ConfigError, KeyUnavailable

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# scrypt work factor; lower it (a power of two) only for throwaway test keys
DEFAULT_SCRYPT_N = 2**18


def _check_name(name: str) -> None:
    # fullmatch: with match and `$`, "plat\n" passed and wrote a keystore file named "plat\n.json"
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"account name must be 1-64 letters, digits, '.', '_' or '-'; got {name!r}.")


def keystore_path(keystore_dir: Path, name: str) -> Path:
    _check_name(name)
    return keystore_dir / f"{name}.json"


def read_password(confirm: bool = False) -> str:
    """The keystore password from the environment, a file, or a prompt."""
    if "CREDITSHARE_PASSWORD" in os.environ:
        return os.environ["CREDITSHARE_PASSWORD"]
    password_file = os.environ.get("CREDITSHARE_PASSWORD_FILE")
    if password_file:
        try:
            return Path(password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as err:
            raise ConfigError(f"cannot read CREDITSHARE_PASSWORD_FILE ({password_file}): {err.strerror}.") from err
        except UnicodeDecodeError as err:
            raise ConfigError(f"CREDITSHARE_PASSWORD_FILE ({password_file}) is not UTF-8 text.") from err
    if not sys.stdin.isatty():
        raise ConfigError(
            "a keystore password is needed: set CREDITSHARE_PASSWORD or CREDITSHARE_PASSWORD_FILE, "
            "or run interactively."
        )
    password = getpass.getpass("Keystore password: ")
    if confirm and getpass.getpass("Repeat password: ") != password:
        raise ConfigError("the passwords do not match.")
    return password


def _scrypt_n() -> int:
    raw = os.environ.get("CREDITSHARE_SCRYPT_N")
    if not raw:
        return DEFAULT_SCRYPT_N
    # ASCII digits only (int() reads "²" or "１６" otherwise), and at most the default: a keystore written with
    # more work than read_keystore accepts (n * r <= 2^21, r = 8) could never be unlocked again
    n = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 7 else 0
    if n < 2 or n > DEFAULT_SCRYPT_N or n & (n - 1):
        raise ConfigError(f"CREDITSHARE_SCRYPT_N must be a power of two from 2 to {DEFAULT_SCRYPT_N}; got {raw!r}.")
    return n


def create_keystore(keystore_dir: Path, name: str, private_key: str | None = None, password: str | None = None) -> str:
    """Writes a new encrypted keystore and returns its address.

    `private_key` imports an existing key (read from the environment or stdin by
    the caller, never argv); otherwise a fresh key is generated. `password`
    (already read with :func:`read_password`) saves asking again for each of many keystores.
    """
    path = keystore_path(keystore_dir, name)
    if path.exists():
        raise ConfigError(f"a keystore named {name!r} exists already ({path}); choose another name.")
    account = Account.from_key(private_key) if private_key else Account.create()
    secret = password if password is not None else read_password(confirm=True)
    encrypted = Account.encrypt(account.key, secret, kdf="scrypt", iterations=_scrypt_n())
    try:
        keystore_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(encrypted, handle)
    except OSError as err:
        raise ConfigError(f"cannot write keystore {path}: {err.strerror or err}.") from err
    return account.address


_HEX = re.compile(r"[0-9a-fA-F]+")
_ADDRESS = re.compile(r"(0x)?[0-9a-fA-F]{40}")
# the largest key-derivation work a keystore may ask for: above it a damaged or hostile file could take
# gigabytes of memory or hours of CPU before failing. geth's "standard" (and our default) is scrypt
# n = 2^18, r = 8, p = 1: n * r = 2^21, 256 MiB
_MAX_SCRYPT_N, _MAX_SCRYPT_MEMORY, _MAX_SCRYPT_P, _MAX_PBKDF2_C = 2**20, 2**21, 4, 10_000_000


def read_keystore(keystore_dir: Path, name: str) -> dict[str, Any]:
    """The parsed keystore `name` (Web3 Secret Storage v3), checked for shape without unlocking it.

    Raises ConfigError naming the file for a missing or unreadable file, bytes
    that are not UTF-8 or not JSON (with line and column), and a document that
    is not a version 3 keystore (no address, no ``crypto`` section, unknown
    cipher or key derivation, or a work factor beyond any wallet's).
    """
    path = keystore_path(keystore_dir, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise ConfigError(
            f"no keystore named {name!r} in {keystore_dir}; create it with `creditshare keys new`."
        ) from err
    except OSError as err:
        raise ConfigError(f"cannot read keystore {path}: {err.strerror or err}.") from err
    damaged = f"keystore {path} is damaged"
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{damaged}: byte 0x{data[err.start]:02X} on line {line} is not UTF-8.") from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"{damaged}: not JSON ({err.msg} at line {err.lineno}, column {err.colno}).") from err
    except (RecursionError, ValueError) as err:
        raise ConfigError(f"{damaged}: not a keystore JSON document.") from err
    _check_keystore(document, damaged)
    return document  # type: ignore[no-any-return]


def _check_keystore(document: Any, damaged: str) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ConfigError(f"{damaged}: {what}; restore it from a backup or import the key again.")

    need(isinstance(document, dict), "not a JSON object")
    need(document.get("version") == 3, "not a version 3 keystore")
    need(isinstance(document.get("address"), str) and bool(_ADDRESS.fullmatch(document["address"])), "no address")
    crypto = document.get("crypto", document.get("Crypto"))
    need(isinstance(crypto, dict), "no 'crypto' section")
    need(crypto.get("cipher") == "aes-128-ctr", "the cipher is not aes-128-ctr")
    for field, size in (("ciphertext", 64), ("mac", 64)):
        value = crypto.get(field)
        need(isinstance(value, str) and bool(_HEX.fullmatch(value)) and len(value) == size, f"bad crypto.{field}")
    params = crypto.get("cipherparams")
    need(isinstance(params, dict) and isinstance(params.get("iv"), str), "no crypto.cipherparams.iv")
    # eth-account writes the 16-byte IV as a number, without its leading zero bytes: 1 to 16 bytes of hex
    iv = params["iv"]
    need(bool(_HEX.fullmatch(iv)) and len(iv) % 2 == 0 and 2 <= len(iv) <= 32, "bad crypto.cipherparams.iv")
    kdf, kdfparams = crypto.get("kdf"), crypto.get("kdfparams")
    need(isinstance(kdfparams, dict), "no crypto.kdfparams")
    salt = kdfparams.get("salt")
    need(isinstance(salt, str) and bool(_HEX.fullmatch(salt)) and len(salt) % 2 == 0, "bad kdfparams.salt")
    need(_small_int(kdfparams.get("dklen"), 32, 32), "kdfparams.dklen must be 32")
    if kdf == "scrypt":
        n, r = kdfparams.get("n"), kdfparams.get("r")
        need(_small_int(n, 2, _MAX_SCRYPT_N) and not n & (n - 1), "kdfparams.n must be a power of two <= 2^20")
        need(_small_int(r, 1, _MAX_SCRYPT_MEMORY // n), "kdfparams.r is missing or too large (n * r <= 2^21)")
        need(_small_int(kdfparams.get("p"), 1, _MAX_SCRYPT_P), "bad kdfparams.p")
    elif kdf == "pbkdf2":
        need(kdfparams.get("prf") == "hmac-sha256", "kdfparams.prf must be hmac-sha256")
        need(_small_int(kdfparams.get("c"), 1, _MAX_PBKDF2_C), "bad kdfparams.c")
    else:
        need(False, "the key derivation is neither scrypt nor pbkdf2")


def _small_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def keystore_address(keystore_dir: Path, name: str) -> str:
    """The address of a keystore, read without unlocking it."""
    from eth_utils import to_checksum_address

    address = read_keystore(keystore_dir, name)["address"]
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)


class DamagedKeystores(ConfigError):
    """Several keystores of a folder are damaged; `errors` says what is wrong with each."""

    def __init__(self, keystore_dir: Path, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} keystores in {keystore_dir} are damaged:")


def list_keystores(keystore_dir: Path) -> dict[str, str]:
    """Keystore names and their addresses; ConfigError naming every damaged keystore, if any."""
    if not keystore_dir.is_dir():
        return {}
    found: dict[str, str] = {}
    damaged: list[ConfigError] = []
    for path in sorted(keystore_dir.glob("*.json")):
        try:
            found[path.stem] = keystore_address(keystore_dir, path.stem)
        except ConfigError as err:
            damaged.append(err)
    if len(damaged) == 1:
        raise damaged[0]
    if damaged:
        raise DamagedKeystores(keystore_dir, [str(e) for e in damaged])
    return found


def load_account(keystore_dir: Path, name: str | None) -> LocalAccount:
    """The signing account: CREDITSHARE_PRIVATE_KEY, else the named keystore."""
    env_key = os.environ.get("CREDITSHARE_PRIVATE_KEY")
    if env_key:
        try:
            return Account.from_key(env_key)
        except (ValueError, TypeError) as err:
            raise KeyUnavailable("CREDITSHARE_PRIVATE_KEY is not a valid private key.") from err
    name = name or os.environ.get("CREDITSHARE_ACCOUNT")
    if not name:
        raise ConfigError("no signing account: pass --account NAME (a keystore) or set CREDITSHARE_PRIVATE_KEY.")
    encrypted = read_keystore(keystore_dir, name)
    password = read_password()
    try:
        key = Account.decrypt(encrypted, password)
    except ValueError as err:
        if "MAC mismatch" in str(err):
            raise KeyUnavailable(f"cannot unlock keystore {name!r}: wrong password.") from err
        raise KeyUnavailable(f"cannot unlock keystore {keystore_path(keystore_dir, name)}: {err}.") from err
    except (TypeError, KeyError, OverflowError, MemoryError) as err:
        raise KeyUnavailable(f"cannot unlock keystore {keystore_path(keystore_dir, name)}: it is damaged.") from err
    account = Account.from_key(key)
    if account.address.lower()[2:] != encrypted["address"].lower().removeprefix("0x"):
        raise KeyUnavailable(f"keystore {keystore_path(keystore_dir, name)} is damaged: its key is not its address.")
    return account


def resolve_address(keystore_dir: Path, name_or_address: str) -> str:
    """An address given directly (0x...) or as a keystore name."""
    from eth_utils import is_address, to_checksum_address

    if name_or_address.startswith("0x"):
        if not is_address(name_or_address):
            raise ConfigError(f"{name_or_address!r} is not a valid address.")
        return to_checksum_address(name_or_address)
    return keystore_address(keystore_dir, name_or_address)
