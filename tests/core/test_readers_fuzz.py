"""Property tests (issue #13, "a property test per parser"): the readers of user files that had none, fed random
bytes and mutations of a valid file, return rows or raise the project's own error naming the file; nothing else
escapes. Settlement, credit-list, keystore, model card, settings, deployments, oracle and MPC readers have
theirs beside their tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.core.errors import CreditShareError
from creditshare.domain import admissions, payouts, training_data, trips
from scoring.trips import TripLog

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIGNER = "0x" + "ab" * 20

VALID: dict[str, bytes] = {
    "history": (
        b"settlement_id,shipper,platform,carrier,amount,invoice_date,due_date,paid_date,status,status_date\n"
        b"s1,uscc:A,uscc:P,driver:D,100,1735689600,1738368000,1737331200,Paid,1737331200\n"
        b'"s2",uscc:B,uscc:P,driver:D,250,1735689600,1738368000,0,Invoiced,1735689600\n'
    ),
    "admissions": (
        b"member,org,roles\n0x" + b"12" * 20 + b",uscc:NEW1,LENDER;SHIPPER\n0x" + b"34" * 20 + b",uscc:NEW2,CARRIER\n"
    ),
    "validators": (
        b"member,signer,org,roles\n"
        b"0x" + b"12" * 20 + b"," + SIGNER.encode() + b",,\n"
        b"0x" + b"34" * 20 + b",0x" + b"cd" * 20 + b",uscc:V2,PLATFORM\n"
    ),
    "payouts": (
        b"reference,platform,carrier,amount_fen,delivery_date,due_date,evidence\n"
        b"P-1,uscc:PLAT1,driver:D1,80000,2026-01-05,2026-02-04,evidence/waybill-1.txt\n"
        b"P-2,uscc:PLAT1,driver:D2,120000,2026-01-06,2026-02-05,evidence/waybill-2.txt\n"
    ),
    "trips": (
        b"settlement,trip_log,origin_lat,origin_lon,destination_lat,destination_lon\n"
        b"0x" + b"11" * 32 + b",trip.json,31.23,121.47,30.27,120.15\n"
    ),
}

READERS: dict[str, Callable[[Path], Any]] = {
    "history": training_data.read_settlement_history,
    "admissions": lambda path: admissions.read_admissions(path.parent / "keystore", path),
    "validators": lambda path: admissions.read_validators(path.parent / "keystore", path),
    "payouts": payouts.parse_csv,
    "trips": trips.parse_csv,
}


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'\x00\r\n",;:./-0189aeZ \xe9\xff'))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "set":
            data[at] = byte
        elif op == "insert":
            data[at:at] = bytes([byte])
        elif len(data) > 1:
            del data[at]
    return bytes(data)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("readers")
    shutil.copytree(EXAMPLES / "evidence", base / "evidence")
    (base / "keystore").mkdir()
    t = 1_767_225_600 - np.linspace(3 * 3600, 0, 40).astype(np.int64)
    lat, lon = np.linspace(31.23, 30.27, 40), np.linspace(121.47, 120.15, 40)
    (base / "trip.json").write_bytes(TripLog("沪A12345", "electric", 5000.0, 5165.0, t, lat, lon).dumps())
    return base


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_valid_example_is_read(folder, kind):
    path = folder / f"{kind}.csv"
    path.write_bytes(VALID[kind])
    assert len(READERS[kind](path)) >= 1


@pytest.mark.parametrize("kind", sorted(VALID))
def test_any_bytes_give_rows_or_one_error_naming_the_file(folder, kind):
    path = folder / f"fuzz-{kind}.csv"

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.one_of(mutated(VALID[kind]), st.binary(max_size=300)))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            READERS[kind](path)
        except CreditShareError as err:
            assert str(path) in str(err) or "line " in str(err), str(err)

    check()
