"""The record of an MPC job: what the chain (DataBus) stores about it.

bytes32 fields are 0x-prefixed lower-case hex, ready for a contract call.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from eth_utils import keccak

from creditshare.errors import InvalidInput
from privacy.config import MpcConfig, canonical_json


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
    """A job record for the chain: jobId, participants, purposeHash, commitments, outputHash."""
    if len(input_commitments) != len(participants):
        raise InvalidInput(f"{len(participants)} participants but {len(input_commitments)} "
                           "input commitments.")
    for c in (*input_commitments, output_hash):
        if not (isinstance(c, str) and c.startswith("0x") and len(c) == 66):
            raise InvalidInput(f"{c!r} is not a 0x-prefixed bytes32 hex string.")
    record: dict[str, Any] = {
        "jobId": job_id_bytes32(job_id),
        "jobLabel": job_id,
        "computation": computation,
        "participants": list(participants),
        "purpose": purpose,
        "purposeHash": bytes32_hex(keccak(purpose.encode())),
        "inputCommitments": list(input_commitments),
        "outputHash": output_hash,
    }
    if config_hash is not None:
        record["configHash"] = config_hash
    return record


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
