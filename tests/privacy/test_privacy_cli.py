"""`creditshare mpc party`: the real CLI, three party processes over TCP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.privacy.privacy_helpers import job_config, subject, write_json

EXE = str(Path(sys.executable).parent / "creditshare")


def test_three_holders_compute_cross_platform_sums_through_the_cli(tmp_path: Path) -> None:
    subjects = [subject(i) for i in range(6)]
    cfg = write_json(tmp_path / "job.json", job_config("cross_platform_features", subjects=subjects))
    values = {
        0: {subjects[0]: [100, 10, 0, 1, 5]},
        1: {subjects[0]: [200, 0, 1, 1, 40], subjects[1]: [7, 7, 0, 1, 3]},
        2: {subjects[2]: [1, 0, 0, 1, 0]},
    }
    procs = []
    for pid in range(3):
        inputs = write_json(tmp_path / f"in{pid}.json", {"subjects": values[pid]})
        out = tmp_path / f"out{pid}.json"
        procs.append(
            (
                subprocess.Popen(
                    [
                        EXE,
                        "--json",
                        "mpc",
                        "party",
                        "--config",
                        str(cfg),
                        "--id",
                        str(pid),
                        "--inputs",
                        str(inputs),
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
                out,
            )
        )
    for proc, _ in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    from privacy import features_by_subject

    outputs = [json.loads(out.read_text()) for _, out in procs]
    feats = features_by_subject(outputs[0]["revealed"])
    assert feats == features_by_subject(outputs[1]["revealed"]) == features_by_subject(outputs[2]["revealed"])
    assert feats[subjects[0]]["xp_outstanding_fen"] == 300
    assert feats[subjects[0]]["xp_platform_count"] == 2
    assert feats[subjects[0]]["xp_worst_dpd"] == 40
    assert feats[subjects[3]]["xp_outstanding_fen"] == 0


def test_mpc_party_with_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            EXE,
            "mpc",
            "party",
            "--config",
            str(tmp_path / "nope.json"),
            "--id",
            "0",
            "--inputs",
            str(tmp_path / "in.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr


# `creditshare psi serve|query` between members on the test chain: tests/privacy/test_privacy_psi.py
