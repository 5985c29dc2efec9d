"""The record of an MPC job: what the chain (MpcJobLog) stores about it, and a party's output checked
against it.

bytes32 fields are 0x-prefixed lower-case hex, ready for a contract call.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak

from creditshare.bindings.mpc_job_log import JobRecord, MpcJobLog, job_digest, job_id_of, record_differences
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import parse_bytes32, to_hex
from privacy.config import MpcConfig, canonical_json
from privacy.files import load_json


def bytes32_hex(data: bytes) -> str:
    if len(data) != 32:
        raise InvalidInput(f"bytes32 needs 32 bytes; got {len(data)}.")
    return "0x" + data.hex()


def job_id_bytes32(job_id: str) -> str:
    """A job id as bytes32: used as is if it already is 32-byte hex, else keccak256 of its text."""
    if job_id.startswith("0x") and len(job_id) == 66:
        try:
            return bytes32_hex(bytes.fromhex(job_id[2:]))
        except ValueError:
            pass
    return bytes32_hex(keccak(job_id.encode()))


def new_salt() -> bytes:
    return secrets.token_bytes(32)


def input_commitment(salt: bytes, canonical_input: bytes) -> str:
    """keccak256(salt ‖ canonical input bytes): binds a party to its input, hides it."""
    if len(salt) != 32:
        raise InvalidInput(f"commitment salt must be 32 bytes; got {len(salt)}.")
    return bytes32_hex(keccak(salt + canonical_input))


def output_hash(revealed: dict[str, Any]) -> str:
    """keccak256 of the canonical JSON of the revealed aggregates (identical at every party)."""
    return bytes32_hex(keccak(canonical_json(revealed)))


def job_record(
    *,
    job_id: str,
    participants: list[str],
    purpose: str,
    input_commitments: list[str],
    output_hash: str,
    computation: str = "",
    config_hash: str | None = None,
) -> dict[str, Any]:
    """A job record for the chain: labelHash, participants, purposeHash, commitments, outputHash, and the jobId
    MpcJobLog derives from them (keccak of the label hash and the record's digest; see bindings.mpc_job_log)."""
    if len(input_commitments) != len(participants):
        raise InvalidInput(f"{len(participants)} participants but {len(input_commitments)} input commitments.")
    for c in (*input_commitments, output_hash):
        if not (isinstance(c, str) and c.startswith("0x") and len(c) == 66):
            raise InvalidInput(f"{c!r} is not a 0x-prefixed bytes32 hex string.")
    label_hash = job_id_bytes32(job_id)
    purpose_hash = bytes32_hex(keccak(purpose.encode()))
    record: dict[str, Any] = {
        "labelHash": label_hash,
        "jobLabel": job_id,
        "computation": computation,
        "participants": list(participants),
        "purpose": purpose,
        "purposeHash": purpose_hash,
        "inputCommitments": list(input_commitments),
        "outputHash": output_hash,
    }
    if config_hash is not None:
        record["configHash"] = config_hash
    if _has_member_addresses(participants):
        digest = job_digest(
            bytes.fromhex(purpose_hash[2:]),
            parse_bytes32(config_hash or "0x" + "00" * 32, "configHash"),
            participants,
            parse_bytes32(output_hash, "outputHash"),
        )
        record["digest"] = bytes32_hex(digest)
        record["jobId"] = bytes32_hex(job_id_of(bytes.fromhex(label_hash[2:]), digest))
    else:
        # parties without member addresses: nothing to record on chain (JobRecord refuses it)
        record["jobId"] = label_hash
    return record


def _has_member_addresses(participants: Any) -> bool:
    return (
        isinstance(participants, list)
        and bool(participants)
        and all(isinstance(p, str) and is_address(p) for p in participants)
    )


def participants_of(config: MpcConfig) -> list[str]:
    """Member addresses when every party has one, else the party names."""
    if all(p.member for p in config.parties):
        return [str(p.member) for p in config.parties]
    return [p.name for p in config.parties]


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that the file is either absent or complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class MpcOutput:
    """A party's output file of a finished MPC job, its output hash checked against its content."""

    path: Path
    job_id: bytes
    computation: str
    revealed: dict[str, Any]
    output_hash: str
    record: JobRecord | None = None  # None when the parties are named without member addresses (off chain)


def read_output(path: Path, computation: str) -> MpcOutput:
    """Read a `creditshare mpc party --output` file and check that `revealed` hashes to its output hash.

    Raises InvalidInput if the file is unreadable, is another computation's output, or was altered."""
    raw = load_json(Path(path), "MPC output")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), dict) for k in ("revealed", "record")):
        raise InvalidInput(f"{path} is not an MPC party output file (revealed or record missing).")
    if raw.get("computation") != computation:
        raise InvalidInput(
            f"{path} is the output of a {raw.get('computation')!r} job; a {computation!r} job output is needed."
        )
    digest = output_hash(raw["revealed"])
    claimed = {str(raw.get("output_hash", "")).lower(), str(raw["record"].get("outputHash", "")).lower()}
    if claimed != {digest}:
        raise InvalidInput(
            f"{path}: the revealed aggregates hash to {digest}, not to the output hash the file "
            "states: the file was altered."
        )
    if str(raw["record"].get("labelHash", "")).lower() != job_id_bytes32(str(raw.get("job_id", ""))):
        raise InvalidInput(f"{path}: the record's labelHash does not belong to job {raw.get('job_id')!r}.")
    record: JobRecord | None = None
    if _has_member_addresses(raw["record"].get("participants")):
        # the on-chain id is derived from the record's content: a record that was altered names another job
        record = JobRecord.from_dict(raw["record"], str(path))
        job_id = record.job_id
    else:
        # parties named without member addresses: the job cannot be on chain, its id is its label's hash
        job_id = parse_bytes32(str(raw["record"].get("jobId", "")), f"{path}: jobId")
        if to_hex(job_id) != job_id_bytes32(str(raw.get("job_id", ""))):
            raise InvalidInput(f"{path}: the record's jobId does not belong to job {raw.get('job_id')!r}.")
    return MpcOutput(Path(path), job_id, computation, raw["revealed"], digest, record)


