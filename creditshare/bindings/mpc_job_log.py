"""The MpcJobLog contract: multi-party computations recorded and attested on chain.

A job's id is derived, never chosen: its terms' digest = keccak256(abi.encode(purposeHash, configHash, participants,
outputHash)) and id = keccak256(abi.encode(labelHash, digest)), as the contract computes them (`digestOf`,
`jobIdOf`). Input commitments are not in the terms: each participant writes its own when it records or attests,
after checking that the whole on-chain record (the others' commitments included) equals its own copy. A job
counts only when every participant has attested it (`isFullyAttested`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import InvalidInput, TransactionRejected
from creditshare.core.ids import parse_bytes32, to_hex

MAX_PARTICIPANTS = 16  # the contract's MAX_PARTICIPANTS
ZERO32 = b"\0" * 32


def job_digest(purpose_hash: bytes, config_hash: bytes, participants: list[str], output_hash: bytes) -> bytes:
    """MpcJobLog.digestOf: keccak256 of a job's terms (commitments are written by each party, not hashed here)."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "address[]", "bytes32"],
            [purpose_hash, config_hash, [to_checksum_address(p) for p in participants], output_hash],
        )
    )


def job_id_of(label_hash: bytes, digest: bytes) -> bytes:
    """MpcJobLog.jobIdOf: a job's id from its name's hash and its terms' digest."""
    return keccak(encode(["bytes32", "bytes32"], [label_hash, digest]))


@dataclass(frozen=True)
class JobRecord:
    label_hash: bytes
    purpose_hash: bytes
    config_hash: bytes
    participants: tuple[str, ...]
    input_commitments: tuple[bytes, ...]
    output_hash: bytes

    @property
    def digest(self) -> bytes:
        return job_digest(self.purpose_hash, self.config_hash, list(self.participants), self.output_hash)

    @property
    def job_id(self) -> bytes:
        return job_id_of(self.label_hash, self.digest)

    @classmethod
    def from_dict(cls, record: dict[str, Any], source: str) -> JobRecord:
        """A job record as `job_record` writes it; its `jobId` must be the one derived from its content."""
        missing = [
            k
            for k in ("purposeHash", "participants", "inputCommitments", "outputHash", "jobId", "labelHash")
            if k not in record
        ]
        if missing:
            raise InvalidInput(f"{source}: the job record lacks {', '.join(missing)}.")
        participants = record["participants"]
        if not isinstance(participants, list) or not all(isinstance(p, str) and is_address(p) for p in participants):
            raise InvalidInput(
                f"{source}: participants must be member addresses (0x…); set `member` for every "
                "party in the job config."
            )
        texts = ("purposeHash", "outputHash", "jobId", "labelHash")
        if not all(isinstance(record[k], str) for k in texts) or not isinstance(record.get("configHash", ""), str):
            raise InvalidInput(f"{source}: {', '.join(texts)} and configHash must be 0x-prefixed bytes32 strings.")
        commitments = record["inputCommitments"]
        if (
            not isinstance(commitments, list)
            or len(commitments) != len(participants)
            or not all(isinstance(c, str) for c in commitments)
        ):
            raise InvalidInput(f"{source}: inputCommitments must be a list of bytes32, one per participant.")
        out = cls(
            label_hash=parse_bytes32(record["labelHash"], f"{source}: labelHash"),
            purpose_hash=parse_bytes32(record["purposeHash"], f"{source}: purposeHash"),
            config_hash=parse_bytes32(record.get("configHash", "0x" + "00" * 32), f"{source}: configHash"),
            participants=tuple(to_checksum_address(p) for p in participants),
            input_commitments=tuple(parse_bytes32(c, f"{source}: input commitment") for c in commitments),
            output_hash=parse_bytes32(record["outputHash"], f"{source}: outputHash"),
        )
        if parse_bytes32(record["jobId"], f"{source}: jobId") != out.job_id:
            raise InvalidInput(
                f"{source}: the record's jobId {record['jobId']} is not the id of its content "
                f"({to_hex(out.job_id)}): the record was altered."
            )
        return out

    @classmethod
    def from_file(cls, path: Path) -> JobRecord:
        """A job record as `creditshare mpc party --record` (or the party's output file) writes it."""
        try:
            data = path.read_bytes()
        except OSError as err:
            raise InvalidInput(f"cannot read {path}: {err.strerror or err}") from err
        try:
            raw = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise InvalidInput(f"{path} line {line}: not UTF-8 text (byte {err.start}).") from None
        except json.JSONDecodeError as err:
            raise InvalidInput(f"{path} is not JSON: {err.msg} (line {err.lineno})") from None
        except (ValueError, RecursionError) as err:
            raise InvalidInput(f"{path} is not JSON: {type(err).__name__}.") from None
        record = raw.get("record", raw) if isinstance(raw, dict) else None
        if not isinstance(record, dict):
            raise InvalidInput(f"{path} holds no MPC job record.")
        return cls.from_dict(record, str(path))


