"""Model cards: canonical bytes, hash, tamper detection, and integer scoring equal to the fitted model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from scoring.errors import InvalidData, ModelError
from scoring.factory import TrainResult, train_scorecard
from scoring.model_card import ModelCard, Score, canonical_bytes, metrics_bps


@pytest.fixture(scope="module")
def german_result(german: tuple[pd.DataFrame, np.ndarray, list[str]]) -> TrainResult:
    X, y, cats = german
    return train_scorecard(X, y, name="german", version=3, categorical=cats)


def _card(freight: tuple) -> ModelCard:
    return freight[2].card


def test_card_scores_equal_the_fitted_scorecard_on_every_row(freight: tuple) -> None:
    X, _, result = freight
    assert len(X) > 10_000
    np.testing.assert_array_equal(result.card.score_frame(X), result.model.score(X))


def test_card_scores_equal_the_fitted_scorecard_with_categories(german_result: TrainResult, german: tuple) -> None:
    X, _, _ = german
    np.testing.assert_array_equal(german_result.card.score_frame(X), german_result.model.score(X))


def test_loaded_card_scores_like_the_built_one(freight: tuple, tmp_path: Path) -> None:
    X, _, result = freight
    path = result.card.save(tmp_path / "card.json")
    loaded = ModelCard.load(path)
    assert loaded.model_hash == result.card.model_hash
    np.testing.assert_array_equal(loaded.score_frame(X), result.model.score(X))


def test_score_one_equals_score_frame_with_tier_and_reasons(freight: tuple) -> None:
    X, _, result = freight
    card = ModelCard.from_json(result.card.to_json())
    rows = X.iloc[:300]
    frame = card.score_frame(rows)
    tiers = card.tiers_of(frame)
    for i, (_, row) in enumerate(rows.iterrows()):
        feats = {k: (None if pd.isna(v) else int(v)) for k, v in row.items()}
        s = card.score_one(feats)
        assert isinstance(s, Score) and s.score == frame[i] and s.tier == tiers[i]
        assert len(s.reasons) <= 3 and set(s.reasons) <= set(card.feature_names)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_card_matches_optbinning_on_random_rows(freight: tuple, data: st.DataObject) -> None:
    X, _, result = freight
    card = result.card
    row = {}
    for name in card.feature_names:
        row[name] = data.draw(st.one_of(st.none(), st.integers(min_value=-20_000, max_value=10**9)), label=name)
    frame = pd.DataFrame([row], dtype="Int64")
    expected = int(result.model.score(frame)[0])
    assert card.score_one(row).score == expected == int(card.score_frame(frame)[0])


def test_reasons_are_the_features_furthest_below_their_best_bin(german_result: TrainResult, german: tuple) -> None:
    X, _, _ = german
    card = german_result.card
    row = X.iloc[1].to_dict()
    s = card.score_one(row)
    pts = dict(zip(card.feature_names, card.feature_points(X.iloc[[1]])[0]))
    best = {f["name"]: max(f["points"]) for f in card.to_dict()["features"]}
    gaps = sorted((pts[n] - best[n], n) for n in card.feature_names if best[n] > pts[n])
    assert s.reasons == tuple(n for _, n in gaps[:3])
    assert len(s.reasons) == 3


def test_tier_boundaries_follow_the_cutoffs(german: tuple) -> None:
    X, y, cats = german
    res = train_scorecard(X, y, name="tiers", version=1, categorical=cats, tier_cutoffs=[560, 530, 500, 470])
    card = ModelCard.from_json(res.card.to_json())
    scores = [560, 559, 530, 529, 500, 470, 469, 200, 900]
    expected = ["A", "B", "B", "C", "C", "D", "E", "E", "A"]
    assert [card.tier(s) for s in scores] == expected
    assert list(card.tiers_of(np.asarray(scores))) == expected


def test_unseen_category_scores_as_missing(german_result: TrainResult, german: tuple) -> None:
    X, _, _ = german
    card = german_result.card
    row = X.iloc[0].to_dict()
    unseen = dict(row, purpose="space travel")
    missing = dict(row, purpose=None)
    assert card.score_one(unseen).score == card.score_one(missing).score
    frame = X.iloc[[0]].copy()
    frame["purpose"] = "space travel"
    assert int(card.score_frame(frame)[0]) == card.score_one(unseen).score == int(german_result.model.score(frame)[0])


def test_canonical_bytes_are_sorted_compact_and_float_free(freight: tuple) -> None:
    raw = _card(freight).to_json()
    data = json.loads(raw)
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in raw.replace(b"freight-test", b"")
    json.loads(raw, parse_float=lambda s: pytest.fail(f"float {s} in card"))


def test_model_hash_is_keccak_of_the_card_without_its_hash(freight: tuple) -> None:
    card = _card(freight)
    body = {k: v for k, v in json.loads(card.to_json()).items() if k != "model_hash"}
    assert card.model_hash == "0x" + keccak(canonical_bytes(body)).hex()
    assert len(card.model_hash) == 66


def test_bin_edges_of_integer_features_are_integers(freight: tuple) -> None:
    for f in _card(freight).to_dict()["features"]:
        assert f["edge_type"] == "int" and all(isinstance(e, int) for e in f["edges"])
        assert all(isinstance(p, int) for p in f["points"])


def test_metrics_are_decimal_strings_and_bps_for_the_chain(german_result: TrainResult) -> None:
    card = german_result.card
    assert card.metrics["auc"] == f"{german_result.metrics.auc:.6f}"
    bps = metrics_bps(card)
    assert bps["auc"] == round(german_result.metrics.auc * 10_000) and 0 < bps["ks"] < 10_000


def test_same_training_gives_the_same_hash(german: tuple, german_result: TrainResult) -> None:
    X, y, cats = german
    again = train_scorecard(X, y, name="german", version=3, categorical=cats)
    assert again.card.model_hash == german_result.card.model_hash


def test_tampered_points_are_detected(freight: tuple) -> None:
    data = json.loads(_card(freight).to_json())
    data["features"][0]["points"][0] += 1
    with pytest.raises(ModelError, match="model card hash mismatch"):
        ModelCard.from_json(json.dumps(data))


def test_tampered_hash_is_detected(freight: tuple) -> None:
    data = json.loads(_card(freight).to_json())
    data["model_hash"] = "0x" + "11" * 32
    with pytest.raises(ModelError, match="hash mismatch"):
        ModelCard.from_json(json.dumps(data).encode())


def test_card_without_hash_is_rejected(freight: tuple) -> None:
    data = json.loads(_card(freight).to_json())
    del data["model_hash"]
    with pytest.raises(ModelError, match="has no model_hash"):
        ModelCard.from_json(json.dumps(data))


def test_card_with_a_float_is_rejected(freight: tuple) -> None:
    raw = _card(freight).to_json().replace(b'"intercept_points":0', b'"intercept_points":0.5')
    with pytest.raises(ModelError, match="non-integer number 0.5"):
        ModelCard.from_json(raw)


def test_card_that_is_not_json_is_rejected() -> None:
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.from_json(b"{not json")


def test_missing_card_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read model card"):
        ModelCard.load(tmp_path / "nope.json")


def test_malformed_card_with_matching_hash_is_rejected(freight: tuple) -> None:
    data = json.loads(_card(freight).to_json())
    del data["model_hash"]
    del data["features"][0]["points"]
    data["model_hash"] = "0x" + keccak(canonical_bytes(data)).hex()
    with pytest.raises(ModelError, match="malformed"):
        ModelCard.from_json(json.dumps(data))


def test_score_one_without_a_feature_is_rejected(freight: tuple) -> None:
    card = _card(freight)
    with pytest.raises(InvalidData, match="features are missing: shp_n_30"):
        card.score_one({n: 1 for n in card.feature_names if n != "shp_n_30"})


def test_score_one_with_a_fractional_value_is_rejected(freight: tuple) -> None:
    card = _card(freight)
    with pytest.raises(InvalidData, match="must be an integer; got 1.5"):
        card.score_one(dict({n: 1 for n in card.feature_names}, shp_n_30=1.5))


def test_score_one_with_a_string_for_a_number_is_rejected(freight: tuple) -> None:
    card = _card(freight)
    with pytest.raises(InvalidData, match="must be a number; got '7'"):
        card.score_one(dict({n: 1 for n in card.feature_names}, shp_n_30="7"))


def test_score_frame_with_fractional_values_is_rejected(freight: tuple) -> None:
    X, _, _ = freight
    card = _card(freight)
    bad = X.iloc[:5].astype("float64")
    bad.iloc[0, 0] = 0.5
    with pytest.raises(InvalidData, match="must hold integers"):
        card.score_frame(bad)


def test_score_frame_without_a_column_is_rejected(freight: tuple) -> None:
    X, _, _ = freight
    with pytest.raises(InvalidData, match="missing feature columns: shp_n_30"):
        _card(freight).score_frame(X.drop(columns=["shp_n_30"]))


def test_score_frame_with_text_is_rejected(freight: tuple) -> None:
    X, _, _ = freight
    bad = X.iloc[:3].copy().astype(object)
    bad["shp_n_30"] = "many"
    with pytest.raises(InvalidData, match="'shp_n_30' must be numeric"):
        _card(freight).score_frame(bad)


def test_card_of_an_unfitted_model_is_rejected() -> None:
    from scoring.scorecard import ScorecardModel

    with pytest.raises(ModelError, match="not fitted yet"):
        ModelCard.from_scorecard(ScorecardModel(), name="x", version=1)


def test_card_version_must_be_positive(german_result: TrainResult) -> None:
    with pytest.raises(ModelError, match="version must be a positive integer; got 0"):
        ModelCard.from_scorecard(german_result.model, name="x", version=0)


def test_decimal_edges_for_real_valued_features_score_exactly() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=3000)
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    X = pd.DataFrame({"x": x})
    X_tr, X_te, y_tr, _ = train_test_split(X, y, test_size=0.3, random_state=0)
    res = train_scorecard(X_tr, y_tr, name="real", version=1)
    feat = res.card.to_dict()["features"][0]
    assert feat["edge_type"] == "decimal" and all(isinstance(e, str) for e in feat["edges"])
    card = ModelCard.from_json(res.card.to_json())
    np.testing.assert_array_equal(card.score_frame(X_te), res.model.score(X_te))
    # exactly on an edge: optbinning's rule puts it in the upper bin
    edge = float(feat["edges"][0])
    assert card.score_one({"x": edge}).score == int(res.model.score(pd.DataFrame({"x": [edge]}))[0])


def test_special_codes_score_the_same_in_card_and_scorecard() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 100, 3000)
    y = (rng.uniform(size=3000) < 0.1 + 0.004 * x).astype(int)
    x[:400] = -1
    y[:400] = (rng.uniform(size=400) < 0.6).astype(int)
    X = pd.DataFrame({"x": pd.array(x, dtype="Int64"), "z": rng.integers(0, 9, 3000)})
    X.loc[5:20, "x"] = pd.NA
    res = train_scorecard(X, y, name="special", version=1, special_codes=[-1])
    card = ModelCard.from_json(res.card.to_json())
    np.testing.assert_array_equal(card.score_frame(X), res.model.score(X))
    feat = card.to_dict()["features"][0]
    assert feat["special_codes"] == [-1] and feat["special_points"] < min(feat["points"])
    assert card.score_one({"x": -1, "z": 3}).score == int(res.model.score(pd.DataFrame({"x": [-1], "z": [3]}))[0])


def test_file_digest_is_sha256_of_the_card_file(freight: tuple, tmp_path: Path) -> None:
    import hashlib

    card = _card(freight)
    path = card.save(tmp_path / "c.json")
    assert card.file_digest == "0x" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_summary_shows_hash_metrics_and_tiers(freight: tuple) -> None:
    s = _card(freight).summary()
    assert s["model_hash"] == _card(freight).model_hash and set(s["tiers"]) == {"A", "B", "C", "D"}
    assert s["training"]["label_horizon_days"] == 90 and s["metrics"]["auc"].startswith("0.")


def test_score_frame_with_a_number_in_a_categorical_column_is_rejected(
    german_result: TrainResult, german: tuple
) -> None:
    X, _, _ = german
    bad = X.iloc[:3].copy()
    bad["purpose"] = bad["purpose"].astype(object)
    bad.iloc[1, bad.columns.get_loc("purpose")] = 4
    with pytest.raises(InvalidData, match="'purpose' is categorical; got 4"):
        german_result.card.score_frame(bad)


def test_missing_category_scores_as_missing_in_frames(german_result: TrainResult, german: tuple) -> None:
    X, _, _ = german
    frame = X.iloc[:4].copy()
    frame["purpose"] = frame["purpose"].astype(object)
    frame.iloc[0, frame.columns.get_loc("purpose")] = None
    np.testing.assert_array_equal(german_result.card.score_frame(frame), german_result.model.score(frame))


def test_pandas_na_scores_as_missing_in_score_one(freight: tuple) -> None:
    card = _card(freight)
    row = {n: 1 for n in card.feature_names}
    assert card.score_one(dict(row, shp_ontime_bps=pd.NA)).score == card.score_one(dict(row, shp_ontime_bps=None)).score
