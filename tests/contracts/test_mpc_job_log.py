"""MpcJobLog: recording and attesting multi-party computations; every rejection."""

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


def digest_of(parties, output=OUTPUT, commitments=C):
    return job_digest(PURPOSE, CONFIG, [p.address for p in parties], commitments, output)


@pytest.fixture(scope="module")
def JOB(parties):
    """The id MpcJobLog derives for the honest record."""
    return job_id_of(LABEL, digest_of(parties))


@pytest.fixture(scope="module")
def DIGEST(parties):
    return digest_of(parties)


def test_record_then_every_participant_attests(log, parties, JOB, DIGEST):
    tx = log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    assert bytes(tx.return_value) == JOB  # the id is derived on chain, as the binding computes it
    ev = tx.events["JobRecorded"]
    assert ev["recorder"] == parties[0] and bytes(ev["digest"]) == DIGEST and bytes(ev["labelHash"]) == LABEL
    assert bytes(log.digestOf(PURPOSE, CONFIG, parties, C, OUTPUT)) == DIGEST
    assert bytes(log.jobIdOf(LABEL, DIGEST)) == JOB
    job = log.job(JOB)
    assert (bytes(job["labelHash"]), bytes(job["digest"]), bytes(job["outputHash"])) == (LABEL, DIGEST, OUTPUT)
    assert list(job["participants"]) == parties and [bytes(c) for c in job["inputCommitments"]] == C
    for p in parties[1:]:
        assert log.attest(JOB, DIGEST, {"from": p}).events["JobAttested"]["digest"] == "0x" + DIGEST.hex()
    assert log.attestations(JOB) == 3 and log.hasAttested(JOB, parties[2])


@pytest.mark.parametrize("differs", ["output", "commitment", "participants"])
def test_attesting_a_job_the_attester_did_not_see_is_refused(log, parties, JOB, DIGEST, differs):
    """Same output, another commitment or party order: the attester's digest differs, so it endorses nothing."""
    log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    seen = {
        "output": digest_of(parties, output=keccak(text="something else")),
        "commitment": digest_of(parties, commitments=[C[0], keccak(text="other input"), C[2]]),
        "participants": digest_of([parties[1], parties[0], parties[2]]),
    }[differs]
    with reverts("MpcJobLogDigestMismatch"):
        log.attest(JOB, seen, {"from": parties[1]})
    assert log.attestations(JOB) == 1


def test_a_squatter_cannot_take_the_id_of_a_job(log, parties, JOB, DIGEST):
    """A participant records the job's name first with a false output: that is another id, and the real
    record still goes in under its own id and collects the honest attestations."""
    fake = log.record(LABEL, PURPOSE, CONFIG, parties, C, keccak(text="false output"), {"from": parties[2]})
    fake_id = bytes(fake.return_value)
    assert fake_id != JOB
    with reverts("MpcJobLogDigestMismatch"):
        log.attest(fake_id, DIGEST, {"from": parties[1]})
    real = log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    assert bytes(real.return_value) == JOB
    log.attest(JOB, DIGEST, {"from": parties[1]})
    assert log.attestations(JOB) == 2 and log.attestations(fake_id) == 1


def test_more_than_max_participants_is_refused(log, parties, JOB, DIGEST):
    ps = [parties[i % 3] for i in range(MAX_PARTICIPANTS + 1)]
    assert log.MAX_PARTICIPANTS() == MAX_PARTICIPANTS
    with reverts("MpcJobLogTooManyParticipants"):
        log.record(LABEL, PURPOSE, CONFIG, ps, [C[0]] * len(ps), OUTPUT, {"from": parties[0]})


def test_attesting_twice_is_refused(log, parties, JOB, DIGEST):
    log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogAlreadyAttested"):
        log.attest(JOB, DIGEST, {"from": parties[0]})


def test_same_job_twice_is_refused(log, parties, JOB, DIGEST):
    log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogAlreadyRecorded"):
        log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[1]})


@pytest.mark.parametrize("who", ["ORACLE", "MAINTAINER", "CARRIER"])
def test_member_outside_the_job_cannot_record_or_attest(log, parties, people, who, JOB, DIGEST):
    with reverts("MpcJobLogNotParticipant"):
        log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": people[who]})
    log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogNotParticipant"):
        log.attest(JOB, DIGEST, {"from": people[who]})


def test_outsider_cannot_record_or_attest(log, parties, people, JOB, DIGEST):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(
            LABEL, PURPOSE, CONFIG, [people["OUTSIDER"], parties[0]], C[:2], OUTPUT, {"from": people["OUTSIDER"]}
        )
    log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogNotActiveMember"):
        log.attest(JOB, DIGEST, {"from": people["OUTSIDER"]})


def test_non_member_participant_is_refused(log, parties, people, JOB, DIGEST):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(LABEL, PURPOSE, CONFIG, [parties[0], people["OUTSIDER"]], C[:2], OUTPUT, {"from": parties[0]})


def test_suspended_participant_is_refused(log, consortium, committee, parties, JOB, DIGEST):
    tx = consortium.propose(ProposalKind.SUSPEND, parties[2], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("MpcJobLogNotActiveMember"):
        log.record(LABEL, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})


@pytest.mark.parametrize(
    "case,error",
    [
        ("one party", "MpcJobLogTooFewParticipants"),
        ("length", "MpcJobLogLengthMismatch"),
        ("duplicate", "MpcJobLogDuplicateParticipant"),
        ("zero output", "MpcJobLogZeroHash"),
        ("zero commitment", "MpcJobLogZeroHash"),
        ("zero job", "MpcJobLogZeroHash"),
    ],
)
def test_malformed_record_is_refused(log, parties, case, error, JOB, DIGEST):
    job, ps, cs, out = LABEL, list(parties), list(C), OUTPUT
    if case == "one party":
        ps, cs = ps[:1], cs[:1]
    elif case == "length":
        cs = cs[:2]
    elif case == "duplicate":
        ps[2] = ps[0]
    elif case == "zero output":
        out = ZERO32
    elif case == "zero commitment":
        cs[1] = ZERO32
    else:
        job = ZERO32
    with reverts(error):
        log.record(job, PURPOSE, CONFIG, ps, cs, out, {"from": parties[0]})


def test_unknown_job(log, parties, JOB, DIGEST):
    with reverts("MpcJobLogUnknownJob"):
        log.job(JOB)
    with reverts("MpcJobLogUnknownJob"):
        log.attest(JOB, DIGEST, {"from": parties[0]})
