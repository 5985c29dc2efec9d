"""MpcJobLog: recording and attesting multi-party computations; every rejection, every wrong role."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.mpc_job_log import MAX_PARTICIPANTS, job_digest, job_id_of
from tests.conftest import ZERO32
from tests.contracts.helpers import reverts

LABEL = keccak(text="xp-2026-11-28")
PURPOSE = keccak(text="cross-platform credit features")
CONFIG = keccak(text="config")
OUTPUT = keccak(text="revealed aggregates")
C = [keccak(text=f"commitment {i}") for i in range(3)]


@pytest.fixture(scope="module")
def log(MpcJobLog, consortium, committee):
    return MpcJobLog.deploy(consortium, {"from": committee[0]})


@pytest.fixture(scope="module")
def parties(people):
    return [people["PLATFORM"], people["SHIPPER"], people["LENDER"]]


def digest_of(parties, output=OUTPUT):
    return job_digest(PURPOSE, CONFIG, [p.address for p in parties], output)


@pytest.fixture(scope="module")
def DIGEST(parties):
    return digest_of(parties)


@pytest.fixture(scope="module")
def JOB(parties, DIGEST):
    """The id MpcJobLog derives for the honest record."""
    return job_id_of(LABEL, DIGEST)


def record(log, parties, sender, output=OUTPUT, commitment=None):
    own = C[parties.index(sender)] if commitment is None else commitment
    return log.record(LABEL, PURPOSE, CONFIG, parties, output, own, {"from": sender})


def test_record_then_every_participant_attests_its_own_commitment(log, parties, JOB, DIGEST):
    tx = record(log, parties, parties[0])
    assert bytes(tx.return_value) == JOB  # the id is derived on chain, as the binding computes it
    ev = tx.events["JobRecorded"]
    assert ev["recorder"] == parties[0] and bytes(ev["digest"]) == DIGEST and bytes(ev["labelHash"]) == LABEL
    assert bytes(log.digestOf(PURPOSE, CONFIG, parties, OUTPUT)) == DIGEST
    assert bytes(log.jobIdOf(LABEL, DIGEST)) == JOB
    job = log.job(JOB)
    assert (bytes(job["labelHash"]), bytes(job["digest"]), bytes(job["outputHash"])) == (LABEL, DIGEST, OUTPUT)
    # only the recorder's own commitment is written; the others' slots wait for their owners
    assert list(job["participants"]) == parties and [bytes(c) for c in job["inputCommitments"]] == [
        C[0],
        ZERO32,
        ZERO32,
    ]
    assert not log.isFullyAttested(JOB)
    log.attest(JOB, C[1], {"from": parties[1]})
    assert not log.isFullyAttested(JOB) and log.attestations(JOB) == 2
    tx = log.attest(JOB, C[2], {"from": parties[2]})
    assert tx.events["JobAttested"]["inputCommitment"] == "0x" + C[2].hex()
    assert tx.events["JobFullyAttested"]["jobId"] == "0x" + JOB.hex()
    assert log.isFullyAttested(JOB) and log.attestations(JOB) == 3 and log.hasAttested(JOB, parties[2])
    assert [bytes(c) for c in log.job(JOB)["inputCommitments"]] == C


def test_one_holder_listing_others_who_never_ran_the_job_does_not_make_it_count(log, parties, JOB):
    """Finding 2: the recorder alone (an invented output, two other members listed) is not fully attested."""
    invented = keccak(text="invented aggregates")
    fake = bytes(record(log, parties, parties[0], output=invented).return_value)
    assert log.attestations(fake) == 1 and not log.isFullyAttested(fake)
    assert not log.isFullyAttested(JOB)  # unknown job: false, no revert


def test_the_recorder_cannot_write_another_partys_commitment(log, parties, JOB):
    """Finding 5: the record takes one commitment, the caller's own; a party's slot is set only by its attest."""
    record(log, parties, parties[0], commitment=C[1])  # the recorder passes party 1's commitment as its own
    job = log.job(JOB)
    assert [bytes(c) for c in job["inputCommitments"]] == [C[1], ZERO32, ZERO32]  # it lands in the recorder's slot
    log.attest(JOB, C[1], {"from": parties[1]})
    assert bytes(log.job(JOB)["inputCommitments"][1]) == C[1]


def test_a_wrong_first_record_does_not_burn_the_honest_job(log, parties, JOB, DIGEST):
    """A participant records the job's name first with a false output: that is another id, and the real
    job still goes in under its own id and collects every honest attestation."""
    fake_id = bytes(record(log, parties, parties[2], output=keccak(text="false output")).return_value)
    assert fake_id != JOB
    assert bytes(record(log, parties, parties[0]).return_value) == JOB
    log.attest(JOB, C[1], {"from": parties[1]})
    log.attest(JOB, C[2], {"from": parties[2]})
    assert log.isFullyAttested(JOB) and not log.isFullyAttested(fake_id)


@pytest.mark.parametrize("differs", ["output", "participants", "purpose"])
def test_other_terms_are_another_job(log, parties, JOB, differs):
    ps, purpose, out = list(parties), PURPOSE, OUTPUT
    if differs == "output":
        out = keccak(text="something else")
    elif differs == "participants":
        ps = [parties[1], parties[0], parties[2]]
    else:
        purpose = keccak(text="marketing")
    tx = log.record(LABEL, purpose, CONFIG, ps, out, C[0], {"from": parties[0]})
    other = bytes(tx.return_value)
    assert other != JOB and bytes(log.jobIdOf(LABEL, log.digestOf(purpose, CONFIG, ps, out))) == other


def test_more_than_max_participants_is_refused(log, parties):
    ps = [parties[i % 3] for i in range(MAX_PARTICIPANTS + 1)]
    assert log.MAX_PARTICIPANTS() == MAX_PARTICIPANTS
    with reverts("MpcJobLogTooManyParticipants"):
        log.record(LABEL, PURPOSE, CONFIG, ps, OUTPUT, C[0], {"from": parties[0]})


def test_attesting_twice_is_refused(log, parties, JOB):
    record(log, parties, parties[0])
    with reverts("MpcJobLogAlreadyAttested"):
        log.attest(JOB, C[0], {"from": parties[0]})
    log.attest(JOB, C[1], {"from": parties[1]})
    with reverts("MpcJobLogAlreadyAttested"):  # nor can a party rewrite its commitment
        log.attest(JOB, C[2], {"from": parties[1]})


def test_attesting_with_a_zero_commitment_is_refused(log, parties, JOB):
    record(log, parties, parties[0])
    with reverts("MpcJobLogZeroHash"):
        log.attest(JOB, ZERO32, {"from": parties[1]})


def test_same_job_twice_is_refused(log, parties):
    record(log, parties, parties[0])
    with reverts("MpcJobLogAlreadyRecorded"):
        record(log, parties, parties[1])


@pytest.mark.parametrize("who", ["ORACLE", "MAINTAINER", "CARRIER"])
def test_member_outside_the_job_cannot_record_or_attest(log, parties, people, who, JOB):
    with reverts("MpcJobLogNotParticipant"):
        log.record(LABEL, PURPOSE, CONFIG, parties, OUTPUT, C[0], {"from": people[who]})
    record(log, parties, parties[0])
    with reverts("MpcJobLogNotParticipant"):
        log.attest(JOB, C[0], {"from": people[who]})
    assert not log.isFullyAttested(JOB)


def test_outsider_cannot_record_or_attest(log, parties, people, JOB):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(LABEL, PURPOSE, CONFIG, [people["OUTSIDER"], parties[0]], OUTPUT, C[0], {"from": people["OUTSIDER"]})
    record(log, parties, parties[0])
    with reverts("MpcJobLogNotActiveMember"):
        log.attest(JOB, C[0], {"from": people["OUTSIDER"]})


def test_non_member_participant_is_refused(log, parties, people):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(LABEL, PURPOSE, CONFIG, [parties[0], people["OUTSIDER"]], OUTPUT, C[0], {"from": parties[0]})


def test_suspended_participant_can_neither_be_listed_nor_attest(log, consortium, committee, parties, JOB):
    record(log, parties, parties[0])
    tx = consortium.propose(ProposalKind.SUSPEND, parties[2], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("MpcJobLogNotActiveMember"):
        log.attest(JOB, C[2], {"from": parties[2]})
    with reverts("MpcJobLogNotActiveMember"):
        log.record(LABEL, PURPOSE, CONFIG, parties, keccak(text="other"), C[0], {"from": parties[0]})


@pytest.mark.parametrize(
    "case,error",
    [
        ("one party", "MpcJobLogTooFewParticipants"),
        ("duplicate", "MpcJobLogDuplicateParticipant"),
        ("zero output", "MpcJobLogZeroHash"),
        ("zero commitment", "MpcJobLogZeroHash"),
        ("zero job", "MpcJobLogZeroHash"),
        ("zero purpose", "MpcJobLogZeroHash"),
    ],
)
def test_malformed_record_is_refused(log, parties, case, error):
    job, purpose, ps, own, out = LABEL, PURPOSE, list(parties), C[0], OUTPUT
    if case == "one party":
        ps = ps[:1]
    elif case == "duplicate":
        ps[2] = ps[0]
    elif case == "zero output":
        out = ZERO32
    elif case == "zero commitment":
        own = ZERO32
    elif case == "zero purpose":
        purpose = ZERO32
    else:
        job = ZERO32
    with reverts(error):
        log.record(job, purpose, CONFIG, ps, out, own, {"from": parties[0]})


def test_unknown_job(log, parties, JOB):
    with reverts("MpcJobLogUnknownJob"):
        log.job(JOB)
    with reverts("MpcJobLogUnknownJob"):
        log.attest(JOB, C[0], {"from": parties[0]})
    assert log.attestations(JOB) == 0 and not log.isFullyAttested(JOB)