def check_recorded(client: ChainClient, output: MpcOutput) -> dict[str, Any]:
    """The job's on-chain record, if the output may be used; else InvalidInput.

    The job must be recorded (MpcJobLog) with the same output hash, attested by every listed participant
    (one holder alone cannot make a job count by listing others who never ran it), and its whole record, every
    commitment included, must equal the output file's own record."""
    if output.record is None:
        raise InvalidInput(
            f"{output.path}: its job names parties without member addresses, so it cannot be recorded on chain; "
            "set `member` for every party in the job config."
        )
    status = MpcJobLog(client).status(output.job_id)
    if status is None:
        raise InvalidInput(
            f"MPC job {to_hex(output.job_id)} of {output.path} is not recorded on chain (MpcJobLog): "
            "its participants must `creditshare mpc record` it first."
        )
    if status["output_hash"].lower() != output.output_hash:
        raise InvalidInput(
            f"{output.path}: its output hash {output.output_hash} differs from the hash recorded on "
            f"chain for job {to_hex(output.job_id)} ({status['output_hash']}): refusing it."
        )
    if not status["fully_attested"]:
        missing = status["not_attested_by"]
        raise InvalidInput(
            f"MPC job {to_hex(output.job_id)} of {output.path} is not attested by every participant: "
            f"{len(missing)} of {len(status['participants'])} ({', '.join(missing)}) have not attested it; "
            "its output is not used until every participant runs `creditshare mpc record` on its own copy."
        )
    differences = record_differences(status, output.record)
    if differences:
        raise InvalidInput(
            f"{output.path}: its job record differs from the one on chain ({'; '.join(differences)}): refusing it."
        )
    return status
