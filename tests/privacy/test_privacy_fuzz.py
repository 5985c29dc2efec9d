"""Every file privacy/ reads, fed random and mutated bytes: only the project's own error escapes, and it
names the file (issue #13, finding 3, for the MPC config, subject lists, party inputs, PSI ids, party
outputs and job records)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.bindings.mpc_job_log import JobRecord
from creditshare.core.errors import CreditShareError
from privacy.config import load_config, parse_config
from privacy.inputs import CROSS_FEATURES, load_inputs
from privacy.psi import read_ids
from privacy.record import job_record, output_hash, read_output
from tests.privacy.privacy_helpers import job_config, subject

SUBJECTS = [subject(i) for i in range(4)]
PORTS = [20001, 20002, 20003]
CROSS = job_config("cross_platform_features", subjects=SUBJECTS, ports=PORTS)
BINNING = job_config("federated_binning", bin_edges={"age": [25, 40], "amount": [1000]}, ports=PORTS)


def toml_config() -> bytes:
    lines = ['job_id = "fuzz"', 'computation = "cross_platform_features"', 'purpose = "p"', 'subjects_file = "s.txt"']
    for p in CROSS["parties"]:
        lines += ["[[parties]]", f'host = "{p["host"]}"', f"port = {p['port']}", f'member = "{p["member"]}"']
    return ("\n".join(lines) + "\n").encode()


def cross_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["subject", *CROSS_FEATURES])
    w.writerow([SUBJECTS[0], 100, 10, 0, 1, 5])
    w.writerow([SUBJECTS[2], 7, 0, 1, 1, 40])
    return out.getvalue().encode()


def binning_csv() -> bytes:
    return b"age,amount,bad\n30,500,0\n45,2000,1\n20,999,0\n"


def party_output() -> bytes:
    revealed = {"features": ["xp_outstanding_fen"], "subjects": {SUBJECTS[0]: [1]}}
    digest = output_hash(revealed)
    members = [p["member"] for p in CROSS["parties"]]
    record = job_record(
        job_id="fuzz",
        participants=members,
        purpose="p",
        input_commitments=["0x" + f"{i + 1:064x}" for i in range(3)],
        output_hash=digest,
        computation="cross_platform_features",
        config_hash="0x" + "ab" * 32,
    )
    body = {"job_id": "fuzz", "computation": "cross_platform_features", "revealed": revealed}
    return json.dumps({**body, "output_hash": digest, "record": record}, indent=1).encode()


def _subjects_file(folder: Path) -> None:
    (folder / "s.txt").write_text("\n".join(SUBJECTS) + "\n")


# (file name, valid content, reader): every reader takes the path of the (mutated) file
LOADERS: dict[str, tuple[str, bytes, Callable[[Path], Any]]] = {
    "config json": ("job.json", json.dumps(CROSS, indent=1).encode(), load_config),
    "config toml": ("job.toml", toml_config(), load_config),
    "subjects file": ("s.txt", "\n".join(SUBJECTS).encode(), lambda p: load_config(p.with_name("job.toml"))),
    "cross inputs csv": ("in.csv", cross_csv(), lambda p: load_inputs(parse_config(CROSS), p)),
    "cross inputs json": (
        "in.json",
        json.dumps({"subjects": {SUBJECTS[1]: [1, 2, 0, 1, 3]}}).encode(),
        lambda p: load_inputs(parse_config(CROSS), p),
    ),
    "binning inputs csv": ("rows.csv", binning_csv(), lambda p: load_inputs(parse_config(BINNING), p)),
    "binning inputs json": (
        "rows.json",
        json.dumps({"rows": [{"age": 30, "amount": 5, "bad": 1}]}).encode(),
        lambda p: load_inputs(parse_config(BINNING), p),
    ),
    "psi ids": ("ids.txt", ("\n".join(SUBJECTS) + "\n").encode(), lambda p: read_ids(str(p))),
    "party output": ("out.json", party_output(), lambda p: read_output(p, "cross_platform_features")),
    "job record": ("out.json", party_output(), JobRecord.from_file),
}


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """`valid` with a few bytes flipped, inserted, deleted or cut off; or random bytes."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=300))
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "special"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        else:
            special = [b"\xff", b"\x00", b'"', b"\n", b"1e999", b"-1", b"[", b"{}", b"NaN", b"9" * 40, b"\\ud800"]
            data[pos:pos] = draw(st.sampled_from(special))
    return bytes(data)


def check_loader(name: str, content: bytes) -> None:
    file_name, valid, reader = LOADERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _subjects_file(folder)
        (folder / "job.toml").write_bytes(toml_config())
        path = folder / file_name
        path.write_bytes(content)
        try:
            reader(path)
        except CreditShareError as err:
            assert "Traceback" not in str(err)
            assert path.name in str(err), (name, str(err))  # the error names the file
        # anything else propagates and fails the test


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_loader_reads_its_valid_file(name: str) -> None:
    file_name, valid, reader = LOADERS[name]
    check_loader(name, valid)


@pytest.mark.parametrize("name", sorted(LOADERS))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_or_random_bytes_raise_only_the_projects_error(name: str, data: st.DataObject) -> None:
    check_loader(name, data.draw(mutated(LOADERS[name][1])))


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("cross inputs csv", cross_csv() + b"0x" + b"0" * 64 + b",1,2,3,1,\xe9\n", r"in.csv line 4: not UTF-8 text"),
        ("cross inputs csv", cross_csv() + b'"' + b"x" * 200_000 + b"\n", r"in.csv line 4: malformed CSV"),
        ("binning inputs csv", b"age,amount,bad\n30,5\x00,0\n", r"rows.csv line 2: a NUL byte"),
        ("binning inputs csv", b"age,amount,bad\n30,5,0,9\n", r"rows.csv line 2: 4 fields; the header has 3"),
        ("config json", json.dumps(CROSS, indent=1).encode()[:-40], r"job.json line \d+, column \d+: not valid JSON"),
        ("config json", b"[" * 100_000, r"job.json is not valid JSON: nested too deeply"),
        ("config json", b'{"job_id": "\\ud800"}', r"job.json holds a string that is not valid Unicode"),
        ("config toml", b"job_id = \n", r"job.toml is not valid TOML"),
        ("subjects file", b"0x1234\n", r"s.txt line 1: subject id '0x1234' is not 0x-prefixed 32-byte hex"),
        ("psi ids", f"{SUBJECTS[0]}\n\nzz\n".encode(), r"ids.txt line 3: 'zz' is not a 0x-prefixed 32-byte hex id"),
        ("party output", b"\xff", r"out.json line 1: not UTF-8 text"),
        ("job record", b'{"record": 1}', r"out.json holds no MPC job record"),
    ],
)
def test_a_malformed_file_is_one_error_naming_the_file_and_line(name: str, content: bytes, message: str) -> None:
    file_name, _, reader = LOADERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _subjects_file(folder)
        (folder / "job.toml").write_bytes(toml_config())
        path = folder / file_name
        path.write_bytes(content)
        with pytest.raises(CreditShareError, match=message):
            reader(path)
