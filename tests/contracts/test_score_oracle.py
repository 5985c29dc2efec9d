"""ScoreOracle on a real Anvil with 4 real oracle keys and k = 3: the happy paths, every
rejection, the Python digest against the contract's, and gas per committed score."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from brownie import Consortium, ModelRegistry, ScoreOracle
from brownie.test import given
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from faster_eth_abi import encode as abi_encode
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.score_oracle import MAX_REPORT_TTL
from creditshare.core.roles import ROLE_IDS
from oracle.report import (
    THRESHOLD_KEY,
    Entry,
    ScoreReport,
    order_signatures,
    reasons_hash,
    report_digest,
    sign_report,
)
from scoring.model_card import TIERS
from tests.conftest import WEEK, ZERO32, ZERO_ADDRESS, admit, org
from tests.contracts.helpers import reverts

CHAIN_ID = 31337
H1 = keccak(text="champion card")
H2 = keccak(text="challenger card")
CID = keccak(text="card file digest")
HOUR = 3600


def oracle_key(i: int) -> LocalAccount:
    """A fixed oracle key, so that runs are reproducible."""
    return Account.from_key(keccak(text=f"creditshare test oracle {i}"))


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle_keys() -> list[LocalAccount]:
    return [oracle_key(i) for i in range(4)]


@pytest.fixture(scope="module")
def senders(oracle_keys: list[LocalAccount]) -> list[Any]:
    """The oracle keys as brownie accounts, to send transactions from (gas price is zero)."""
    return [brownie.accounts.add(k.key.hex()) for k in oracle_keys]


@pytest.fixture(scope="module")
def consortium(committee: list[Any], people: dict[str, Any], senders: list[Any]) -> Any:
    """A consortium with exactly four oracles, a lender and a maintainer; k = 3."""
    c = Consortium.deploy(committee, [org("C0"), org("C1"), org("C2")], 2, WEEK, {"from": committee[0]})
    for role in ("LENDER", "MAINTAINER", "PLATFORM"):
        admit(c, committee, people[role], role, [role])
    for i, sender in enumerate(senders):
        admit(c, committee, sender, f"ORACLE{i}", ["ORACLE"])
    set_threshold(c, committee, 3)
    return c


@pytest.fixture(scope="module")
def registry(consortium: Any, committee: list[Any], people: dict[str, Any]) -> Any:
    r = ModelRegistry.deploy(consortium, {"from": committee[0]})
    r.register(H1, 1, 8100, 4900, CID, {"from": people["MAINTAINER"]})
    r.register(H2, 2, 8200, 5000, CID, {"from": people["MAINTAINER"]})
    r.approvePromotion(H1, {"from": committee[0]})
    r.approvePromotion(H1, {"from": committee[1]})
    assert r.isChampion(H1)
    return r


@pytest.fixture(scope="module")
def oracle(consortium: Any, registry: Any, committee: list[Any]) -> Any:
    return ScoreOracle.deploy(consortium, registry, {"from": committee[0]})


# -- helpers ---------------------------------------------------------------------------------


def set_threshold(consortium: Any, committee: list[Any], k: int) -> None:
    tx = consortium.propose(
        ProposalKind.SET_PARAMETER, ZERO_ADDRESS, ZERO32, [], THRESHOLD_KEY, k, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert consortium.parameter(THRESHOLD_KEY) == k


def suspend(consortium: Any, committee: list[Any], account: Any) -> None:
    tx = consortium.propose(ProposalKind.SUSPEND, account, ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert not consortium.isActive(account)


def entries(n: int, start: int = 0, shift: int = 0) -> list[Entry]:
    return [
        Entry(
            subject=keccak(text=f"subject {i}"),
            score=300 + (i * 7 + shift) % 600,
            tier=(i + shift) % len(TIERS),
            reasons_hash=reasons_hash([f"R{(i + shift) % 11}", f"R{(i + shift) % 13 + 11}"]),
        )
        for i in range(start, start + n)
    ]


def block_time() -> int:
    """The latest block's timestamp: the contract's clock (brownie's chain.time() can drift from it
    after snapshots and pinned block times)."""
    return int(brownie.web3.eth.get_block("latest")["timestamp"])


def report(
    batch: list[Entry], *, epoch: int = 1, model: bytes = H1, as_of: int | None = None, expiry: int | None = None
) -> ScoreReport:
    now = block_time()
    return ScoreReport.build(
        epoch=epoch,
        model_hash=model,
        as_of=now - 60 if as_of is None else as_of,
        expiry=now + HOUR if expiry is None else expiry,
        entries=batch,
    )


def signatures(
    oracle: Any, rep: ScoreReport, keys: list[LocalAccount], chain_id: int = CHAIN_ID, contract: Any = None
) -> list[bytes]:
    address = str((contract or oracle).address)
    sigs = [sign_report(rep, k, chain_id, address) for k in keys]
    return order_signatures(report_digest(rep, chain_id, address), sigs)


def submit(oracle: Any, rep: ScoreReport, batch: list[Entry], sigs: list[bytes], sender: Any) -> Any:
    return oracle.submit(rep.as_tuple(), [e.as_tuple() for e in batch], sigs, {"from": sender})


def submit_signed(oracle: Any, batch: list[Entry], keys: list[LocalAccount], sender: Any, **kw: Any) -> Any:
    rep = report(batch, **kw)
    return submit(oracle, rep, batch, signatures(oracle, rep, keys), sender)


# -- deployment and views --------------------------------------------------------------------


def test_deploy_with_zero_address_reverts(consortium: Any, committee: list[Any]) -> None:
    with reverts("ScoreOracleZeroAddress"):
        ScoreOracle.deploy(consortium, ZERO_ADDRESS, {"from": committee[0]})


def test_views_report_wiring_threshold_and_domain(oracle: Any, consortium: Any, registry: Any) -> None:
    assert oracle.consortium() == consortium.address
    assert oracle.modelRegistry() == registry.address
    assert oracle.thresholdKey() == "0x" + THRESHOLD_KEY.hex()
    assert oracle.threshold() == 3
    assert oracle.maxReportTtl() == MAX_REPORT_TTL == 7 * 86_400
    assert oracle.reportCount() == 0
    domain = oracle.eip712Domain()
    assert domain[1] == "CreditShare ScoreOracle" and domain[2] == "1" and domain[3] == CHAIN_ID
    assert domain[4] == oracle.address


def test_score_of_unknown_subject_is_zero(oracle: Any) -> None:
    s = oracle.scoreOf(keccak(text="nobody"))
    assert s["epoch"] == 0 and s["score"] == 0 and s["report"] == 0 and s["modelHash"] == "0x" + "00" * 32


# -- happy paths -----------------------------------------------------------------------------


def test_submit_with_three_of_four_stores_scores_and_emits(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(5)
    rep = report(batch, epoch=7)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    tx = submit(oracle, rep, batch, sigs, senders[3])
    digest = report_digest(rep, CHAIN_ID, oracle.address)
    assert tx.return_value == 1
    assert oracle.isUsed(digest) and oracle.reportIdOf(digest) == 1 and oracle.reportCount() == 1
    stored = oracle.reportOf(1)
    assert stored["modelHash"] == "0x" + H1.hex() and stored["epoch"] == 7 and stored["asOf"] == rep.as_of
    for e in batch:
        s = oracle.scoreOf(e.subject)
        assert (s["score"], s["tier"], s["epoch"], s["asOf"], s["report"]) == (e.score, e.tier, 7, rep.as_of, 1)
        assert s["modelHash"] == "0x" + H1.hex()
        assert s["reasonsHash"] == "0x" + e.reasons_hash[:25].hex() + "00" * 7
    updated = tx.events["ScoreUpdated"]
    assert len(updated) == 5
    assert [u["subject"] for u in updated] == ["0x" + e.subject.hex() for e in batch]
    assert [u["reasonsHash"] for u in updated] == ["0x" + e.reasons_hash.hex() for e in batch]
    accepted = tx.events["ReportAccepted"]
    assert accepted["digest"] == "0x" + digest.hex() and accepted["epoch"] == 7 and accepted["entries"] == 5
    assert accepted["submitter"] == senders[3]
    assert list(accepted["signers"]) == sorted((k.address for k in oracle_keys[:3]), key=lambda a: int(a, 16))


def test_submit_with_four_of_four(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(3)
    tx = submit_signed(oracle, batch, oracle_keys, senders[0])
    assert len(tx.events["ReportAccepted"]["signers"]) == 4
    assert [s["score"] for s in oracle.scoresOf([e.subject for e in batch])] == [e.score for e in batch]


def test_submit_with_one_oracle_suspended_still_k_of_n(
    oracle: Any, consortium: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    suspend(consortium, committee, senders[0])
    assert len(consortium.activeMembersWithRole(ROLE_IDS["ORACLE"])) == 3
    batch = entries(4)
    submit_signed(oracle, batch, oracle_keys[1:], senders[1])
    assert oracle.scoreOf(batch[0].subject)["epoch"] == 1


def test_newer_epoch_overwrites_score(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    submit_signed(oracle, entries(4), oracle_keys[:3], senders[0], epoch=1)
    newer = entries(4, shift=3)
    submit_signed(oracle, newer, oracle_keys[1:], senders[1], epoch=2)
    scores = oracle.scoresOf([e.subject for e in newer])
    assert [(s["score"], s["tier"], s["epoch"], s["report"]) for s in scores] == [
        (e.score, e.tier, 2, 2) for e in newer
    ]


def test_request_refresh_by_lender_emits_with_stored_epoch(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any], people: dict[str, Any]
) -> None:
    batch = entries(1)
    submit_signed(oracle, batch, oracle_keys[:3], senders[0], epoch=5)
    tx = oracle.requestRefresh(batch[0].subject, {"from": people["LENDER"]})
    ev = tx.events["RefreshRequested"]
    assert ev["subject"] == "0x" + batch[0].subject.hex() and ev["lender"] == people["LENDER"] and ev["epoch"] == 5


# -- rejections ------------------------------------------------------------------------------


def test_same_report_twice_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    submit(oracle, rep, batch, sigs, senders[0])
    with reverts("ScoreOracleReportAlreadySubmitted"):
        submit(oracle, rep, batch, sigs, senders[1])


def test_signatures_for_another_contract_revert(
    oracle: Any,
    consortium: Any,
    registry: Any,
    committee: list[Any],
    oracle_keys: list[LocalAccount],
    senders: list[Any],
) -> None:
    other = ScoreOracle.deploy(consortium, registry, {"from": committee[0]})
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3], contract=other)
    submit(other, rep, batch, sigs, senders[0])  # valid where they were meant
    with reverts("ScoreOracleSignerNotOracle"):
        submit(oracle, rep, batch, sigs, senders[0])


def test_signatures_for_another_chain_id_revert(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(2)
    rep = report(batch)
    assert "0x" + report_digest(rep, 1, oracle.address).hex() != oracle.reportDigest(rep.as_tuple())
    sigs = signatures(oracle, rep, oracle_keys[:3], chain_id=1)
    with reverts("ScoreOracleSignerNotOracle"):
        submit(oracle, rep, batch, sigs, senders[0])


def test_expired_report_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    now = block_time()
    rep = report(batch, as_of=now - 600, expiry=now - 300)  # signed in time, submitted late
    sigs = signatures(oracle, rep, oracle_keys[:3])
    with reverts("ScoreOracleExpired"):
        submit(oracle, rep, batch, sigs, senders[0])


def next_block_at(timestamp: int) -> None:
    """Pins the next block's timestamp (Anvil test RPC), to test the expiry boundary exactly."""
    brownie.web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])


