"""oracle.report without a chain: validation, the entries commitment, the EIP-712
digest (against a hand-built one and pinned vectors), signing and signature order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_canonical_address
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.core.errors import CreditShareError, InvalidInput
from oracle.report import (
    REPORT_TYPE,
    THRESHOLD_KEY,
    Entry,
    InvalidReport,
    InvalidSignature,
    ScoreReport,
    entries_root,
    order_signatures,
    reasons_hash,
    recover_signer,
    report_digest,
    sign_report,
    typed_data,
)

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN_ID = 31337
KEYS = [Account.from_key(keccak(text=f"unit oracle {i}")) for i in range(4)]
ENTRIES = [
    Entry(bytes(range(32)), 712, 2, reasons_hash(["late_payment", "short_history"])),
    Entry(b"\xff" * 32, 0, 0, b"\x00" * 32),
]
REPORT = ScoreReport.build(epoch=3, model_hash=b"\x11" * 32, as_of=1_767_225_600, expiry=1_767_229_200, entries=ENTRIES)
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

bytes32 = st.binary(min_size=32, max_size=32)
uint64 = st.integers(0, 2**64 - 1)
reports = st.builds(ScoreReport, epoch=uint64, model_hash=bytes32, as_of=uint64, expiry=uint64, entries_root=bytes32)


def word(value: int | bytes) -> bytes:
    return value.rjust(32, b"\x00") if isinstance(value, bytes) else value.to_bytes(32, "big")


def manual_digest(rep: ScoreReport, chain_id: int, contract: str) -> bytes:
    """EIP-712 by hand: 0x1901 || domainSeparator || hashStruct(report)."""
    domain_type = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    domain = keccak(
        domain_type
        + keccak(text="CreditShare ScoreOracle")
        + keccak(text="1")
        + word(chain_id)
        + word(to_canonical_address(contract))
    )
    struct = keccak(
        keccak(text=REPORT_TYPE)
        + word(rep.epoch)
        + rep.model_hash
        + word(rep.as_of)
        + word(rep.expiry)
        + rep.entries_root
    )
    return keccak(b"\x19\x01" + domain + struct)


# -- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score", 2**16, "score must be an integer in [0, 65535]; got 65536."),
        ("score", -1, "score must be an integer in [0, 65535]; got -1."),
        ("score", True, "score must be an integer in [0, 65535]; got True."),
        ("tier", 256, "tier must be an integer in [0, 255]; got 256."),
        ("subject", b"\x01" * 31, "subject must be 32 bytes"),
        ("reasons_hash", "0x" + "00" * 32, "reasons_hash must be 32 bytes"),
    ],
)
def test_entry_out_of_range_raises(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidReport, match=message.replace("[", r"\[").replace("]", r"\]")):
        replace(ENTRIES[0], **{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epoch", 2**64),
        ("as_of", -1),
        ("expiry", 1.5),
        ("model_hash", b""),
        ("entries_root", b"\x00" * 33),
    ],
)
def test_report_out_of_range_raises(field: str, value: object) -> None:
    with pytest.raises(InvalidReport, match=field):
        replace(REPORT, **{field: value})


def test_errors_share_the_creditshare_root() -> None:
    assert issubclass(InvalidReport, InvalidInput) and issubclass(InvalidReport, CreditShareError)
    assert issubclass(InvalidSignature, CreditShareError) and issubclass(InvalidSignature, ValueError)


def test_as_tuples_follow_abi_order() -> None:
    assert ENTRIES[0].as_tuple() == (bytes(range(32)), 712, 2, ENTRIES[0].reasons_hash)
    assert REPORT.as_tuple() == (3, b"\x11" * 32, 1_767_225_600, 1_767_229_200, REPORT.entries_root)


def test_threshold_key_is_the_governed_parameter_key() -> None:
    assert THRESHOLD_KEY == keccak(b"oracle.threshold")


# -- commitments -----------------------------------------------------------------------------


def test_reasons_hash_pinned_and_order_sensitive() -> None:
    assert reasons_hash(["late_payment", "short_history"]).hex() == (
        "7fa905566d6884004003d34dd6d1f62f891a4fa95aea85f908fa66d6151e0018"
    )
    assert reasons_hash(["short_history", "late_payment"]) != reasons_hash(["late_payment", "short_history"])
    assert reasons_hash([]) == keccak(word(0x20) + word(0))


def test_reasons_hash_rejects_a_bare_string() -> None:
    with pytest.raises(InvalidReport, match="sequence of strings"):
        reasons_hash("late_payment")


def test_entries_root_is_keccak_of_abi_encoded_array() -> None:
    body = b"".join(word(e.subject) + word(e.score) + word(e.tier) + e.reasons_hash for e in ENTRIES)
    assert entries_root(ENTRIES) == keccak(word(0x20) + word(len(ENTRIES)) + body)
    assert entries_root(ENTRIES).hex() == "34790069fe540c46f65966474429fddcee815d9f2bc08c792dade74f97a92d4b"


def test_entries_root_depends_on_order_and_every_field() -> None:
    root = entries_root(ENTRIES)
    assert entries_root(ENTRIES[::-1]) != root
    for field, value in (("score", 713), ("tier", 3), ("subject", b"\x02" * 32), ("reasons_hash", b"\x01" * 32)):
        assert entries_root([replace(ENTRIES[0], **{field: value}), ENTRIES[1]]) != root


def test_entries_root_of_no_entries_raises() -> None:
    with pytest.raises(InvalidReport, match="at least one entry"):
        entries_root([])


def test_build_commits_to_entries() -> None:
    assert REPORT.entries_root == entries_root(ENTRIES)


# -- digest ----------------------------------------------------------------------------------


def test_digest_pinned_vector() -> None:
    assert report_digest(REPORT, CHAIN_ID, CONTRACT).hex() == (
        "bc69d722e1eb93c16804512a2f60a7a09c220768e12552f345cdb16b2b7dbd78"
    )


@settings(max_examples=200)
@given(rep=reports, chain_id=st.integers(1, 2**64), contract=st.binary(min_size=20, max_size=20))
def test_digest_equals_hand_built_eip712(rep: ScoreReport, chain_id: int, contract: bytes) -> None:
    address = "0x" + contract.hex()
    assert report_digest(rep, chain_id, address) == manual_digest(rep, chain_id, address)


@settings(max_examples=100)
@given(rep=reports, other=reports)
def test_digest_differs_for_any_other_report(rep: ScoreReport, other: ScoreReport) -> None:
    if rep != other:
        assert report_digest(rep, CHAIN_ID, CONTRACT) != report_digest(other, CHAIN_ID, CONTRACT)


def test_digest_binds_chain_id_and_contract() -> None:
    d = report_digest(REPORT, CHAIN_ID, CONTRACT)
    assert report_digest(REPORT, 1, CONTRACT) != d
    assert report_digest(REPORT, CHAIN_ID, "0x" + "11" * 20) != d
    assert report_digest(REPORT, CHAIN_ID, CONTRACT.lower()) == d


def test_typed_data_names_the_domain_and_type() -> None:
    data = typed_data(REPORT, CHAIN_ID, CONTRACT.lower())
    assert data["primaryType"] == "ScoreReport"
    assert data["domain"] == {
        "name": "CreditShare ScoreOracle",
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": CONTRACT,
    }
    assert [f["name"] for f in data["types"]["ScoreReport"]] == ["epoch", "modelHash", "asOf", "expiry", "entriesRoot"]
    assert data["message"]["entriesRoot"] == REPORT.entries_root


@pytest.mark.parametrize("chain_id", [0, -1, True, "31337"])
def test_bad_chain_id_raises(chain_id: object) -> None:
    with pytest.raises(InvalidReport, match="chain_id must be a positive integer"):
        report_digest(REPORT, chain_id, CONTRACT)  # type: ignore[arg-type]


@pytest.mark.parametrize("contract", ["0x1234", "not an address", "0x" + "gg" * 20])
def test_bad_contract_raises(contract: str) -> None:
    with pytest.raises(InvalidReport, match="contract must be a 20-byte address"):
        report_digest(REPORT, CHAIN_ID, contract)


# -- signing ---------------------------------------------------------------------------------


def test_signature_recovers_to_signer_and_is_canonical() -> None:
    sig = sign_report(REPORT, KEYS[0], CHAIN_ID, CONTRACT)
    assert len(sig) == 65 and sig[64] in (27, 28) and int.from_bytes(sig[32:64], "big") <= N // 2
    digest = report_digest(REPORT, CHAIN_ID, CONTRACT)
    assert recover_signer(digest, sig) == KEYS[0].address
    signable = encode_typed_data(full_message=typed_data(REPORT, CHAIN_ID, CONTRACT))
    assert Account.recover_message(signable, signature=sig) == KEYS[0].address


def test_signing_is_deterministic() -> None:
    assert sign_report(REPORT, KEYS[1], CHAIN_ID, CONTRACT) == sign_report(REPORT, KEYS[1], CHAIN_ID, CONTRACT)


def test_order_signatures_sorts_by_signer_ascending() -> None:
    digest = report_digest(REPORT, CHAIN_ID, CONTRACT)
    sigs = [sign_report(REPORT, k, CHAIN_ID, CONTRACT) for k in KEYS]
    ordered = order_signatures(digest, sigs)
    signers = [int(recover_signer(digest, s), 16) for s in ordered]
    assert signers == sorted(int(k.address, 16) for k in KEYS)
    assert order_signatures(digest, ordered[::-1]) == ordered


@settings(max_examples=25)
@given(rep=reports, perm=st.permutations(range(4)))
def test_order_signatures_is_permutation_invariant(rep: ScoreReport, perm: list[int]) -> None:
    digest = report_digest(rep, CHAIN_ID, CONTRACT)
    sigs = [sign_report(rep, k, CHAIN_ID, CONTRACT) for k in KEYS]
    assert order_signatures(digest, [sigs[i] for i in perm]) == order_signatures(digest, sigs)


def test_order_signatures_rejects_a_repeated_signer() -> None:
    digest = report_digest(REPORT, CHAIN_ID, CONTRACT)
    sig = sign_report(REPORT, KEYS[0], CHAIN_ID, CONTRACT)
    with pytest.raises(InvalidSignature, match="signed twice"):
        order_signatures(digest, [sig, sign_report(REPORT, KEYS[1], CHAIN_ID, CONTRACT), sig])


def test_malformed_signatures_raise() -> None:
    digest = report_digest(REPORT, CHAIN_ID, CONTRACT)
    sig = sign_report(REPORT, KEYS[0], CHAIN_ID, CONTRACT)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = r + (N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin
    with pytest.raises(InvalidSignature, match="65 bytes"):
        recover_signer(digest, sig[:64])
    with pytest.raises(InvalidSignature, match="canonical"):
        recover_signer(digest, sig[:64] + bytes([29]))
    with pytest.raises(InvalidSignature, match="canonical"):
        recover_signer(digest, high_s)
    with pytest.raises(InvalidSignature, match="digest must be 32 bytes"):
        recover_signer(digest[:31], sig)


def test_signature_for_another_domain_recovers_to_someone_else() -> None:
    sig = sign_report(REPORT, KEYS[0], 1, CONTRACT)
    assert recover_signer(report_digest(REPORT, CHAIN_ID, CONTRACT), sig) != KEYS[0].address
