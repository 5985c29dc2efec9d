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

import coincurve
import ecies
import rlp
from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from ecies.utils import hash as ecies_hash
from ecies.utils import symmetric as ecies_symmetric
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys import exceptions as eth_exceptions
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


# -- signed releases and bad-key proofs ---------------------------------------------------------------

KEY_RELEASE_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "KeyRelease": [
        {"name": "entryId", "type": "uint256"},
        {"name": "viewer", "type": "address"},
        {"name": "detailsCommitment", "type": "bytes32"},
        {"name": "wrappedKeyHash", "type": "bytes32"},
    ],
}
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
EPHEMERAL_BYTES = 65  # eciespy 0.4.7 default: uncompressed ephemeral key, then a 16-byte nonce, tag, ciphertext


def key_release_message(
    chain_id: int, credit_list: str, entry_id: int, viewer: str, commitment_: bytes, wrapped: bytes
) -> SignableMessage:
    """The EIP-712 message a maintainer signs for each wrapped key it releases: bound to the chain, the
    CreditList contract, the entry, the viewer, the entry's on-chain details commitment and the exact wrapped
    key, so the signature shows to anyone which key that maintainer gave that viewer for that entry."""
    return encode_typed_data(
        full_message={
            "types": KEY_RELEASE_TYPES,
            "primaryType": "KeyRelease",
            "domain": {
                "name": "CreditShare CreditList key release",
                "version": "1",
                "chainId": chain_id,
                "verifyingContract": to_checksum_address(credit_list),
            },
            "message": {
                "entryId": entry_id,
                "viewer": to_checksum_address(viewer),
                "detailsCommitment": commitment_,
                "wrappedKeyHash": keccak(wrapped),
            },
        }
    )


def sign_key_release(private_key: bytes, *fields: Any) -> bytes:
    """The maintainer's signature of `key_release_message(*fields)`."""
    return bytes(Account.sign_message(key_release_message(*fields), private_key).signature)


def key_release_signer(signature: bytes, *fields: Any) -> str:
    """The address that signed `key_release_message(*fields)`; DetailsUnavailable for a malformed signature."""
    try:
        return str(Account.recover_message(key_release_message(*fields), signature=signature))
    except (ValueError, TypeError, eth_exceptions.BadSignature, eth_exceptions.ValidationError) as err:
        raise DetailsUnavailable(f"the key release signature is malformed: {err}") from err


def _point(data: bytes) -> coincurve.PublicKey:
    try:
        return coincurve.PublicKey(data if len(data) != 64 else b"\x04" + data)
    except (ValueError, TypeError) as err:
        raise InvalidInput(f"not a secp256k1 point: 0x{data.hex()[:20]}...") from err


def _scalar(value: int) -> bytes:
    return (value % SECP256K1_N).to_bytes(32, "big")


def _challenge(*points: bytes) -> int:
    return int.from_bytes(keccak(b"creditshare:dleq:v1" + b"".join(points)), "big") % SECP256K1_N


def prove_shared_point(wrapped: bytes, private_key: bytes) -> dict[str, str]:
    """Reveals the ECDH point S = x*E of a wrapped key (E its ephemeral key, x the recipient's private key) with
    a Chaum-Pedersen proof that log_G(X) = log_E(S), X the recipient's public key: anyone can then derive the
    wrapping key and see what the wrapped key holds, and no one learns x."""
    ephemeral = _point(wrapped[:EPHEMERAL_BYTES])
    x = int.from_bytes(private_key, "big")
    shared = ephemeral.multiply(_scalar(x)).format(compressed=False)
    public = coincurve.PublicKey.from_secret(_scalar(x)).format(compressed=False)
    r = int.from_bytes(get_random_bytes(32), "big") % (SECP256K1_N - 1) + 1
    a = coincurve.PublicKey.from_secret(_scalar(r)).format(compressed=False)
    b = ephemeral.multiply(_scalar(r)).format(compressed=False)
    c = _challenge(public, ephemeral.format(compressed=False), shared, a, b)
    z = (r + c * x) % SECP256K1_N
    return {"shared_point": "0x" + shared.hex(), "a": "0x" + a.hex(), "b": "0x" + b.hex(), "z": hex(z)}


