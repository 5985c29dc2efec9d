"""Three real MPyC party processes over TCP on localhost: results, what is revealed, faults."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from privacy.config import parse_config
from privacy.features import OUTPUT_FEATURES, features_by_subject, subject_features
from privacy.inputs import CROSS_FEATURES, align_subject_rows, bin_rows
from privacy.party import plaintext_result
from privacy.record import input_commitment
from scoring.woe import bin_stats, woe_iv
from tests.data import shared_data_file
from tests.privacy.privacy_helpers import job_config, run_parties, subject, write_json

N_SUBJECTS = 40
NOBODY = subject(N_SUBJECTS - 1)  # in the agreed list, unknown to every holder
GERMAN = shared_data_file("germancredit.csv")


def holder_rows(seed: int, subjects: list[str]) -> dict[str, list[int]]:
    """A platform's own per-subject vectors; amounts are distinctive 12-digit numbers."""
    rng = random.Random(seed)
    known = rng.sample(subjects[:-1], k=25)
    return {
        s: [rng.randrange(10**11, 10**12), rng.randrange(10**11, 10**12), rng.randint(0, 4), 1, rng.randint(0, 400)]
        for s in known
    }


@pytest.fixture(scope="module")
def cross_job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("cross")
    subjects = [subject(i) for i in range(N_SUBJECTS)]
    cfg = job_config("cross_platform_features", subjects=subjects)
    cfg_path = write_json(tmp / "job.json", cfg)
    rows = {pid: holder_rows(pid, subjects) for pid in range(3)}
    # one holder writes CSV, the others JSON: both formats are read the same way
    inputs: dict[int, Path] = {}
    with (tmp / "in0.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", *CROSS_FEATURES])
        for s, vec in rows[0].items():
            w.writerow([s, *vec])
    inputs[0] = tmp / "in0.csv"
    for pid in (1, 2):
        inputs[pid] = write_json(tmp / f"in{pid}.json", {"subjects": rows[pid]})
    runs = run_parties(tmp, {pid: cfg_path for pid in range(3)}, inputs)
    return {"config": parse_config(cfg), "rows": rows, "runs": runs, "subjects": subjects}


def test_cross_platform_features_equal_plaintext(cross_job: dict[str, Any]) -> None:
    config, rows, runs = cross_job["config"], cross_job["rows"], cross_job["runs"]
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    expected = plaintext_result(config, [align_subject_rows(config, rows[p]) for p in range(3)])
    for run in runs.values():
        feats = features_by_subject(run.output["revealed"])
        got = np.array([[feats[s][name] for s in config.subjects] for name in OUTPUT_FEATURES])
        assert np.array_equal(got, expected)
    # spot-check one subject by hand
    s = config.subjects[0]
    holders = [rows[p][s] for p in range(3) if s in rows[p]]
    feats = features_by_subject(runs[0].output["revealed"])[s]
    assert feats["xp_outstanding_fen"] == sum(h[0] for h in holders)
    assert feats["xp_platform_count"] == len(holders)
    assert feats["xp_worst_dpd"] == max((h[4] for h in holders), default=0)


def test_comparisons_in_chunks_give_the_same_result(cross_job: dict[str, Any], tmp_path: Path) -> None:
    from tests.privacy.privacy_helpers import CHUNKED_PARTY

    cfg_path = write_json(tmp_path / "job.json", job_config("cross_platform_features", subjects=cross_job["subjects"]))
    inputs = {p: write_json(tmp_path / f"in{p}.json", {"subjects": cross_job["rows"][p]}) for p in range(3)}
    runs = run_parties(tmp_path, {p: cfg_path for p in range(3)}, inputs, program=CHUNKED_PARTY)
    assert runs[0].returncode == 0, runs[0].stderr
    # 40 subjects in chunks of 7: same aggregates as the one-chunk run
    assert runs[0].output["revealed"] == cross_job["runs"][0].output["revealed"]


def test_subject_unknown_to_every_holder_gets_zeros(cross_job: dict[str, Any]) -> None:
    feats = features_by_subject(cross_job["runs"][1].output["revealed"])
    assert feats[NOBODY] == dict.fromkeys(OUTPUT_FEATURES, 0)
    assert subject_features(feats, subject(10**6)) == dict.fromkeys(OUTPUT_FEATURES, 0)


def test_every_party_gets_the_same_output_and_record(cross_job: dict[str, Any]) -> None:
    outs = [r.output for r in cross_job["runs"].values()]
    assert len({o["output_hash"] for o in outs}) == 1
    assert len({json.dumps(o["record"], sort_keys=True) for o in outs}) == 1
    record = outs[0]["record"]
    assert record["participants"] == ["0x" + f"{i + 1:040x}" for i in range(3)]
    assert record["outputHash"] == outs[0]["output_hash"]
    for key in ("jobId", "purposeHash", "outputHash", "configHash", *record["inputCommitments"]):
        value = record.get(key, key)
        assert value.startswith("0x") and len(value) == 66


