"""Sealed entry details: AES-GCM sealing bound to the subject, ECIES key wrapping, public-key recovery from a
signed transaction (every type the test chain accepts: legacy, EIP-2930, EIP-1559, EIP-4844, EIP-7702, sent for
real to Anvil; an impersonated one and unknown types refused), and the evidence store layout."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.core.errors import DetailsUnavailable, InvalidInput
from creditshare.core.ids import subject_id
from creditshare.domain import sealing as sealed

SUBJECT = subject_id("uscc:DEBTOR1")
VIEWER = Account.from_key("0x" + "22" * 32)
OTHER = Account.from_key("0x" + "33" * 32)


@given(details=st.binary(max_size=2048))
@settings(max_examples=30, deadline=None)
def test_seal_then_open_round_trips(details):
    key, blob = sealed.seal(details, SUBJECT)
    assert sealed.open_sealed(blob, key, SUBJECT) == details
    assert len(blob) == len(sealed.MAGIC) + 12 + 16 + len(details)


def test_each_seal_uses_a_fresh_key_and_nonce():
    (k1, b1), (k2, b2) = sealed.seal(b"same", SUBJECT), sealed.seal(b"same", SUBJECT)
    assert k1 != k2 and b1 != b2 and sealed.commitment(b1) != sealed.commitment(b2)


def test_wrong_key_subject_or_tampering_is_refused():
    key, blob = sealed.seal(b"invoice INV-1 unpaid", SUBJECT)
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(blob, bytes(32), SUBJECT)
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(blob, key, subject_id("uscc:DEBTOR2"))
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(tampered, key, SUBJECT)
    with pytest.raises(DetailsUnavailable, match="malformed"):
        sealed.open_sealed(b"nonsense", key, SUBJECT)


def test_wrapped_key_opens_only_with_the_recipients_key():
    content = bytes(range(32))
    wrapped = sealed.wrap_key(content, sealed.public_key_of(bytes(VIEWER.key)))
    assert sealed.unwrap_key(wrapped, bytes(VIEWER.key)) == content
    with pytest.raises(DetailsUnavailable, match="not wrapped to this account's key"):
        sealed.unwrap_key(wrapped, bytes(OTHER.key))
    with pytest.raises(InvalidInput):
        sealed.wrap_key(content, b"\x04" * 10)


def test_public_key_is_recovered_from_a_legacy_eip155_transaction():
    tx = {
        "nonce": 7,
        "gasPrice": 0,
        "gas": 90_000,
        "to": to_checksum_address("0x" + "ab" * 20),
        "value": 0,
        "data": b"\x12\x34",
        "chainId": 31337,
    }
    raw = VIEWER.sign_transaction(tx).raw_transaction
    nonce, gas_price, gas, to, value, data, v, r, s = rlp.decode(raw)
    as_node_returns = {
        "type": 0,
        "nonce": 7,
        "gasPrice": 0,
        "gas": 90_000,
        "to": "0x" + to.hex(),
        "value": 0,
        "input": data,
        "v": int.from_bytes(v, "big"),
        "r": r,
        "s": s,
        "from": VIEWER.address,
    }
    public = sealed.recover_sender_public_key(as_node_returns)
    assert public == sealed.public_key_of(bytes(VIEWER.key))
    assert sealed.address_of(public) == VIEWER.address
    with pytest.raises(DetailsUnavailable):
        sealed.recover_sender_public_key({**as_node_returns, "from": OTHER.address})


def test_public_key_is_recovered_from_an_eip1559_transaction():
    tx = {
        "type": 2,
        "chainId": 31337,
        "nonce": 3,
        "maxFeePerGas": 10,
        "maxPriorityFeePerGas": 1,
        "gas": 50_000,
        "to": to_checksum_address("0x" + "cd" * 20),
        "value": 5,
        "data": b"\x01",
        "accessList": [],
    }
    raw = VIEWER.sign_transaction(tx).raw_transaction
    signed = TypedTransaction.from_bytes(raw).as_dict()
    as_node_returns = {**signed, "input": signed["data"], "yParity": signed["v"], "from": VIEWER.address}
    assert sealed.recover_sender_public_key(as_node_returns) == sealed.public_key_of(bytes(VIEWER.key))


def test_store_keeps_blobs_by_cid_and_checks_the_commitment(tmp_path):
    store = sealed.SealedStore(tmp_path)
    _key, blob = sealed.seal(b"details", SUBJECT)
    commitment, cid = store.put_blob(blob)
    assert (tmp_path / cid).read_bytes() == blob and store.blob(commitment) == blob
    assert store.put_blob(blob) == (commitment, cid)  # idempotent
    assert not store.has_key(commitment, VIEWER.address) and store.key(commitment, VIEWER.address) is None
    store.put_key(commitment, VIEWER.address, b"\x01\x02", role="viewer")
    assert store.key(commitment, VIEWER.address) == b"\x01\x02"
    (tmp_path / cid).write_bytes(blob + b"x")
    with pytest.raises(InvalidInput, match="does not match its CID"):
        store.blob(commitment)
    with pytest.raises(DetailsUnavailable, match="not in the evidence store"):
        store.blob(bytes(32))


# -- recovery from real transactions of every type the chain accepts ------------------------------------------

TARGET = to_checksum_address("0x" + "ab" * 20)


def _send(web3, tx: dict, **kwargs) -> dict:
    nonce = web3.eth.get_transaction_count(VIEWER.address)
    body = {"chainId": 31337, "nonce": nonce, "gas": 100_000, "to": TARGET, "value": 0, "data": b"\x12\x34", **tx}
    sent = web3.eth.send_raw_transaction(VIEWER.sign_transaction(body, **kwargs).raw_transaction)
    assert web3.eth.wait_for_transaction_receipt(sent)["status"] == 1
    return sent


DYNAMIC = {"maxFeePerGas": 10, "maxPriorityFeePerGas": 0}


@pytest.mark.chain
@pytest.mark.parametrize(
    "tx, kwargs",
    [
        ({"gasPrice": 0}, {}),
        ({"type": 1, "gasPrice": 0, "accessList": [{"address": TARGET, "storageKeys": ["0x" + "00" * 31 + "01"]}]}, {}),
        ({"type": 2, **DYNAMIC, "accessList": []}, {}),
        ({"type": 3, **DYNAMIC, "maxFeePerBlobGas": 10}, {"blobs": [bytes(131_072)]}),
        ("type4", {}),
    ],
    ids=["legacy", "eip2930", "eip1559", "eip4844", "eip7702"],
)
def test_public_key_is_recovered_from_a_real_transaction_of_every_type(tx, kwargs):
    from brownie import accounts, web3

    accounts[0].transfer(VIEWER.address, 10**18)  # blob gas has a price even on a zero-fee chain
    if tx == "type4":
        authority = Account.from_key("0x" + "44" * 32)
        auth = authority.sign_authorization({"chainId": 31337, "address": "0x" + "cd" * 20, "nonce": 0})
        tx = {"type": 4, **DYNAMIC, "authorizationList": [auth]}
    sent = _send(web3, tx, **kwargs)
    fetched = web3.eth.get_transaction(sent)
    raw = web3.provider.make_request("eth_getTransactionByHash", ["0x" + bytes(sent).hex()])["result"]
    assert int(fetched["type"]) == tx.get("type", 0) and int(raw["type"], 16) == tx.get("type", 0)
    mine = sealed.public_key_of(bytes(VIEWER.key))
    # web3's formatted transaction and the node's raw JSON both work
    assert sealed.recover_sender_public_key(fetched) == mine == sealed.recover_sender_public_key(raw)


@pytest.mark.chain
def test_an_impersonated_transaction_recovers_no_key():
    from brownie import web3

    sender = to_checksum_address("0x" + "77" * 20)
    web3.provider.make_request("anvil_impersonateAccount", [sender])
    try:
        sent = web3.eth.send_transaction({"from": sender, "to": TARGET, "value": 0, "gasPrice": 0})
    finally:
        web3.provider.make_request("anvil_stopImpersonatingAccount", [sender])
    web3.eth.wait_for_transaction_receipt(sent)
    with pytest.raises(DetailsUnavailable, match="could not recover the public key of " + sender):
        sealed.recover_sender_public_key(web3.eth.get_transaction(sent))


@pytest.mark.parametrize("tx_type", [5, 0x7E, 0xFF])
def test_a_transaction_type_without_a_known_signing_hash_is_refused(tx_type):
    tx = {"type": tx_type, "from": VIEWER.address, "r": 1, "s": 1, "nonce": 0, "input": "0x", "to": None}
    with pytest.raises(DetailsUnavailable, match=f"transaction type {tx_type} .* is not one whose signing hash"):
        sealed.recover_sender_public_key(tx)


def test_a_malformed_transaction_is_refused_not_crashed():
    with pytest.raises(DetailsUnavailable, match="could not recover"):
        sealed.recover_sender_public_key({"type": 2, "from": VIEWER.address, "r": 1, "s": 1})


# -- signed releases and the shared-point proof behind bad-key proofs -------------------------------------------


def test_the_shared_point_proof_holds_only_for_the_recipients_key():
    content = bytes(range(32))
    wrapped = sealed.wrap_key(content, sealed.public_key_of(bytes(VIEWER.key)))
    proof = sealed.prove_shared_point(wrapped, bytes(VIEWER.key))
    shared = sealed.check_shared_point(wrapped, sealed.public_key_of(bytes(VIEWER.key)), proof)
    assert sealed.unwrap_with_shared_point(wrapped, shared) == content  # the same derivation as eciespy's decrypt
    with pytest.raises(InvalidInput, match="does not hold"):
        sealed.check_shared_point(wrapped, sealed.public_key_of(bytes(OTHER.key)), proof)
    # OTHER can prove its own point, but it does not decrypt a key wrapped to VIEWER
    theirs = sealed.prove_shared_point(wrapped, bytes(OTHER.key))
    with pytest.raises(DetailsUnavailable, match="does not decrypt"):
        sealed.unwrap_with_shared_point(
            wrapped, sealed.check_shared_point(wrapped, sealed.public_key_of(bytes(OTHER.key)), theirs)
        )
    with pytest.raises(InvalidInput, match="malformed"):
        sealed.check_shared_point(wrapped, sealed.public_key_of(bytes(VIEWER.key)), {"z": "nope"})


def test_a_key_release_signature_binds_every_field():
    fields = (31337, "0x" + "ab" * 20, 3, OTHER.address, b"\x01" * 32, b"wrapped")
    signature = sealed.sign_key_release(bytes(VIEWER.key), *fields)
    assert sealed.key_release_signer(signature, *fields) == VIEWER.address
    for i, changed in enumerate((1, "0x" + "ac" * 20, 4, VIEWER.address, b"\x02" * 32, b"other")):
        moved = list(fields)
        moved[i] = changed
        assert sealed.key_release_signer(signature, *moved) != VIEWER.address
    with pytest.raises(DetailsUnavailable, match="malformed"):
        sealed.key_release_signer(b"\x01\x02", *fields)