def check_shared_point(wrapped: bytes, public_key: bytes, proof: Mapping[str, str]) -> bytes:
    """The proven ECDH point of `wrapped` for `public_key` (see prove_shared_point); InvalidInput if the proof
    does not hold."""
    try:
        shared, a, b = (bytes.fromhex(proof[k][2:]) for k in ("shared_point", "a", "b"))
        z = int(proof["z"], 16)
    except (KeyError, ValueError, TypeError) as err:
        raise InvalidInput(f"the shared-point proof is malformed: {err}") from err
    ephemeral = _point(wrapped[:EPHEMERAL_BYTES])
    public = _point(public_key)
    c = _challenge(public.format(compressed=False), ephemeral.format(compressed=False), shared, a, b)
    if not 0 < z < SECP256K1_N or c == 0:
        raise InvalidInput("the shared-point proof is out of range.")
    left_g = coincurve.PublicKey.from_secret(_scalar(z)).format(compressed=False)
    right_g = coincurve.PublicKey.combine_keys([_point(a), public.multiply(_scalar(c))]).format(compressed=False)
    left_e = ephemeral.multiply(_scalar(z)).format(compressed=False)
    right_e = coincurve.PublicKey.combine_keys([_point(b), _point(shared).multiply(_scalar(c))]).format(
        compressed=False
    )
    if left_g != right_g or left_e != right_e:
        raise InvalidInput("the shared-point proof does not hold: the point was not derived with the viewer's key.")
    return shared


def unwrap_with_shared_point(wrapped: bytes, shared_point: bytes) -> bytes:
    """The content key inside `wrapped`, given its proven ECDH point (eciespy 0.4.7: HKDF-SHA256 over the
    uncompressed ephemeral key and shared point, AES-256-GCM with a 16-byte nonce); DetailsUnavailable if the
    wrapped key does not authenticate under it."""
    sym_key = ecies_hash.derive_key(wrapped[:EPHEMERAL_BYTES] + shared_point)
    try:
        return bytes(ecies_symmetric.sym_decrypt(sym_key, wrapped[EPHEMERAL_BYTES:]))
    except (ValueError, TypeError) as err:
        raise DetailsUnavailable("the wrapped key does not decrypt for its recipient.") from err


RECOVERABLE_TX_TYPES = {0: "legacy", 1: "EIP-2930", 2: "EIP-1559", 3: "EIP-4844", 4: "EIP-7702"}


def recover_sender_public_key(tx: Mapping[str, Any]) -> bytes:
    """The public key that signed a transaction, as `eth_getTransactionByHash` returns it.

    The signing hash is rebuilt for every transaction type an Ethereum node accepts today
    (RECOVERABLE_TX_TYPES): legacy (EIP-155 or not), and the typed envelopes
    ``keccak(type || rlp(unsigned fields))`` of EIP-2930, EIP-1559, EIP-4844 (blob) and EIP-7702 (set code).
    The result is checked against the transaction's `from`. Any other type, a missing field, or a signature
    that does not recover to `from` (a node's impersonated transaction, for one) raises DetailsUnavailable:
    a key release skips that view and goes on with the others.
    """
    try:
        tx_type = _int(tx.get("type", 0) or 0)
        if tx_type not in RECOVERABLE_TX_TYPES:
            raise DetailsUnavailable(
                f"transaction type {tx_type} of {tx.get('from')} is not one whose signing hash can be rebuilt "
                f"({', '.join(f'{t} {n}' for t, n in RECOVERABLE_TX_TYPES.items())}): its public key is unknown."
            )
        msg_hash, recovery = _signing_hash(tx, tx_type)
        public = eth_keys.Signature(vrs=(recovery, _int(tx["r"]), _int(tx["s"]))).recover_public_key_from_msg_hash(
            msg_hash
        )
    except DetailsUnavailable:
        raise
    except (KeyError, TypeError, ValueError, eth_exceptions.ValidationError, eth_exceptions.BadSignature) as err:
        raise DetailsUnavailable(
            f"could not recover the public key of {tx.get('from')} from its transaction: {type(err).__name__}: {err}"
        ) from err
    if public.to_checksum_address() != to_checksum_address(tx["from"]):
        raise DetailsUnavailable(
            f"could not recover the public key of {tx['from']} from its transaction: its signature recovers "
            f"{public.to_checksum_address()} (an impersonated or re-signed transaction)."
        )
    return bytes(public.to_bytes())


