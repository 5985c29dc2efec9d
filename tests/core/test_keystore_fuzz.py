"""Damaged keystores (issue #13, finding 3): a truncated, non-UTF-8 or reshaped keystore is one ConfigError or
KeyUnavailable naming the file, in `load_account` and in `keystore_address` (keys list); never a
JSONDecodeError or KeyError. Random and mutated bytes included (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import eth_account
import eth_keyfile.keyfile
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from creditshare.core import keys
from creditshare.core.errors import ConfigError, CreditShareError, KeyUnavailable

KEY = "0x" + "42" * 32


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CREDITSHARE_PASSWORD", "pw")
    monkeypatch.setenv("CREDITSHARE_SCRYPT_N", "16")
    monkeypatch.delenv("CREDITSHARE_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("CREDITSHARE_PASSWORD_FILE", raising=False)
    keys.create_keystore(tmp_path, "good", private_key=KEY)
    return tmp_path


def valid(folder: Path) -> dict:
    return json.loads((folder / "good.json").read_text())


def test_a_good_keystore_loads(folder):
    account = keys.load_account(folder, "good")
    assert account.key.hex().removeprefix("0x") == KEY[2:]
    assert keys.keystore_address(folder, "good") == account.address
    assert keys.list_keystores(folder) == {"good": account.address}


def test_a_keystore_whose_iv_starts_with_zero_bytes_loads(folder, monkeypatch):
    """eth-account writes the IV as a number, so an IV with leading zero bytes is shorter than 32 hex digits
    (about 1 new key in 256): such a keystore is valid and must load."""
    real = eth_keyfile.keyfile.Random.get_random_bytes
    monkeypatch.setattr(
        eth_keyfile.keyfile.Random, "get_random_bytes", lambda n: b"\x00\x00" + real(n - 2) if n == 16 else real(n)
    )
    document = eth_account.Account.encrypt(KEY, "pw", kdf="scrypt", iterations=16)
    assert len(document["crypto"]["cipherparams"]["iv"]) < 32
    (folder / "short.json").write_text(json.dumps(document))
    assert keys.load_account(folder, "short").address == keys.load_account(folder, "good").address


def damage(folder: Path, change) -> None:  # noqa: ANN001 - edits the parsed keystore
    document = valid(folder)
    change(document)
    (folder / "bad.json").write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: (f / "bad.json").write_text((f / "good.json").read_text()[:100]), "not JSON .* at line 1, column"),
        (lambda f: (f / "bad.json").write_bytes(b'{"address": "caf\xe9"}'), "byte 0xE9 on line 1 is not UTF-8"),
        (lambda f: (f / "bad.json").write_text(""), "not JSON"),
        (lambda f: (f / "bad.json").write_text("[" * 100_000), "not a keystore JSON document"),
        (lambda f: (f / "bad.json").write_text("[]"), "not a JSON object"),
        (lambda f: (f / "bad.json").mkdir(), "cannot read keystore .*bad.json: Is a directory"),
        (lambda f: damage(f, lambda d: d.pop("crypto")), "no 'crypto' section"),
        (lambda f: damage(f, lambda d: d.pop("address")), "no address"),
        (lambda f: damage(f, lambda d: d.update(version=1)), "not a version 3 keystore"),
        (lambda f: damage(f, lambda d: d["crypto"].update(cipher="aes-256-gcm")), "cipher is not aes-128-ctr"),
        (lambda f: damage(f, lambda d: d["crypto"].update(mac="zz")), "bad crypto.mac"),
        (lambda f: damage(f, lambda d: d["crypto"].update(kdf="argon2")), "neither scrypt nor pbkdf2"),
        (lambda f: damage(f, lambda d: d["crypto"].pop("cipherparams")), "no crypto.cipherparams.iv"),
        (lambda f: damage(f, lambda d: d["crypto"]["kdfparams"].update(n=2**30)), "power of two <= 2\\^20"),
        (lambda f: damage(f, lambda d: d["crypto"]["kdfparams"].update(n=2**20, r=8)), "r is missing or too large"),
        (lambda f: damage(f, lambda d: d["crypto"]["kdfparams"].update(dklen=2**40)), "dklen must be 32"),
    ],
)
def test_a_damaged_keystore_is_one_error_naming_the_file(folder, make, message):
    make(folder)
    for read in (lambda: keys.load_account(folder, "bad"), lambda: keys.keystore_address(folder, "bad")):
        with pytest.raises(ConfigError, match=message) as info:
            read()
        assert str(folder / "bad.json") in str(info.value)
    with pytest.raises(ConfigError, match=message):
        keys.list_keystores(folder)


def test_wrong_password_and_a_key_that_is_not_its_address(folder, monkeypatch):
    monkeypatch.setenv("CREDITSHARE_PASSWORD", "other")
    with pytest.raises(KeyUnavailable, match="cannot unlock keystore 'good': wrong password"):
        keys.load_account(folder, "good")
    monkeypatch.setenv("CREDITSHARE_PASSWORD", "pw")
    damage(folder, lambda d: d.update(address="11" * 20))
    with pytest.raises(KeyUnavailable, match="is damaged: its key is not its address"):
        keys.load_account(folder, "bad")


def test_environment_faults_are_config_errors(folder, monkeypatch, tmp_path):
    monkeypatch.setenv("CREDITSHARE_SCRYPT_N", "lots")
    with pytest.raises(ConfigError, match="CREDITSHARE_SCRYPT_N must be a power of two from 2 to 262144; got .lots."):
        keys.create_keystore(folder, "n")
    monkeypatch.setenv("CREDITSHARE_SCRYPT_N", "16")
    monkeypatch.delenv("CREDITSHARE_PASSWORD")
    (tmp_path / "pw").write_bytes(b"\xff\xfe")
    monkeypatch.setenv("CREDITSHARE_PASSWORD_FILE", str(tmp_path / "pw"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        keys.read_password()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot write keystore .*file/keystore/k.json"):
        keys.create_keystore(blocker / "keystore", "k", private_key=KEY, password="pw")


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["set", "delete", "truncate"]))
        if op == "set":
            data[at] = draw(st.sampled_from(b'{}[]",:0123456789abcdefx \x00\xe9'))
        elif op == "delete":
            del data[at]
        else:
            del data[at:]
            break
    return bytes(data)


ORIGINAL = json.dumps(
    {
        "address": "c5a3c1a4d55e3f1d6f0f8f1f1c0e0b3a31d4d0b8",
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": "00" * 16},
            "ciphertext": "11" * 32,
            "kdf": "scrypt",
            "kdfparams": {"dklen": 32, "n": 16, "r": 8, "p": 1, "salt": "22" * 16},
            "mac": "33" * 32,
        },
        "id": "a0c4b8b2-0000-4000-8000-000000000000",
        "version": 3,
    }
).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), mutated(ORIGINAL)))
@example(data=ORIGINAL)
def test_any_bytes_as_a_keystore_raise_only_creditshare_errors(folder, data):
    (folder / "fuzz.json").write_bytes(data)
    for read in (lambda: keys.load_account(folder, "fuzz"), lambda: keys.keystore_address(folder, "fuzz")):
        try:
            read()
        except CreditShareError as err:
            assert "fuzz" in str(err)


def test_keys_list_names_every_damaged_keystore(folder):
    (folder / "a.json").write_text("{")
    (folder / "b.json").write_text("[]")
    with pytest.raises(keys.DamagedKeystores, match="2 keystores in .* are damaged") as info:
        keys.list_keystores(folder)
    assert [e.split(" is damaged")[0] for e in info.value.errors] == [
        f"keystore {folder / 'a.json'}",
        f"keystore {folder / 'b.json'}",
    ]
