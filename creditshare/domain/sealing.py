"""Private details of a credit-list entry: sealed with AES-GCM, keys wrapped with ECIES.

On a consortium chain every node sees contract state, so an entry's details
beyond its public facts are sealed off chain:

- ``seal`` encrypts the details with a fresh 256-bit content key (AES-256-GCM,
  96-bit nonce, the subject id as associated data). The sealed blob goes into the
  evidence store under its CIDv1; the chain holds ``keccak256(blob)`` as the
  entry's ``detailsCommitment``.
- The content key never leaves the store in clear: it is wrapped (ECIES on
  secp256k1: ephemeral ECDH, HKDF-SHA256, AES-256-GCM, from the ``eciespy``
  package) to the public key of each account allowed to read it. The maintainer
  keeps a copy wrapped to itself; the key-release step unwraps it and wraps it
  again to a viewer who paid.
- A viewer's public key is recovered from the signature of its own paying
  ``viewSubject`` transaction, so the key that paid is the key that can read, and
  nothing has to be published.

Store layout under the evidence folder::

    <cid>                              sealed blobs (and evidence files), content-addressed
    sealed/<commitment>/blob.cid       the CID of the entry's sealed blob
    sealed/<commitment>/<address>.json the content key wrapped to <address>
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ecies
import rlp
from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from eth_keys import keys as eth_keys
from eth_utils import keccak, to_checksum_address

from creditshare.core.errors import DetailsUnavailable, InvalidInput
from creditshare.domain import evidence as ev

MAGIC = b"CSSEAL1\x00"
NONCE_BYTES = 12
TAG_BYTES = 16
WRAP_SCHEME = "ecies-secp256k1/hkdf-sha256/aes-256-gcm (eciespy 0.4.7)"


def details_aad(subject: bytes) -> bytes:
    """Associated data: a blob sealed for one subject does not open as another's."""
    return b"creditshare:details:" + subject