def test_each_commitment_opens_with_its_party_salt(cross_job: dict[str, Any]) -> None:
    config, rows = cross_job["config"], cross_job["rows"]
    for pid, run in cross_job["runs"].items():
        out = run.output
        salt = bytes.fromhex(out["own_input_salt"][2:])
        canonical = align_subject_rows(config, rows[pid]).canonical_bytes(config)
        assert out["record"]["inputCommitments"][pid] == input_commitment(salt, canonical)
        other = align_subject_rows(config, rows[(pid + 1) % 3]).canonical_bytes(config)
        assert out["record"]["inputCommitments"][pid] != input_commitment(salt, other)


def test_output_files_hold_only_the_agreed_aggregates(cross_job: dict[str, Any]) -> None:
    rows, subjects = cross_job["rows"], cross_job["subjects"]
    shared = [s for s in subjects if sum(s in rows[p] for p in range(3)) >= 2]
    assert shared, "the fixture must have subjects held by several platforms"
    for pid, run in cross_job["runs"].items():
        out = run.output
        assert set(out) == {
            "job_id",
            "computation",
            "party_id",
            "config_hash",
            "revealed",
            "output_hash",
            "record",
            "own_input_salt",
        }
        assert set(out["revealed"]) == {"features", "subjects"}
        assert set(out["revealed"]["subjects"]) == set(subjects)
        assert all(len(v) == len(OUTPUT_FEATURES) for v in out["revealed"]["subjects"].values())
        text = run.output_path.read_text()
        for other in range(3):
            if other == pid:
                continue
            for s in shared:
                if s in rows[other]:
                    # another holder's own amounts never appear, only their sums
                    assert str(rows[other][s][0]) not in text
                    assert str(rows[other][s][1]) not in text


def german_rows() -> list[dict[str, int]]:
    with GERMAN.open(newline="") as fh:
        return [
            {
                "duration_in_month": int(r["duration_in_month"]),
                "age_in_years": int(r["age_in_years"]),
                "credit_amount": int(r["credit_amount"]),
                "bad": int(r["creditability"] == "bad"),
            }
            for r in csv.DictReader(fh)
        ]


def test_federated_binning_equals_pooled_counts_and_woe(tmp_path: Path) -> None:
    edges = {
        "duration_in_month": [12, 18, 24, 36],
        "age_in_years": [25, 30, 40, 50],
        "credit_amount": [1500, 3000, 5000, 8000],
    }
    cfg = job_config("federated_binning", bin_edges=edges)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    rows = german_rows()
    split = [rows[0:300], rows[300:700], rows[700:1000]]  # three holders' own rows
    inputs = {}
    for pid, part in enumerate(split):
        with (tmp_path / f"rows{pid}.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=[*edges, "bad"])
            w.writeheader()
            w.writerows(part)
        inputs[pid] = tmp_path / f"rows{pid}.csv"
    runs = run_parties(tmp_path, {pid: cfg_path for pid in range(3)}, inputs)
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    config = parse_config(cfg)
    pooled = bin_rows(config, rows)  # what a central party would count with all rows
    stats = woe_iv(runs[2].output["revealed"])
    offset = 0
    for feature, e in edges.items():
        k = len(e) + 1
        assert list(stats[feature].good) == pooled.values[offset : offset + k].tolist()
        assert list(stats[feature].bad) == pooled.values[offset + k : offset + 2 * k].tolist()
        offset += 2 * k
        assert sum(stats[feature].good) + sum(stats[feature].bad) == 1000
    # German credit: duration is a strong predictor (IV ≈ 0.2), age a weaker one
    assert stats["duration_in_month"].iv_micro == pytest.approx(
        bin_stats(
            "d", edges["duration_in_month"], stats["duration_in_month"].good, stats["duration_in_month"].bad
        ).iv_micro
    )
    assert 0.10 < stats["duration_in_month"].iv_micro / 1e6 < 0.40
    assert stats["age_in_years"].iv_micro < stats["duration_in_month"].iv_micro
    assert set(runs[0].output["revealed"]) == {"bins"}


# ---- faults: every one ends with a clear error at every party and no output file ----


def small_job(tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], dict[int, Path]]:
    subjects = [subject(i) for i in range(8)]
    cfg = job_config("cross_platform_features", subjects=subjects, **kw)
    inputs = {
        pid: write_json(tmp_path / f"in{pid}.json", {"subjects": {subjects[pid]: [100 + pid, 0, 0, 1, 5 * pid]}})
        for pid in range(3)
    }
    return cfg, inputs


def assert_failed_without_output(runs: dict[int, Any], *messages: str) -> None:
    for run in runs.values():
        assert run.returncode == 2, (run.party_id, run.stdout, run.stderr)
        assert not run.output_path.exists()
        assert "Traceback" not in run.stderr
    joined = "\n".join(r.stderr for r in runs.values())
    for msg in messages:
        assert msg in joined, joined


