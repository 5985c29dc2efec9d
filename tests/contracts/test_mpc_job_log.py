"""MpcJobLog: recording and attesting multi-party computations; every rejection."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from tests.conftest import ZERO32
from tests.contracts.helpers import reverts

JOB = keccak(text="xp-2026-11-28")
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


def test_record_then_every_participant_attests(log, parties):
    tx = log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    assert tx.events["JobRecorded"]["recorder"] == parties[0]
    job = log.job(JOB)
    assert list(job[5]) == parties and [bytes(c) for c in job[6]] == C and bytes(job[2]) == OUTPUT
    for p in parties[1:]:
        log.attest(JOB, OUTPUT, {"from": p})
    assert log.attestations(JOB) == 3 and log.hasAttested(JOB, parties[2])


def test_attesting_another_output_is_refused(log, parties):
    log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogOutputMismatch"):
        log.attest(JOB, keccak(text="something else"), {"from": parties[1]})


def test_attesting_twice_is_refused(log, parties):
    log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogAlreadyAttested"):
        log.attest(JOB, OUTPUT, {"from": parties[0]})


def test_same_job_twice_is_refused(log, parties):
    log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogAlreadyRecorded"):
        log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[1]})


@pytest.mark.parametrize("who", ["ORACLE", "MAINTAINER", "CARRIER"])
def test_member_outside_the_job_cannot_record_or_attest(log, parties, people, who):
    with reverts("MpcJobLogNotParticipant"):
        log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": people[who]})
    log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogNotParticipant"):
        log.attest(JOB, OUTPUT, {"from": people[who]})


def test_outsider_cannot_record_or_attest(log, parties, people):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(JOB, PURPOSE, CONFIG, [people["OUTSIDER"], parties[0]], C[:2], OUTPUT, {"from": people["OUTSIDER"]})
    log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})
    with reverts("MpcJobLogNotActiveMember"):
        log.attest(JOB, OUTPUT, {"from": people["OUTSIDER"]})


def test_non_member_participant_is_refused(log, parties, people):
    with reverts("MpcJobLogNotActiveMember"):
        log.record(JOB, PURPOSE, CONFIG, [parties[0], people["OUTSIDER"]], C[:2], OUTPUT, {"from": parties[0]})


def test_suspended_participant_is_refused(log, consortium, committee, parties):
    tx = consortium.propose(ProposalKind.SUSPEND, parties[2], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("MpcJobLogNotActiveMember"):
        log.record(JOB, PURPOSE, CONFIG, parties, C, OUTPUT, {"from": parties[0]})


@pytest.mark.parametrize("case,error", [
    ("one party", "MpcJobLogTooFewParticipants"),
    ("length", "MpcJobLogLengthMismatch"),
    ("duplicate", "MpcJobLogDuplicateParticipant"),
    ("zero output", "MpcJobLogZeroHash"),
    ("zero commitment", "MpcJobLogZeroHash"),
    ("zero job", "MpcJobLogZeroHash"),
])
def test_malformed_record_is_refused(log, parties, case, error):
    job, ps, cs, out = JOB, list(parties), list(C), OUTPUT
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


def test_unknown_job(log, parties):
    with reverts("MpcJobLogUnknownJob"):
        log.job(JOB)
    with reverts("MpcJobLogUnknownJob"):
        log.attest(JOB, OUTPUT, {"from": parties[0]})