def seal(details: bytes, subject: bytes) -> tuple[bytes, bytes]:
    """(content key, sealed blob) for `details` about `subject`."""
    key = get_random_bytes(32)
    nonce = get_random_bytes(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(details_aad(subject))
    ciphertext, tag = cipher.encrypt_and_digest(details)
    return key, MAGIC + nonce + tag + ciphertext


def open_sealed(blob: bytes, key: bytes, subject: bytes) -> bytes:
    """The details inside a sealed blob; DetailsUnavailable if the key or the blob is wrong."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + TAG_BYTES:
        raise DetailsUnavailable("the sealed details blob is malformed.")
    body = blob[len(MAGIC) :]
    nonce, tag, ciphertext = (
        body[:NONCE_BYTES],
        body[NONCE_BYTES : NONCE_BYTES + TAG_BYTES],
        body[NONCE_BYTES + TAG_BYTES :],
    )
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
    cipher.update(details_aad(subject))
    try:
        return cipher.decrypt_and_verify(ciphertext, tag)
    except ValueError as err:
        raise DetailsUnavailable("the details do not decrypt with this key (wrong key or tampered blob).") from err


def commitment(blob: bytes) -> bytes:
    """The on-chain `detailsCommitment` of a sealed blob."""
    return keccak(blob)


# -- key wrapping ---------------------------------------------------------------------------------


def public_key_of(private_key: bytes) -> bytes:
    """The 64-byte uncompressed public key (no 0x04 prefix) of a private key."""
    return eth_keys.PrivateKey(private_key).public_key.to_bytes()


def address_of(public_key: bytes) -> str:
    return str(eth_keys.PublicKey(public_key).to_checksum_address())


def wrap_key(content_key: bytes, public_key: bytes) -> bytes:
    """`content_key` encrypted to `public_key` (ECIES on secp256k1)."""
    if len(public_key) != 64:
        raise InvalidInput(f"a secp256k1 public key has 64 bytes here; got {len(public_key)}.")
    return bytes(ecies.encrypt(b"\x04" + public_key, content_key))


def unwrap_key(wrapped: bytes, private_key: bytes) -> bytes:
    """The content key inside `wrapped`; DetailsUnavailable if it was wrapped to another key."""
    try:
        return bytes(ecies.decrypt(private_key, wrapped))
    except (ValueError, TypeError) as err:
        raise DetailsUnavailable("the content key was not wrapped to this account's key.") from err


def recover_sender_public_key(tx: Mapping[str, Any]) -> bytes:
    """The public key that signed a transaction, as `eth_getTransactionByHash` returns it.

    Legacy (EIP-155 or not) and typed (EIP-2930/1559) transactions. The result is
    checked against the transaction's `from`.
    """
    tx_type = int(tx.get("type", 0) or 0)
    r, s = _int(tx["r"]), _int(tx["s"])
    to = _bytes(tx["to"]) if tx.get("to") else b""
    data = _bytes(tx["input"])
    if tx_type == 0:
        v = int(tx["v"])
        fields = [int(tx["nonce"]), int(tx["gasPrice"]), int(tx["gas"]), to, int(tx["value"]), data]
        if v >= 35:
            chain_id = (v - 35) // 2
            recovery = v - 35 - 2 * chain_id
            fields += [chain_id, 0, 0]
        else:
            recovery = v - 27
        msg_hash = keccak(rlp.encode(fields))
    else:
        from eth_account.typed_transactions import TypedTransaction

        unsigned: dict[str, Any] = {
            "type": tx_type,
            "chainId": int(tx["chainId"]),
            "nonce": int(tx["nonce"]),
            "gas": int(tx["gas"]),
            "to": to_checksum_address(tx["to"]) if tx.get("to") else b"",
            "value": int(tx["value"]),
            "data": data,
            "accessList": list(tx.get("accessList") or []),
        }
        if tx_type == 1:
            unsigned["gasPrice"] = int(tx["gasPrice"])
        else:
            unsigned["maxFeePerGas"] = int(tx["maxFeePerGas"])
            unsigned["maxPriorityFeePerGas"] = int(tx["maxPriorityFeePerGas"])
        msg_hash = TypedTransaction.from_dict(unsigned).hash()
        recovery = int(tx.get("yParity", tx["v"]))
    public = eth_keys.Signature(vrs=(recovery, r, s)).recover_public_key_from_msg_hash(msg_hash)
    if public.to_checksum_address() != to_checksum_address(tx["from"]):
        raise DetailsUnavailable(f"could not recover the public key of {tx['from']} from its transaction.")
    return bytes(public.to_bytes())


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int.from_bytes(_bytes(value), "big")


def _bytes(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


# -- the store --------------------------------------------------------------------------------------


class SealedStore:
    """Sealed blobs and wrapped keys in the evidence folder (see the module docstring)."""

    def __init__(self, evidence_dir: Path) -> None:
        self.root = evidence_dir

    def _dir(self, commitment_: bytes) -> Path:
        return self.root / "sealed" / ("0x" + commitment_.hex())

    def put_blob(self, blob: bytes) -> tuple[bytes, str]:
        """Stores a sealed blob; returns (commitment, CID)."""
        cid = ev.store(self.root, blob)
        c = commitment(blob)
        folder = self._dir(c)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / "blob.cid", cid.encode())
        return c, cid

    def cid(self, commitment_: bytes) -> str | None:
        path = self._dir(commitment_) / "blob.cid"
        return path.read_text().strip() if path.exists() else None

    def blob(self, commitment_: bytes) -> bytes:
        """The sealed blob with this commitment, checked against it."""
        cid = self.cid(commitment_)
        if cid is None:
            raise DetailsUnavailable(
                f"the sealed details 0x{commitment_.hex()} are not in the evidence store {self.root}."
            )
        blob = ev.load(self.root, cid)
        if commitment(blob) != commitment_:
            raise DetailsUnavailable(f"the stored blob {cid} does not match the on-chain commitment.")
        return blob

    def has_key(self, commitment_: bytes, address: str) -> bool:
        return (self._dir(commitment_) / f"{to_checksum_address(address)}.json").exists()

    def put_key(self, commitment_: bytes, address: str, wrapped: bytes, **meta: Any) -> None:
        address = to_checksum_address(address)
        body = {
            "commitment": "0x" + commitment_.hex(),
            "recipient": address,
            "scheme": WRAP_SCHEME,
            "wrapped_key": "0x" + wrapped.hex(),
            **meta,
        }
        folder = self._dir(commitment_)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / f"{address}.json", (json.dumps(body, indent=1) + "\n").encode())

    def key(self, commitment_: bytes, address: str) -> bytes | None:
        path = self._dir(commitment_) / f"{to_checksum_address(address)}.json"
        if not path.exists():
            return None
        try:
            return bytes.fromhex(json.loads(path.read_text())["wrapped_key"][2:])
        except (ValueError, KeyError) as err:
            raise DetailsUnavailable(f"{path} is not a key-release file.") from err


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