def test_report_expiring_in_its_block_with_as_of_now_is_accepted(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(2)
    at = block_time() + 5
    rep = report(batch, as_of=at, expiry=at)  # block.timestamp == expiry == asOf
    sigs = signatures(oracle, rep, oracle_keys[:3])
    next_block_at(at)
    tx = submit(oracle, rep, batch, sigs, senders[0])
    assert tx.timestamp == at and oracle.scoreOf(batch[0].subject)["asOf"] == at


def test_report_one_second_past_expiry_reverts(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(2)
    at = block_time() + 5
    rep = report(batch, as_of=at - 10, expiry=at - 1)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    next_block_at(at)
    with reverts("ScoreOracleExpired"):
        submit(oracle, rep, batch, sigs, senders[0])


def test_report_expiring_exactly_max_ttl_after_its_block_is_accepted(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(2)
    at = block_time() + 5
    rep = report(batch, as_of=at, expiry=at + MAX_REPORT_TTL)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    next_block_at(at)
    submit(oracle, rep, batch, sigs, senders[0])
    assert oracle.scoreOf(batch[0].subject)["asOf"] == at


@pytest.mark.parametrize("older", [1, 329 * 86_400])
def test_as_of_more_than_max_ttl_before_the_expiry_reverts(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any], older: int
) -> None:
    """Issue #14, finding 1: k signatures over an old as-of (a subject's state before its default) with a
    fresh expiry would roll its score back; the as-of time may lie at most MAX_REPORT_TTL before the expiry."""
    batch = entries(2)
    at = block_time() + 5
    rep = report(batch, as_of=at + HOUR - MAX_REPORT_TTL - older, expiry=at + HOUR)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    next_block_at(at)
    with reverts("ScoreOracleAsOfTooOld"):
        submit(oracle, rep, batch, sigs, senders[0])
    edge = report(batch, as_of=at + HOUR - MAX_REPORT_TTL, expiry=at + HOUR)
    submit(oracle, edge, batch, signatures(oracle, edge, oracle_keys[:3]), senders[0])
    assert oracle.scoreOf(batch[0].subject)["asOf"] == at + HOUR - MAX_REPORT_TTL


@pytest.mark.parametrize("beyond", [1, 2**63])
def test_report_expiring_beyond_max_ttl_reverts(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any], beyond: int
) -> None:
    """A signature set kept for later use: its expiry lies more than 7 days past the submitting block."""
    batch = entries(2)
    at = block_time() + 5
    rep = report(batch, as_of=at - 10, expiry=min(at + MAX_REPORT_TTL + beyond, 2**64 - 1))
    sigs = signatures(oracle, rep, oracle_keys[:3])
    next_block_at(at)
    with reverts("ScoreOracleExpiryTooFar"):
        submit(oracle, rep, batch, sigs, senders[0])


def block_number() -> int:
    return int(brownie.web3.eth.block_number)


@pytest.mark.parametrize("ahead", [2, 2**64 - 1])
def test_epoch_beyond_the_submitting_block_reverts(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any], ahead: int
) -> None:
    """The exploit: an epoch of 2^64-1 would have frozen its subjects for ever (no later epoch exists)."""
    batch = entries(2)
    epoch = min(block_number() + ahead, 2**64 - 1)  # the submitting block is block_number() + 1
    with reverts("ScoreOracleEpochInFuture"):
        submit_signed(oracle, batch, oracle_keys[:3], senders[0], epoch=epoch)
    submit_signed(oracle, batch, oracle_keys[:3], senders[0], epoch=block_number())
    assert oracle.scoreOf(batch[0].subject)["epoch"] == block_number() - 1