def test_party_down_at_start_fails_every_other_party(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path, connect_s=3)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    runs = run_parties(tmp_path, {0: cfg_path, 1: cfg_path}, inputs)  # party 2 never starts
    port2 = cfg["parties"][2]["port"]
    assert_failed_without_output(runs, f"party 2 (127.0.0.1:{port2}) did not join within 3 s")
    assert "aborted at start" in runs[1].stderr


def test_coordinator_down_at_start_fails_clearly(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path, connect_s=2)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    runs = run_parties(tmp_path, {1: cfg_path, 2: cfg_path}, inputs)  # party 0 never starts
    assert_failed_without_output(runs, "could not reach party 0 (the coordinator)", "within 2 s; is it running?")


def test_party_dropping_mid_job_fails_the_others_without_output(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    runs = run_parties(tmp_path, {pid: cfg_path for pid in range(3)}, inputs, dropping={2})
    assert runs[2].returncode == 3  # died abruptly
    survivors = {pid: runs[pid] for pid in (0, 1)}
    assert_failed_without_output(survivors, "party 2 disconnected mid-job")
    assert not runs[2].output_path.exists()


def test_party_dropping_before_mpc_connects_fails_the_others(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path, connect_s=3)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    runs = run_parties(tmp_path, {pid: cfg_path for pid in range(3)}, inputs, dropping={2}, drop_at="connect")
    assert runs[2].returncode == 3
    survivors = {pid: runs[pid] for pid in (0, 1)}
    port2 = cfg["parties"][2]["port"]
    assert_failed_without_output(
        survivors, f"could not connect to party 2 (127.0.0.1:{port2}) within 3 s after the start handshake"
    )


def test_wrong_shape_input_aborts_the_job_for_everyone(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    write_json(inputs[1], {"subjects": {subject(1): [1, 2, 3, 1]}})  # 4 values, not 5
    runs = run_parties(tmp_path, {pid: cfg_path for pid in range(3)}, inputs)
    assert_failed_without_output(runs, "party 1 inputs are invalid")
    assert "has 4 values; cross_platform_features expects 5" in runs[0].stderr
    # the others learn the shape problem, not which subject party 1 knows
    assert subject(1) not in runs[0].stderr + runs[2].stderr
    assert subject(1) in runs[1].stderr
    assert "The job was aborted for all parties" in runs[1].stderr


def test_out_of_range_input_aborts_without_revealing_the_value(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    write_json(inputs[2], {"subjects": {subject(2): [5, 0, 0, 1, 987654]}})  # DPD too large
    runs = run_parties(tmp_path, {pid: cfg_path for pid in range(3)}, inputs)
    assert_failed_without_output(runs, "party 2 inputs are invalid", "worst_dpd")
    assert "987654" not in runs[0].stderr + runs[1].stderr


def test_config_listing_another_party_count_fails_at_start(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    bigger = json.loads(json.dumps(cfg))
    bigger["parties"].append({"name": "platform-D", "host": "127.0.0.1", "port": 1, "member": None})
    bigger_path = write_json(tmp_path / "job4.json", bigger)
    runs = run_parties(tmp_path, {0: cfg_path, 1: cfg_path, 2: bigger_path}, inputs)
    assert_failed_without_output(runs, "party 2 config lists 4 parties; party 0 lists 3.")


def test_config_with_another_subject_list_fails_at_start(tmp_path: Path) -> None:
    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    other = json.loads(json.dumps(cfg))
    other["subjects"] = other["subjects"][:-1] + [subject(999)]
    other_path = write_json(tmp_path / "job-other.json", other)
    runs = run_parties(tmp_path, {0: cfg_path, 1: other_path, 2: cfg_path}, inputs)
    assert_failed_without_output(runs, "party 1 config has a different subject list from party 0.")


def test_run_party_called_in_process_as_the_cli_does(tmp_path: Path) -> None:
    """Party 0 runs inside this (pytest) process through `run_party`; 1 and 2 are processes."""
    import subprocess
    import sys

    from privacy import run_party
    from tests.privacy.privacy_helpers import REPO

    cfg, inputs = small_job(tmp_path)
    cfg_path = write_json(tmp_path / "job.json", cfg)
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO)}
    others = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "privacy.party",
                "--config",
                str(cfg_path),
                "--id",
                str(pid),
                "--inputs",
                str(inputs[pid]),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for pid in (1, 2)
    ]
    argv_before = list(sys.argv)
    try:
        result = run_party(cfg_path, 0, inputs[0], tmp_path / "out0.json", record_path=tmp_path / "record0.json")
    finally:
        for p in others:
            p.communicate(timeout=60)
    assert sys.argv == argv_before  # MPyC's options never leak into the caller's argv
    assert all(p.returncode == 0 for p in others)
    feats = features_by_subject(result.revealed)
    assert feats[subject(1)] == {
        "xp_outstanding_fen": 101,
        "xp_overdue_fen": 0,
        "xp_default_count": 0,
        "xp_platform_count": 1,
        "xp_worst_dpd": 5,
    }
    assert result.record["outputHash"] == json.loads((tmp_path / "out0.json").read_text())["output_hash"]
    assert json.loads((tmp_path / "record0.json").read_text()) == result.record