def _signing_hash(tx: Mapping[str, Any], tx_type: int) -> tuple[bytes, int]:
    """(the hash the sender signed, the signature's recovery id 0/1)."""
    to = _bytes(tx["to"]) if tx.get("to") else b""
    common = [_int(tx["nonce"])]
    if tx_type == 0:
        v = _int(tx["v"])
        fields = [*common, _int(tx["gasPrice"]), _int(tx["gas"]), to, _int(tx["value"]), _bytes(tx["input"])]
        if v >= 35:
            chain_id = (v - 35) // 2
            recovery = v - 35 - 2 * chain_id
            fields += [chain_id, 0, 0]
        else:
            recovery = v - 27
        return keccak(rlp.encode(fields)), recovery
    fees = [_int(tx["gasPrice"])] if tx_type == 1 else [_int(tx["maxPriorityFeePerGas"]), _int(tx["maxFeePerGas"])]
    access = [
        [_bytes(item["address"]), [_bytes(k) for k in item.get("storageKeys") or []]]
        for item in tx.get("accessList") or []
    ]
    fields = [
        _int(tx["chainId"]),
        *common,
        *fees,
        _int(tx["gas"]),
        to,
        _int(tx["value"]),
        _bytes(tx["input"]),
        access,
    ]
    if tx_type == 3:
        fields += [_int(tx["maxFeePerBlobGas"]), [_bytes(h) for h in tx["blobVersionedHashes"]]]
    elif tx_type == 4:
        fields.append(
            [
                [
                    _int(a["chainId"]),
                    _bytes(a["address"]),
                    _int(a["nonce"]),
                    _int(a["yParity"]),
                    _int(a["r"]),
                    _int(a["s"]),
                ]
                for a in tx["authorizationList"]
            ]
        )
    recovery = _int(tx["yParity"]) if tx.get("yParity") is not None else _int(tx["v"])
    return keccak(bytes([tx_type]) + rlp.encode(fields)), recovery


def _int(value: Any) -> int:
    """An integer field as a node (0x hex quantity) or web3 (int, HexBytes) gives it."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16)
    return int.from_bytes(bytes(value), "big")


def _bytes(value: Any) -> bytes:
    """A data field (0x hex string or bytes); an odd-length hex string is padded like a quantity."""
    if isinstance(value, str):
        text = value[2:] if value.startswith("0x") else value
        return bytes.fromhex(text.rjust(len(text) + len(text) % 2, "0"))
    return bytes(value)


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
        record = self.key_record(commitment_, address)
        return None if record is None else bytes.fromhex(record["wrapped_key"][2:])

    def key_record(self, commitment_: bytes, address: str) -> dict[str, Any] | None:
        """The key-release file of `address` (wrapped key, and for a viewer the maintainer's signature)."""
        path = self._dir(commitment_) / f"{to_checksum_address(address)}.json"
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            bytes.fromhex(record["wrapped_key"][2:])
        except (ValueError, KeyError, TypeError) as err:
            raise DetailsUnavailable(f"{path} is not a key-release file.") from err
        if not isinstance(record, dict):
            raise DetailsUnavailable(f"{path} is not a key-release file.")
        return record


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