class MpcJobLog:
    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("MpcJobLog")

    def status(self, job_id: bytes) -> dict[str, Any] | None:
        """The on-chain record of a job, who attested it and who has not; None if it is not recorded."""
        (count,) = self.client.call(self.contract, "attestations", job_id)
        if count == 0:
            return None
        (job,) = self.client.call(self.contract, "job", job_id)
        label, purpose, config, output, digest, recorder, recorded_at, participants, commitments = job
        attested = [p for p in participants if self.client.call(self.contract, "hasAttested", job_id, p)[0]]
        return {
            "job_id": to_hex(job_id),
            "label_hash": to_hex(label),
            "purpose_hash": to_hex(purpose),
            "config_hash": to_hex(config),
            "output_hash": to_hex(output),
            "digest": to_hex(digest),
            "recorder": to_checksum_address(recorder),
            "recorded_at": recorded_at,
            "participants": [to_checksum_address(p) for p in participants],
            # a participant's commitment is zero until that participant records or attests
            "input_commitments": [to_hex(c) for c in commitments],
            "attested_by": [to_checksum_address(p) for p in attested],
            "not_attested_by": [to_checksum_address(p) for p in participants if p not in attested],
            # the contract's own verdict (every listed participant attested), which readers rely on
            "fully_attested": bool(self.client.call(self.contract, "isFullyAttested", job_id)[0]),
        }

    def record_or_attest(self, record: JobRecord, account: LocalAccount) -> str:
        """Records the job with this participant's own commitment, or attests it if another participant recorded
        it, but only if the whole on-chain record equals `record` (terms, and every commitment written so far).
        Returns what was done; raises InvalidInput (nothing sent) if the records differ."""
        if len(record.participants) > MAX_PARTICIPANTS:
            raise InvalidInput(
                f"a job has at most {MAX_PARTICIPANTS} participants; this one has {len(record.participants)}."
            )
        me = to_checksum_address(account.address)
        # a non-participant's call is sent anyway, so that the contract states the refusal
        own = record.input_commitments[record.participants.index(me)] if me in record.participants else ZERO32
        existing = self.status(record.job_id)
        if existing is None:
            call = encode_call(
                self.contract,
                "record",
                record.label_hash,
                record.purpose_hash,
                record.config_hash,
                list(record.participants),
                record.output_hash,
                own,
            )
            try:
                self.client.transact(call, account, "recording the MPC job")
                return "recorded"
            except TransactionRejected as err:
                # another participant recorded the same job meanwhile (e.g. both sides of a PSI run): attest it
                if "MpcJobLogAlreadyRecorded" not in str(err.reason or err):
                    raise
                existing = self.status(record.job_id)
                if existing is None:
                    raise
        differences = record_differences(existing, record)
        if differences:
            raise InvalidInput(
                f"job {to_hex(record.job_id)}: the record on chain differs from this participant's own copy "
                f"({'; '.join(differences)}); not attesting it."
            )
        if me in existing["attested_by"]:
            return "already attested"
        call = encode_call(self.contract, "attest", record.job_id, own)
        self.client.transact(call, account, "attesting the MPC job")
        return "attested"


def record_differences(status: dict[str, Any], record: JobRecord) -> list[str]:
    """How the on-chain record (`status`) differs from a party's own copy; [] if they agree.

    Every field is compared: name, purpose, config hash, output hash, participants in order, and each commitment
    already written on chain (a participant that has not attested yet has none)."""
    out = []
    for key, mine in (
        ("label_hash", record.label_hash),
        ("purpose_hash", record.purpose_hash),
        ("config_hash", record.config_hash),
        ("output_hash", record.output_hash),
    ):
        if status[key].lower() != to_hex(mine).lower():
            out.append(f"{key} is {status[key]} on chain, {to_hex(mine)} in this copy")
    if [p.lower() for p in status["participants"]] != [p.lower() for p in record.participants]:
        out.append(f"participants are {', '.join(status['participants'])} on chain")
    else:
        for who, onchain, mine in zip(status["participants"], status["input_commitments"], record.input_commitments):
            if onchain.lower() not in (to_hex(ZERO32), to_hex(mine).lower()):
                out.append(f"the input commitment of {who} is {onchain} on chain, {to_hex(mine)} in this copy")
    return out
