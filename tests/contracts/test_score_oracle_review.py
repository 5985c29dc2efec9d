"""ScoreOracle, review of the `ECDSA.tryRecover` switch (OpenZeppelin 5.4.0, was tryRecoverCalldata): a
signature is accepted only as 65 bytes with a low `s` and v in {27, 28}, so the malleated twin of an oracle's
signature (s -> n - s, v flipped), which recovers the same signer, is refused and cannot stand in for a second
oracle; short (EIP-2098 compact, 64 bytes) and padded (66 bytes) signatures are refused too."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from tests.contracts import test_score_oracle as base
from tests.contracts.helpers import reverts
from tests.contracts.test_score_oracle import entries, report, signatures, submit

# the base module's fixtures (its four oracle keys with k = 3), shared rather than copied
consortium, registry, oracle_keys, senders, oracle = (
    base.consortium,
    base.registry,
    base.oracle_keys,
    base.senders,
    base.oracle,
)

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the secp256k1 group order


def malleate(sig: bytes) -> bytes:
    """The other valid signature of the same message and key: (r, n - s, v flipped)."""
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (N - s).to_bytes(32, "big") + bytes([55 - sig[64]])


def test_a_high_s_twin_of_a_signature_is_refused(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]):
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    with reverts("ScoreOracleBadSignature"):
        submit(oracle, rep, batch, [malleate(sigs[0]), *sigs[1:]], senders[0])
    # the twin beside its original cannot count as a second oracle either: refused before any signer is counted
    with reverts("ScoreOracleBadSignature"):
        submit(oracle, rep, batch, [sigs[0], malleate(sigs[0]), sigs[1]], senders[0])
    assert oracle.scoreOf(batch[0].subject)["epoch"] == 0


def test_compact_and_padded_signatures_are_refused(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]):
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    s_int = int.from_bytes(sigs[0][32:64], "big")
    compact = sigs[0][:32] + ((sigs[0][64] - 27) << 255 | s_int).to_bytes(32, "big")  # EIP-2098 r || vs
    for bad in (compact, sigs[0] + b"\x00"):
        with reverts("ScoreOracleBadSignature"):
            submit(oracle, rep, batch, [bad, *sigs[1:]], senders[0])
    # the same three, well formed, are accepted
    submit(oracle, rep, batch, sigs, senders[0])
    assert oracle.scoreOf(batch[0].subject)["epoch"] == rep.epoch
