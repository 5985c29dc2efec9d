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

from eth_account import Account
from eth_account.signers.local import LocalAccount

from creditshare.core.errors import ConfigError, KeyUnavailable

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# scrypt work factor; lower it (a power of two) only for throwaway test keys
DEFAULT_SCRYPT_N = 2**18


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
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
    n = int(raw)
    if n < 2 or n & (n - 1):
        raise ConfigError(f"CREDITSHARE_SCRYPT_N must be a power of two; got {raw}.")
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
    keystore_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(encrypted, handle)
    return account.address


def keystore_address(keystore_dir: Path, name: str) -> str:
    """The address of a keystore, read without unlocking it."""
    path = keystore_path(keystore_dir, name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(
            f"no keystore named {name!r} in {keystore_dir}; create it with `creditshare keys new`."
        ) from err
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + raw["address"])


def list_keystores(keystore_dir: Path) -> dict[str, str]:
    """Keystore names and their addresses."""
    if not keystore_dir.is_dir():
        return {}
    return {p.stem: keystore_address(keystore_dir, p.stem) for p in sorted(keystore_dir.glob("*.json"))}


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
    path = keystore_path(keystore_dir, name)
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(
            f"no keystore named {name!r} in {keystore_dir}; create it with `creditshare keys new`."
        ) from err
    password = read_password()
    try:
        key = Account.decrypt(encrypted, password)
    except ValueError as err:
        raise KeyUnavailable(f"cannot unlock keystore {name!r}: wrong password.") from err
    return Account.from_key(key)


def resolve_address(keystore_dir: Path, name_or_address: str) -> str:
    """An address given directly (0x...) or as a keystore name."""
    from eth_utils import is_address, to_checksum_address

    if name_or_address.startswith("0x"):
        if not is_address(name_or_address):
            raise ConfigError(f"{name_or_address!r} is not a valid address.")
        return to_checksum_address(name_or_address)
    return keystore_address(keystore_dir, name_or_address)
