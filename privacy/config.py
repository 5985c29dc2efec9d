"""MPC job configuration: who the parties are, what they compute, on which subjects.

Every party holds its own copy of the job config. The copies must agree on
everything that shapes the computation (parties, job id, computation, subject
list, bin edges); `ConfigSummary` is what the parties compare at start so that
a mismatch fails with a message naming the field that differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_utils import is_address, keccak

from creditshare.core.errors import InvalidInput
from privacy.files import parse_json, parse_toml, read_text

COMPUTATIONS = ("cross_platform_features", "federated_binning")
DEFAULT_CONNECT_TIMEOUT_S = 20.0
DEFAULT_JOB_TIMEOUT_S = 900.0
# the fewest parties for which MPyC's Shamir sharing hides inputs (threshold t = (m - 1) // 2 >= 1)
MIN_PARTIES = 3


@dataclass(frozen=True)
class PartyAddress:
    """One MPC party: where it listens and, optionally, its consortium member address."""

    name: str
    host: str
    port: int
    member: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class MpcConfig:
    """A validated job config (identical copies at every party)."""

    job_id: str
    computation: str
    purpose: str
    parties: tuple[PartyAddress, ...]
    subjects: tuple[str, ...] = ()
    bin_edges: dict[str, tuple[int, ...]] = field(default_factory=dict)
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    job_timeout_s: float = DEFAULT_JOB_TIMEOUT_S
    ssl: bool = False

    @property
    def n_parties(self) -> int:
        return len(self.parties)

    def canonical(self) -> dict[str, Any]:
        """Everything the parties must agree on (timeouts are local and excluded)."""
        return {
            "job_id": self.job_id,
            "computation": self.computation,
            "purpose": self.purpose,
            "parties": [{"name": p.name, "host": p.host, "port": p.port, "member": p.member} for p in self.parties],
            "subjects": list(self.subjects),
            "bin_edges": {k: list(v) for k, v in sorted(self.bin_edges.items())},
            "ssl": self.ssl,
        }

    def config_hash(self) -> str:
        return self._config_hash

    @cached_property
    def _config_hash(self) -> str:
        # subject lists can be long; hash them once
        return "0x" + keccak(canonical_json(self.canonical())).hex()

    def summary(self) -> ConfigSummary:
        return ConfigSummary(
            job_id=self.job_id,
            computation=self.computation,
            n_parties=self.n_parties,
            endpoints=tuple(p.endpoint for p in self.parties),
            n_subjects=len(self.subjects),
            subjects_hash="0x" + keccak(canonical_json(list(self.subjects))).hex(),
            bins_hash="0x" + keccak(canonical_json(self.canonical()["bin_edges"])).hex(),
            config_hash=self.config_hash(),
        )


@dataclass(frozen=True)
class ConfigSummary:
    """The part of a config that parties exchange to detect mismatches."""

    job_id: str
    computation: str
    n_parties: int
    endpoints: tuple[str, ...]
    n_subjects: int
    subjects_hash: str
    bins_hash: str
    config_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "computation": self.computation,
            "n_parties": self.n_parties,
            "endpoints": list(self.endpoints),
            "n_subjects": self.n_subjects,
            "subjects_hash": self.subjects_hash,
            "bins_hash": self.bins_hash,
            "config_hash": self.config_hash,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConfigSummary:
        try:
            return cls(
                job_id=str(data["job_id"]),
                computation=str(data["computation"]),
                n_parties=int(data["n_parties"]),
                endpoints=tuple(str(e) for e in data["endpoints"]),
                n_subjects=int(data["n_subjects"]),
                subjects_hash=str(data["subjects_hash"]),
                bins_hash=str(data["bins_hash"]),
                config_hash=str(data["config_hash"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"malformed config summary from a peer: {err}.") from err

    def mismatch(self, other: ConfigSummary, *, me: int, them: int) -> str | None:
        """A one-line description of how `other` (party `them`) differs, or None."""
        if other.n_parties != self.n_parties:
            return f"party {them} config lists {other.n_parties} parties; party {me} lists {self.n_parties}."
        if other.job_id != self.job_id:
            return f"party {them} config has job id {other.job_id!r}; party {me} has {self.job_id!r}."
        if other.computation != self.computation:
            return f"party {them} config computes {other.computation!r}; party {me} computes {self.computation!r}."
        if other.endpoints != self.endpoints:
            return (
                f"party {them} config lists party addresses {', '.join(other.endpoints)}; "
                f"party {me} lists {', '.join(self.endpoints)}."
            )
        if other.n_subjects != self.n_subjects:
            return f"party {them} config lists {other.n_subjects} subjects; party {me} lists {self.n_subjects}."
        if other.subjects_hash != self.subjects_hash:
            return f"party {them} config has a different subject list from party {me}."
        if other.bins_hash != self.bins_hash:
            return f"party {them} config has different bin edges from party {me}."
        if other.config_hash != self.config_hash:
            return (
                f"party {them} config hash {other.config_hash[:18]}… differs from "
                f"party {me}'s {self.config_hash[:18]}… (purpose, names or members differ)."
            )
        return None


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8): the input of every hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_config(path: Path) -> MpcConfig:
    """Read a JSON or TOML job config and validate it."""
    path = Path(path)
    text = read_text(path, "MPC config")
    raw = parse_toml(text, path, "MPC config") if path.suffix == ".toml" else parse_json(text, path, "MPC config")
    if not isinstance(raw, dict):
        raise InvalidInput(f"MPC config {path} must be an object at the top level.")
    return parse_config(raw, base_dir=path.parent, source=str(path))


def parse_config(raw: dict[str, Any], *, base_dir: Path = Path("."), source: str = "config") -> MpcConfig:
    """Validate a config mapping (as read from JSON/TOML)."""

    def need(key: str) -> Any:
        if key not in raw:
            raise InvalidInput(f"{source}: missing required key {key!r}.")
        return raw[key]

    job_id = need("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise InvalidInput(f"{source}: job_id must be a non-empty string.")
    computation = need("computation")
    if computation not in COMPUTATIONS:
        raise InvalidInput(f"{source}: computation must be one of {', '.join(COMPUTATIONS)}; got {computation!r}.")
    purpose = raw.get("purpose", "")
    if not isinstance(purpose, str):
        raise InvalidInput(f"{source}: purpose must be a string.")
    parties = _parse_parties(need("parties"), source)

    subjects: tuple[str, ...] = ()
    bin_edges: dict[str, tuple[int, ...]] = {}
    if computation == "cross_platform_features":
        subjects = _parse_subjects(raw, base_dir, source)
    else:
        bin_edges = _parse_bins(need("bin_edges"), source)

    timeouts = raw.get("timeouts", {})
    if not isinstance(timeouts, dict):
        raise InvalidInput(f"{source}: timeouts must be an object.")
    connect_s = _positive(timeouts.get("connect_s", DEFAULT_CONNECT_TIMEOUT_S), "timeouts.connect_s", source)
    job_s = _positive(timeouts.get("job_s", DEFAULT_JOB_TIMEOUT_S), "timeouts.job_s", source)
    return MpcConfig(
        job_id=job_id,
        computation=computation,
        purpose=purpose,
        parties=parties,
        subjects=subjects,
        bin_edges=bin_edges,
        connect_timeout_s=connect_s,
        job_timeout_s=job_s,
        ssl=bool(raw.get("ssl", False)),
    )


def _parse_parties(value: Any, source: str) -> tuple[PartyAddress, ...]:
    if not isinstance(value, list):
        raise InvalidInput(f"{source}: parties must be a list of at least {MIN_PARTIES} parties.")
    if len(value) < MIN_PARTIES:
        # MPyC's Shamir threshold is t = (m - 1) // 2: with 2 parties t = 0 and every share is the raw input
        raise InvalidInput(
            f"{source}: an MPC job needs at least {MIN_PARTIES} parties; got {len(value)}. With 2 parties the "
            "secret-sharing threshold is 0, so each party would see the other's raw inputs (use PSI for two holders)."
        )
    parties = []
    for i, p in enumerate(value):
        if not isinstance(p, dict):
            raise InvalidInput(f"{source}: party {i} must be an object with host and port.")
        host, port = p.get("host"), p.get("port")
        if not isinstance(host, str) or not host:
            raise InvalidInput(f"{source}: party {i} needs a host.")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput(f"{source}: party {i} port must be an integer in 1..65535; got {port!r}.")
        member = p.get("member")
        if member is not None and not (isinstance(member, str) and is_address(member)):
            raise InvalidInput(f"{source}: party {i} member must be a 0x member address; got {member!r}.")
        parties.append(PartyAddress(name=str(p.get("name", f"party{i}")), host=host, port=port, member=member))
    seen: dict[str, int] = {}
    for i, party in enumerate(parties):
        if party.member is None:
            continue
        first = seen.setdefault(party.member.lower(), i)
        if first != i:
            # one holder with two of the shares reaches MPyC's threshold alone and reads the other inputs
            raise InvalidInput(
                f"{source}: parties {first} and {i} are the same member {party.member}: an MPC job needs "
                f"{MIN_PARTIES} distinct holders (one holding two shares could reconstruct the others' inputs)."
            )
    endpoints = [p.endpoint for p in parties]
    if len(set(endpoints)) != len(endpoints):
        raise InvalidInput(f"{source}: two parties share the same host:port.")
    return tuple(parties)


def _parse_subjects(raw: dict[str, Any], base_dir: Path, source: str) -> tuple[str, ...]:
    if "subjects" in raw:
        items = raw["subjects"]
    elif "subjects_file" in raw:
        if not isinstance(raw["subjects_file"], str) or not raw["subjects_file"]:
            raise InvalidInput(f"{source}: subjects_file must be a file name.")
        subj_path = base_dir / raw["subjects_file"]
        lines = read_text(subj_path, f"{source}: subjects_file").splitlines()
        items = []
        for line_no, line in enumerate(lines, start=1):
            if line.strip():
                items.append(normalize_subject(line.strip(), f"{subj_path} line {line_no}"))
        if not items:
            raise InvalidInput(f"{source}: subjects_file {subj_path} lists no subjects.")
    else:
        raise InvalidInput(f"{source}: cross_platform_features needs 'subjects' or 'subjects_file'.")
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{source}: the agreed subject list must be a non-empty list.")
    subjects = tuple(normalize_subject(s, source) for s in items)
    if len(set(subjects)) != len(subjects):
        raise InvalidInput(f"{source}: the agreed subject list has duplicates.")
    return subjects


def normalize_subject(value: Any, source: str = "input") -> str:
    """A subject id as lower-case 0x-prefixed 32-byte hex."""
    if not isinstance(value, str):
        raise InvalidInput(f"{source}: subject ids must be 0x-prefixed 32-byte hex strings.")
    s = value.lower()
    if not s.startswith("0x") or len(s) != 66:
        raise InvalidInput(f"{source}: subject id {value[:20]!r} is not 0x-prefixed 32-byte hex.")
    try:
        bytes.fromhex(s[2:])
    except ValueError as err:
        raise InvalidInput(f"{source}: subject id {value[:20]!r} is not hex.") from err
    return s


def _parse_bins(value: Any, source: str) -> dict[str, tuple[int, ...]]:
    if not isinstance(value, dict) or not value:
        raise InvalidInput(f"{source}: bin_edges must map each feature to a list of integer edges.")
    out: dict[str, tuple[int, ...]] = {}
    for name, edges in value.items():
        if (
            not isinstance(edges, list)
            or not edges
            or not all(isinstance(e, int) and not isinstance(e, bool) for e in edges)
        ):
            raise InvalidInput(f"{source}: bin_edges[{name!r}] must be a non-empty list of integers.")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise InvalidInput(f"{source}: bin_edges[{name!r}] must be strictly increasing.")
        out[str(name)] = tuple(edges)
    return out


def _positive(value: Any, name: str, source: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{source}: {name} must be a positive number of seconds; got {value!r}.")
    return float(value)