def test_epoch_equal_to_the_submitting_block_is_accepted(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(2)
    epoch = block_number() + 1
    tx = submit_signed(oracle, batch, oracle_keys[:3], senders[0], epoch=epoch)
    assert tx.block_number == epoch and oracle.scoreOf(batch[0].subject)["epoch"] == epoch


def test_threshold_above_the_active_oracles_reverts(
    oracle: Any, consortium: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    """k = 3 was valid when set; two oracles suspended since leave n = 2, and no report may pass with k > n."""
    suspend(consortium, committee, senders[2])
    suspend(consortium, committee, senders[3])
    with reverts("ScoreOracleBadThreshold"):
        submit_signed(oracle, entries(2), oracle_keys[:2], senders[0])


def test_as_of_in_future_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    with reverts("ScoreOracleAsOfInFuture"):
        submit_signed(oracle, entries(2), oracle_keys[:3], senders[0], as_of=block_time() + 600)


def test_epoch_not_newer_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    submit_signed(oracle, entries(3), oracle_keys[:3], senders[0], epoch=4)
    # a different report (other scores) of the same epoch, and one of an older epoch
    with reverts("ScoreOracleStaleEpoch"):
        submit_signed(oracle, entries(3, shift=1), oracle_keys[:3], senders[0], epoch=4)
    with reverts("ScoreOracleStaleEpoch"):
        submit_signed(oracle, entries(1, start=2, shift=2), oracle_keys[:3], senders[0], epoch=3)


def test_epoch_not_newer_for_one_subject_rejects_whole_batch(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    submit_signed(oracle, entries(1, start=9), oracle_keys[:3], senders[0], epoch=6)
    batch = entries(10, shift=1)  # subject 9 is last
    with reverts("ScoreOracleStaleEpoch"):
        submit_signed(oracle, batch, oracle_keys[:3], senders[0], epoch=6)
    assert oracle.scoreOf(batch[0].subject)["epoch"] == 0  # nothing partial


def test_subject_twice_in_one_report_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    with reverts("ScoreOracleStaleEpoch"):
        submit_signed(oracle, batch + batch[:1], oracle_keys[:3], senders[0])


def test_fewer_than_k_signatures_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    with reverts("ScoreOracleTooFewSignatures"):
        submit_signed(oracle, entries(2), oracle_keys[:2], senders[0])


def test_duplicate_signer_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:2])
    with reverts("ScoreOracleDuplicateSigner"):
        submit(oracle, rep, batch, [sigs[0], sigs[0], sigs[1]], senders[0])


def test_signers_not_ascending_revert(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    with reverts("ScoreOracleSignersNotAscending"):
        submit(oracle, rep, batch, sigs[::-1], senders[0])


def test_malformed_signature_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    batch = entries(2)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    bad_v = sigs[0][:64] + bytes([29])
    with reverts("ScoreOracleBadSignature"):
        submit(oracle, rep, batch, [bad_v, *sigs[1:]], senders[0])
    with reverts("ScoreOracleBadSignature"):
        submit(oracle, rep, batch, [sigs[0][:64], *sigs[1:]], senders[0])


def test_signer_not_an_oracle_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    outsider = Account.from_key(keccak(text="not an oracle"))
    with reverts("ScoreOracleSignerNotOracle"):
        submit_signed(oracle, entries(2), [*oracle_keys[:2], outsider], senders[0])


def test_suspended_oracle_signature_reverts(
    oracle: Any, consortium: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    suspend(consortium, committee, senders[2])
    with reverts("ScoreOracleSignerNotOracle"):
        submit_signed(oracle, entries(2), oracle_keys[:3], senders[0])


def test_model_not_champion_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    with reverts("ScoreOracleNotChampion"):
        submit_signed(oracle, entries(2), oracle_keys[:3], senders[0], model=H2)


def test_entries_not_matching_commitment_revert(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    batch = entries(3)
    rep = report(batch)
    sigs = signatures(oracle, rep, oracle_keys[:3])
    forged = [*batch[:2], Entry(batch[2].subject, batch[2].score + 1, batch[2].tier, batch[2].reasons_hash)]
    with reverts("ScoreOracleEntriesMismatch"):
        submit(oracle, rep, forged, sigs, senders[0])
    with reverts("ScoreOracleEntriesMismatch"):
        submit(oracle, rep, batch[::-1], sigs, senders[0])


def test_empty_report_reverts(oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any]) -> None:
    now = block_time()
    rep = ScoreReport(
        epoch=1,
        model_hash=H1,
        as_of=now - 60,
        expiry=now + HOUR,
        entries_root=keccak(abi_encode(["(bytes32,uint16,uint8,bytes32)[]"], [[]])),
    )
    with reverts("ScoreOracleEmptyReport"):
        submit(oracle, rep, [], signatures(oracle, rep, oracle_keys[:3]), senders[0])


def test_submit_by_non_oracle_reverts(oracle: Any, oracle_keys: list[LocalAccount], people: dict[str, Any]) -> None:
    with reverts("ScoreOracleNotOracle"):
        submit_signed(oracle, entries(2), oracle_keys[:3], people["LENDER"])


def test_submit_by_suspended_oracle_reverts(
    oracle: Any, consortium: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    suspend(consortium, committee, senders[3])
    with reverts("ScoreOracleNotOracle"):
        submit_signed(oracle, entries(2), oracle_keys[:3], senders[3])


def test_submit_with_threshold_unset_reverts(
    registry: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    # governance cannot set k back to 0 (Consortium bounds it to 2..n): a fresh consortium has it unset
    fresh = Consortium.deploy(committee, [org("C0"), org("C1"), org("C2")], 2, WEEK, {"from": committee[0]})
    for i, sender in enumerate(senders):
        admit(fresh, committee, sender, f"ORACLE{i}", ["ORACLE"])
    unset = ScoreOracle.deploy(fresh, registry, {"from": committee[0]})
    assert unset.threshold() == 0
    with reverts("ScoreOracleThresholdUnset"):
        submit_signed(unset, entries(2), oracle_keys, senders[0])


@pytest.mark.parametrize("k", [0, 1, 5])
def test_governance_refuses_an_oracle_threshold_outside_two_to_n(consortium: Any, committee: list[Any], k: int) -> None:
    with reverts("ConsortiumParameterOutOfBounds"):
        set_threshold(consortium, committee, k)


def test_request_refresh_by_non_lender_reverts(oracle: Any, people: dict[str, Any], senders: list[Any]) -> None:
    for who in (people["PLATFORM"], people["OUTSIDER"], senders[0]):
        with reverts("ScoreOracleNotLender"):
            oracle.requestRefresh(keccak(text="subject 0"), {"from": who})


# -- properties ------------------------------------------------------------------------------


@given(
    epoch=st.integers(0, 2**64 - 1),
    model=st.binary(min_size=32, max_size=32),
    as_of=st.integers(0, 2**64 - 1),
    expiry=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_python_digest_equals_contract_digest(
    oracle: Any, epoch: int, model: bytes, as_of: int, expiry: int, root: bytes
) -> None:
    rep = ScoreReport(epoch=epoch, model_hash=model, as_of=as_of, expiry=expiry, entries_root=root)
    assert oracle.reportDigest(rep.as_tuple()) == "0x" + report_digest(rep, CHAIN_ID, oracle.address).hex()


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 2**16 - 1), st.integers(0, 255)),
        min_size=1,
        max_size=12,
        unique_by=lambda r: r[0],
    ),
)
@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_signed_batch_is_stored_as_signed(
    oracle: Any, oracle_keys: list[LocalAccount], senders: list[Any], rows: list[tuple[int, int, int]]
) -> None:
    batch = [Entry(keccak(text=f"p{i}"), score, tier, keccak(text=f"r{i}:{score}")) for i, score, tier in rows]
    # state carries over between examples: epochs are block numbers, and every example mines blocks
    epoch = int(brownie.web3.eth.block_number)
    submit_signed(oracle, batch, oracle_keys[1:], senders[0], epoch=epoch)
    stored = oracle.scoresOf([e.subject for e in batch])
    assert [(s["score"], s["tier"], s["epoch"]) for s in stored] == [(e.score, e.tier, epoch) for e in batch]


# -- gas -------------------------------------------------------------------------------------


def test_gas_per_committed_score_batched_vs_one_per_tx(
    oracle: Any, consortium: Any, committee: list[Any], oracle_keys: list[LocalAccount], senders: list[Any]
) -> None:
    """Prints gas per committed score (run with -s); a batch must cost at most a third of
    the naive way: one subject per transaction, carrying the fewest signatures governance allows (k = 2)."""
    per_score: dict[str, float] = {}
    start = 0
    for n in (200, 500):
        fresh = submit_signed(oracle, entries(n, start=start), oracle_keys[:3], senders[0], epoch=1)
        update = submit_signed(oracle, entries(n, start=start, shift=1), oracle_keys[1:], senders[1], epoch=2)
        per_score[f"batch{n}_new"] = fresh.gas_used / n
        per_score[f"batch{n}_update"] = update.gas_used / n
        start += n
    set_threshold(consortium, committee, 2)
    naive_new, naive_update = [], []
    for i in range(start, start + 10):
        (one,) = entries(1, start=i)
        naive_new.append(submit_signed(oracle, [one], oracle_keys[:2], senders[0], epoch=1).gas_used)
        (again,) = entries(1, start=i, shift=1)
        naive_update.append(submit_signed(oracle, [again], oracle_keys[:2], senders[0], epoch=2).gas_used)
    per_score["naive_new"] = sum(naive_new) / len(naive_new)
    per_score["naive_update"] = sum(naive_update) / len(naive_update)
    for name, gas in per_score.items():
        print(f"gas per committed score {name}: {gas:,.0f}")
    for n in (200, 500):
        for kind in ("new", "update"):
            ratio = per_score[f"batch{n}_{kind}"] / per_score[f"naive_{kind}"]
            print(f"batch {n} {kind}: {ratio:.3f} of naive")
            assert ratio <= 1 / 3, (n, kind, ratio)
