"""Config, inputs, WOE/IV, job record and feature wiring: pure logic, no network."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.core.errors import CreditShareError, InvalidInput
from privacy.config import load_config, parse_config
from privacy.features import OUTPUT_FEATURES, features_by_subject, revealed_payload, subject_features
from privacy.inputs import CROSS_FEATURES, InvalidPartyInput, align_subject_rows, bin_rows, load_inputs
from privacy.party import mpyc_argv, plaintext_result
from privacy.record import input_commitment, job_id_bytes32, job_record, output_hash
from scoring.errors import InvalidData
from scoring.woe import bin_stats, woe_iv
from tests.privacy.privacy_helpers import job_config, subject, write_json

SUBJECTS = [subject(i) for i in range(5)]


def cross_config(**kw: Any) -> Any:
    return parse_config(job_config("cross_platform_features", subjects=SUBJECTS, ports=[20001, 20002, 20003], **kw))


def test_config_reads_json_and_toml_alike(tmp_path: Path) -> None:
    raw = job_config("federated_binning", bin_edges={"age": [25, 40]}, ports=[20001, 20002, 20003])
    json_path = write_json(tmp_path / "job.json", raw)
    toml_lines = [
        f'job_id = "{raw["job_id"]}"',
        'computation = "federated_binning"',
        f'purpose = "{raw["purpose"]}"',
        "[bin_edges]",
        "age = [25, 40]",
    ]
    for p in raw["parties"]:
        toml_lines += [
            "[[parties]]",
            f'name = "{p["name"]}"',
            f'host = "{p["host"]}"',
            f"port = {p['port']}",
            f'member = "{p["member"]}"',
        ]
    toml_lines += ["[timeouts]", "connect_s = 15", "job_s = 120"]
    toml_path = tmp_path / "job.toml"
    toml_path.write_text("\n".join(toml_lines))
    assert load_config(json_path).config_hash() == load_config(toml_path).config_hash()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.pop("job_id"), "missing required key 'job_id'"),
        (lambda c: c.update(computation="sort"), "computation must be one of"),
        (lambda c: c.update(parties=c["parties"][:1]), "needs at least 3 parties; got 1"),
        (lambda c: c.update(parties=c["parties"][:2]), "needs at least 3 parties; got 2.*threshold is 0"),
        (lambda c: c.update(parties={"a": 1}), "parties must be a list"),
        (lambda c: c["parties"][1].update(port=70000), "party 1 port must be an integer in 1..65535"),
        (lambda c: c["parties"][1].update(port=c["parties"][0]["port"]), "share the same host:port"),
        (
            lambda c: c["parties"][2].update(member=c["parties"][0]["member"].lower()),
            "parties 0 and 2 are the same member .*3 distinct holders",
        ),
        (lambda c: c["parties"][1].update(member="0x1234"), "party 1 member must be a 0x member address; got '0x1234'"),
        (lambda c: c["parties"][1].update(member=7), "party 1 member must be a 0x member address; got 7"),
        (lambda c: c.update(subjects=[SUBJECTS[0], SUBJECTS[0]]), "has duplicates"),
        (lambda c: c.update(subjects=["0x1234"]), "is not 0x-prefixed 32-byte hex"),
        (lambda c: c.update(timeouts={"connect_s": -1}), "timeouts.connect_s must be a positive"),
    ],
)
def test_invalid_config_is_rejected_with_a_clear_message(mutate: Any, message: str) -> None:
    raw = job_config("cross_platform_features", subjects=list(SUBJECTS), ports=[20001, 20002, 20003])
    mutate(raw)
    with pytest.raises(InvalidInput, match=message):
        parse_config(raw)


def test_bin_edges_must_increase() -> None:
    raw = job_config("federated_binning", bin_edges={"age": [40, 25]}, ports=[20001, 20002, 20003])
    with pytest.raises(InvalidInput, match=r"bin_edges\['age'\] must be strictly increasing"):
        parse_config(raw)


def test_config_hash_ignores_timeouts_but_not_subjects() -> None:
    a = cross_config()
    assert a.config_hash() == cross_config(connect_s=99).config_hash()
    raw = job_config("cross_platform_features", subjects=SUBJECTS[:4], ports=[20001, 20002, 20003])
    b = parse_config(raw)
    assert a.config_hash() != b.config_hash()
    assert a.summary().mismatch(b.summary(), me=0, them=2) == ("party 2 config lists 4 subjects; party 0 lists 5.")


def test_mpyc_gets_its_own_options_per_party() -> None:
    cfg = cross_config()
    assert mpyc_argv(cfg, 1) == [
        "creditshare-mpc-party",
        "-P",
        "127.0.0.1:20001",
        "-P",
        "127.0.0.1:20002",
        "-P",
        "127.0.0.1:20003",
        "-I",
        "1",
        "--no-log",
    ]


def test_subjects_unknown_to_the_holder_are_zero_columns() -> None:
    cfg = cross_config()
    inputs = align_subject_rows(cfg, {SUBJECTS[3]: [10, 2, 1, 1, 30], subject(77): [1, 1, 1, 1, 1]})
    assert inputs.values.shape == (5, 5)
    assert inputs.values[:, 3].tolist() == [10, 2, 1, 1, 30]
    assert inputs.values.sum() == 44
    assert inputs.unknown_subjects_ignored == 1


@pytest.mark.parametrize(
    "row, message",
    [
        ([1, 2, 3, 1], "has 4 values; cross_platform_features expects 5"),
        ([1, 2, 3, 1, 0, 9], "has 6 values"),
        ([1, 2, 3, 2, 0], "has_relationship of subject .* must be an integer in \\[0, 1\\]"),
        ([-1, 2, 3, 1, 0], "outstanding_fen of subject .* must be an integer in"),
        ([1, 2, 3, 1, 36_501], "worst_dpd of subject .* must be an integer in \\[0, 36500\\]"),
        ([1.5, 2, 3, 1, 0], "outstanding_fen of subject"),
    ],
)
def test_bad_rows_are_rejected_before_any_network(row: list[Any], message: str) -> None:
    with pytest.raises(InvalidPartyInput, match=message) as err:
        align_subject_rows(cross_config(), {SUBJECTS[0]: row})
    assert SUBJECTS[0] not in err.value.public  # what peers are told names no subject


def test_csv_inputs_need_the_exact_header(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("subject,outstanding_fen\n" + SUBJECTS[0] + ",5\n")
    with pytest.raises(InvalidInput, match="CSV header must be subject,outstanding_fen,overdue_fen"):
        load_inputs(cross_config(), path)
    with pytest.raises(InvalidInput, match="does not exist"):
        load_inputs(cross_config(), tmp_path / "missing.csv")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(SUBJECTS),
            st.tuples(
                st.integers(0, 10**15),
                st.integers(0, 10**15),
                st.integers(0, 10**6),
                st.integers(0, 1),
                st.integers(0, 36_500),
            ),
            max_size=5,
        ),
        min_size=2,
        max_size=4,
    )
)
def test_plaintext_aggregates_match_a_per_subject_loop(holders: list[dict[str, tuple[int, ...]]]) -> None:
    cfg = cross_config()
    result = plaintext_result(cfg, [align_subject_rows(cfg, {s: list(v) for s, v in h.items()}) for h in holders])
    feats = features_by_subject(revealed_payload(cfg, result))
    for s in SUBJECTS:
        rows = [h[s] for h in holders if s in h]
        assert feats[s] == {
            "xp_outstanding_fen": sum(r[0] for r in rows),
            "xp_overdue_fen": sum(r[1] for r in rows),
            "xp_default_count": sum(r[2] for r in rows),
            "xp_platform_count": sum(r[3] for r in rows),
            "xp_worst_dpd": max((r[4] for r in rows), default=0),
        }


def test_features_for_a_subject_outside_the_job_are_zero() -> None:
    assert subject_features({}, SUBJECTS[0]) == dict.fromkeys(OUTPUT_FEATURES, 0)
    with pytest.raises(InvalidInput, match="not a cross_platform_features output"):
        features_by_subject({"bins": {}})


def test_local_binning_counts_good_and_bad_per_bin() -> None:
    cfg = parse_config(job_config("federated_binning", bin_edges={"age": [25, 40]}, ports=[20001, 20002, 20003]))
    rows = [{"age": a, "bad": b} for a, b in [(20, 0), (25, 1), (39, 0), (40, 1), (70, 1), (24, 1)]]
    # bins: (-inf,25) [25,40) [40,inf); good then bad
    assert bin_rows(cfg, rows).values.tolist() == [1, 1, 0, 1, 1, 2]


def test_woe_iv_from_counts_matches_the_textbook_formula() -> None:
    s = bin_stats("x", [10], [60, 40], [10, 30])
    g, b = [0.6, 0.4], [0.25, 0.75]
    woe = [math.log(gi / bi) for gi, bi in zip(g, b)]
    assert list(s.woe_micro) == [round(w * 1e6) for w in woe]
    assert s.iv_micro == round(sum((gi - bi) * w for gi, bi, w in zip(g, b, woe)) * 1e6)
    assert s.iv_micro == pytest.approx(526_427, abs=2)  # 0.35·ln(2.4) + 0.35·ln(1.875)
    assert str(s.bad_share[1]) == "3/4"


def test_woe_of_a_pure_bin_stays_finite() -> None:
    s = bin_stats("x", [10], [50, 0], [0, 50])
    assert all(abs(w) < 10 * 10**6 for w in s.woe_micro)


def test_woe_needs_goods_and_bads() -> None:
    with pytest.raises(InvalidData, match="at least one good and one bad row; got 5 good and 0 bad"):
        bin_stats("x", [10], [2, 3], [0, 0])
    with pytest.raises(InvalidData, match="1 edges need 2 bins; got 3 good"):
        bin_stats("x", [10], [1, 2, 3], [1, 2])
    with pytest.raises(InvalidData, match="bins missing"):
        woe_iv({"subjects": {}})


def test_job_record_has_bytes32_fields() -> None:
    c = [input_commitment(bytes(32), b"a"), input_commitment(b"\x01" * 32, b"a")]
    assert c[0] != c[1]  # the salt hides equal inputs
    rec = job_record(
        job_id="nightly-2026-11-28",
        participants=["0x" + "1" * 40, "0x" + "2" * 40],
        purpose="scores",
        input_commitments=c,
        output_hash=output_hash({"a": 1}),
    )
    for key in ("jobId", "purposeHash", "outputHash"):
        assert rec[key].startswith("0x") and len(rec[key]) == 66
    assert job_id_bytes32("0x" + "ab" * 32) == "0x" + "ab" * 32
    assert output_hash({"b": 2, "a": 1}) == output_hash(json.loads('{"a": 1, "b": 2}'))
    with pytest.raises(InvalidInput, match="2 participants but 1 input commitments"):
        job_record(
            job_id="j", participants=["a", "b"], purpose="p", input_commitments=c[:1], output_hash=rec["outputHash"]
        )
    with pytest.raises(InvalidInput, match="not a 0x-prefixed bytes32"):
        job_record(
            job_id="j", participants=["a"], purpose="p", input_commitments=["0x12"], output_hash=rec["outputHash"]
        )


def test_errors_share_the_project_root() -> None:
    assert issubclass(InvalidPartyInput, CreditShareError)
    assert np.int64  # numpy is the array type of every aligned input
    assert CROSS_FEATURES[-1] == "worst_dpd"
