"""The demo's trip logs (creditshare/demo/freight.py), without a chain: the same rows and seed give the same
bytes in any process (the demo's rerun used to write new vehicle ids, from Python's per-process salted
hash(), so every log had a new digest and ~59 trip verdicts were sent again), and a log already on disk with
those bytes is not written again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from creditshare.demo import freight
from creditshare.demo.freight import vehicle_id, write_if_changed

ROWS = [
    {
        "platform": f"uscc:DEMOPLAT{1 + i % 2}",
        "reference": f"WB-{i}",
        "shipper": f"uscc:DEMOSHIP00{1 + i % 3}",
        "carrier": f"driver:DEMOCARR00{1 + i % 4}",
        "invoice_date": f"2026-11-{10 + i:02d}",
    }
    for i in range(8)
]
SCRIPT = """
import hashlib, json, sys
from pathlib import Path
from creditshare.demo import freight
folder = Path(sys.argv[1])
trips, kinds = freight._trips(json.loads(sys.argv[2]), folder, 7)
print(json.dumps({t["settlement"]: hashlib.sha256((folder / t["trip_log"]).read_bytes()).hexdigest()
                  for t in trips if t["trip_log"]}))
"""


def digests_in_process(folder: Path, hash_seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), json.dumps(ROWS)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(done.stdout)


def test_the_same_rows_and_seed_give_the_same_log_bytes_in_any_process(tmp_path):
    first = digests_in_process(tmp_path / "a", "1")
    second = digests_in_process(tmp_path / "b", "2")
    assert len(first) == len(ROWS) - 1  # one settlement is presented without a log
    assert first == second


def test_a_rerun_leaves_identical_logs_alone_and_rewrites_a_changed_one(tmp_path):
    trips, _ = freight._trips(ROWS, tmp_path, 7)
    paths = [tmp_path / t["trip_log"] for t in trips if t["trip_log"]]
    stamps = {p: p.stat().st_mtime_ns for p in paths}
    os.utime(paths[0], ns=(1, 1))  # an old stamp: any write would change it
    paths[1].write_bytes(b"{}")  # a log damaged by hand
    again, _ = freight._trips(ROWS, tmp_path, 7)
    assert again == trips
    assert paths[0].stat().st_mtime_ns == 1  # not written again
    assert all(p.stat().st_mtime_ns == stamps[p] for p in paths[2:])
    assert hashlib.sha256(paths[1].read_bytes()).hexdigest() != hashlib.sha256(b"{}").hexdigest()


def test_write_if_changed(tmp_path):
    path = tmp_path / "log.json"
    assert write_if_changed(path, b"abc") and path.read_bytes() == b"abc"
    assert not write_if_changed(path, b"abc")
    assert write_if_changed(path, b"abd") and path.read_bytes() == b"abd"


def test_a_carriers_vehicle_id_is_a_fixed_digest_of_its_name():
    assert vehicle_id("driver:DEMOCARR001") == "V730494"
    assert vehicle_id("driver:DEMOCARR002") != vehicle_id("driver:DEMOCARR001")
