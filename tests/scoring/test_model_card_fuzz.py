"""Malformed model cards (issue #13, finding 3): every damaged card file is one ModelError naming the file,
never a stray exception; random and mutated bytes and structures included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoring.errors import ModelError
from scoring.model_card import SCHEMA, ModelCard, canonical_bytes


def body() -> dict[str, Any]:
    """A small valid card (two features, one numerical and one categorical), without its hash."""
    return {
        "schema": SCHEMA,
        "name": "fuzz",
        "version": 1,
        "model_type": "scorecard",
        "features": [
            {
                "name": "late_share",
                "kind": "numerical",
                "edges": [10, 50],
                "edge_type": "int",
                "special_codes": [-1],
                "points": [40, 20, 0],
                "special_points": 10,
                "missing_points": 5,
                "counts": [1, 2, 3, 4, 5],
            },
            {
                "name": "region",
                "kind": "categorical",
                "categories": [["east"], ["west", "north"]],
                "points": [30, 10],
                "special_points": 0,
                "missing_points": 0,
                "counts": [1, 2, 3, 4],
            },
        ],
        "intercept_points": 500,
        "scaling": {"method": "pdo_odds", "pdo": "20", "odds": "50", "base_points": 600, "higher_is_better": True},
        "tiers": [{"tier": t, "min_score": m} for t, m in zip("ABCD", (580, 560, 540, 520), strict=True)],
        "n_reasons": 2,
        "training": {"n_rows": 15},
        "metrics": {"auc": "0.700000", "ks": "0.300000", "gini": "0.400000", "n": 15},
        "score_distribution": {"edges": [530, 560], "counts": [5, 5, 5]},
    }


VALID = ModelCard(body()).to_json()


def test_the_reference_card_is_valid_and_scores():
    card = ModelCard.from_json(VALID)
    assert card.score_one({"late_share": 60, "region": "west"}).score == 500 + 0 + 10


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "card.json"
    path.write_bytes(data)
    return path


def rehashed(change) -> bytes:  # noqa: ANN001 - a function editing the body
    """A card whose body `change` edited, with a matching model_hash (so the parser itself is tested)."""
    data = body()
    change(data)
    digest = "0x" + keccak(canonical_bytes(data)).hex()
    return json.dumps({**data, "model_hash": digest}).encode()


def _set(path: list[Any], value: Any):  # noqa: ANN202
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (VALID[: len(VALID) // 2], "model card is not valid JSON: .* \\(line 1, column"),
        (b'{"a": "caf\xe9"}', r"model card is not UTF-8 \(byte 0xE9 on line 1\)"),
        (b"[" * 100_000, "nested too deeply"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"x": 1.5}', "non-integer number 1.5"),
        (b'{"x": NaN}', "non-integer number NaN"),
        (b'{"x": 1' + b"0" * 5000 + b"}", "model card is not valid JSON"),
        (VALID.replace(b'"version":1', b'"version":2'), "model card hash mismatch"),
        (rehashed(_set(["features", 0, "points"], [10**30, 0, 0])), "must lie within"),
        (rehashed(_set(["features", 0, "points"], [])), "has no bins"),
        (rehashed(_set(["features", 0], "late_share")), "feature must be a JSON object"),
        (rehashed(_set(["features", 1, "categories"], ["east", "west"])), "categories must be lists"),
        (rehashed(_set(["features", 0, "edge_type"], "decimal")), "edge must be a finite decimal string"),
        (rehashed(lambda d: d["features"][0].update(edge_type="decimal", edges=["1", "inf"])), "finite decimal"),
        (rehashed(_set(["metrics"], "auc")), "metrics must be a JSON object"),
        (rehashed(_set(["metrics", "auc"], "nan")), "metrics auc must be a finite decimal string"),
        (rehashed(_set(["scaling"], [["pdo", "20"]])), "scaling must be a JSON object"),
        (rehashed(lambda d: d.pop("tiers")), "missing or wrong field 'tiers'"),
    ],
)
def test_a_malformed_card_is_one_model_error_naming_the_file(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ModelError, match=message) as info:
        ModelCard.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_an_unreadable_card_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read model card .*: No such file"):
        ModelCard.load(tmp_path / "nope.json")
    with pytest.raises(ModelError, match="cannot read model card .*: Is a directory"):
        ModelCard.load(tmp_path)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'{}[]",:0123456789.-eE \x00\xe9tfn'))
        if draw(st.booleans()):
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@st.composite
def restructured(draw: st.DrawFn) -> bytes:
    """The valid card with one value anywhere replaced by an arbitrary JSON value, hash recomputed."""
    data = body()
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, child in items:
            walk(child, [*path, key])

    walk(data, [])
    path = draw(st.sampled_from(paths[1:]))
    _set(path, draw(json_values))(data)
    return rehashed(lambda d: d.update(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300), mutated(), restructured()))
@example(data=b"")
def test_any_bytes_load_as_a_card_or_raise_model_error(tmp_path, data):
    path = write(tmp_path, data)
    try:
        card = ModelCard.load(path)
    except ModelError as err:
        assert str(err).startswith(f"{path}: ")
    else:
        card.score_one(dict.fromkeys(card.feature_names))
