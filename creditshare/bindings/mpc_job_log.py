"""The MpcJobLog contract: multi-party computations recorded and attested on chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import parse_bytes32, to_hex


@dataclass(frozen=True)
class JobRecord:
    job_id: bytes
    purpose_hash: bytes
    config_hash: bytes
    participants: tuple[str, ...]
    input_commitments: tuple[bytes, ...]
    output_hash: bytes

    @classmethod
    def from_file(cls, path: Path) -> JobRecord:
        """A job record as `creditshare mpc party --record` (or the party's output file) writes it."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise InvalidInput(f"cannot read {path}: {err.strerror}") from err
        except json.JSONDecodeError as err:
            raise InvalidInput(f"{path} is not JSON: {err.msg} (line {err.lineno})") from err
        record = raw.get("record", raw) if isinstance(raw, dict) else None
        if not isinstance(record, dict):
            raise InvalidInput(f"{path} holds no MPC job record.")
        missing = [k for k in ("jobId", "purposeHash", "participants", "inputCommitments", "outputHash")
                   if k not in record]
        if missing:
            raise InvalidInput(f"{path}: the job record lacks {', '.join(missing)}.")
        participants = record["participants"]
        if not isinstance(participants, list) or not all(isinstance(p, str) and is_address(p) for p in participants):
            raise InvalidInput(f"{path}: participants must be member addresses (0x…); set `member` for every "
                               "party in the job config.")
        return cls(
            job_id=parse_bytes32(record["jobId"], "jobId"),
            purpose_hash=parse_bytes32(record["purposeHash"], "purposeHash"),
            config_hash=parse_bytes32(record.get("configHash", "0x" + "00" * 32), "configHash"),
            participants=tuple(to_checksum_address(p) for p in participants),
            input_commitments=tuple(parse_bytes32(c, "input commitment") for c in record["inputCommitments"]),
            output_hash=parse_bytes32(record["outputHash"], "outputHash"),
        )


class MpcJobLog:
    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("MpcJobLog")

    def status(self, job_id: bytes) -> dict[str, Any] | None:
        (count,) = self.client.call(self.contract, "attestations", job_id)
        if count == 0:
            return None
        (job,) = self.client.call(self.contract, "job", job_id)
        purpose, config, output, recorder, recorded_at, participants, commitments = job
        attested = [p for p in participants if self.client.call(self.contract, "hasAttested", job_id, p)[0]]
        return {"job_id": to_hex(job_id), "purpose_hash": to_hex(purpose), "config_hash": to_hex(config),
                "output_hash": to_hex(output), "recorder": to_checksum_address(recorder), "recorded_at": recorded_at,
                "participants": [to_checksum_address(p) for p in participants],
                "input_commitments": [to_hex(c) for c in commitments],
                "attested_by": [to_checksum_address(p) for p in attested]}

    def record_or_attest(self, record: JobRecord, account: LocalAccount) -> str:
        """Records the job, or attests it if another participant recorded it. Returns what was done."""
        existing = self.status(record.job_id)
        if existing is None:
            call = encode_call(self.contract, "record", record.job_id, record.purpose_hash, record.config_hash,
                               list(record.participants), list(record.input_commitments), record.output_hash)
            self.client.transact(call, account, "recording the MPC job")
            return "recorded"
        if account.address in existing["attested_by"]:
            return "already attested"
        call = encode_call(self.contract, "attest", record.job_id, record.output_hash)
        self.client.transact(call, account, "attesting the MPC job")
        return "attested"
