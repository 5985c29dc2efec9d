"""Recording multi-party computations on chain (MpcJobLog) through the chain client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from creditshare.chain import ChainClient, encode_call
from creditshare.errors import InvalidInput
from creditshare.ids import parse_bytes32, to_hex


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


class JobLog:
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


@dataclass(frozen=True)
class MpcOutput:
    """A party's output file of a finished MPC job, its output hash checked against its content."""

    path: Path
    job_id: bytes
    computation: str
    revealed: dict[str, Any]
    output_hash: str


def read_output(path: Path, computation: str) -> MpcOutput:
    """Read a `creditshare mpc party --output` file and check that `revealed` hashes to its output hash.

    Raises InvalidInput if the file is unreadable, is another computation's output, or was altered."""
    from privacy.record import job_id_bytes32, output_hash

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InvalidInput(f"cannot read MPC output {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise InvalidInput(f"MPC output {path} is not JSON: {err.msg} (line {err.lineno})") from err
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), dict) for k in ("revealed", "record")):
        raise InvalidInput(f"{path} is not an MPC party output file (revealed or record missing).")
    if raw.get("computation") != computation:
        raise InvalidInput(f"{path} is the output of a {raw.get('computation')!r} job; a {computation!r} job "
                           "output is needed.")
    digest = output_hash(raw["revealed"])
    claimed = {str(raw.get("output_hash", "")).lower(), str(raw["record"].get("outputHash", "")).lower()}
    if claimed != {digest}:
        raise InvalidInput(f"{path}: the revealed aggregates hash to {digest}, not to the output hash the file "
                           "states: the file was altered.")
    job_id = parse_bytes32(str(raw["record"].get("jobId", "")), "jobId")
    if to_hex(job_id) != job_id_bytes32(str(raw.get("job_id", ""))):
        raise InvalidInput(f"{path}: the record's jobId does not belong to job {raw.get('job_id')!r}.")
    return MpcOutput(Path(path), job_id, computation, raw["revealed"], digest)


def check_recorded(client: ChainClient, output: MpcOutput) -> dict[str, Any]:
    """The job's on-chain record; raises InvalidInput unless it is recorded with the same output hash."""
    status = JobLog(client).status(output.job_id)
    if status is None:
        raise InvalidInput(f"MPC job {to_hex(output.job_id)} of {output.path} is not recorded on chain (MpcJobLog): "
                           "its participants must `creditshare mpc record` it first.")
    if status["output_hash"].lower() != output.output_hash:
        raise InvalidInput(f"{output.path}: its output hash {output.output_hash} differs from the hash recorded on "
                           f"chain for job {to_hex(output.job_id)} ({status['output_hash']}): refusing it.")
    return status
