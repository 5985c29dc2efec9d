"""The role a model card scores (#17), without a chain: additive metadata (a shipper card has no role field and keeps
its hash), any other role is in the hashed body, a card says one of shipper, carrier, platform, and the binding's
SubjectRole mirrors the names the CLI takes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.bindings.model_registry import ROLE_NAMES, SubjectRole
from creditshare.core.errors import InvalidInput
from scoring.errors import ModelError
from scoring.factory import train_scorecard, training_set
from scoring.model_card import CARD_ROLES, ModelCard
from scoring.synthetic import generate_market


@pytest.fixture(scope="module")
def card() -> ModelCard:
    market = generate_market(n_subjects=1500, seed=3)
    X, y = training_set(market.settlements, market.as_of)
    return train_scorecard(X, y, name="roles", version=1).card


def test_a_shipper_card_keeps_its_hash_and_has_no_role_field(card: ModelCard) -> None:
    assert card.role == "shipper" and "role" not in json.loads(card.to_json())
    assert card.with_role("shipper").model_hash == card.model_hash
    assert card.summary()["role"] == "shipper"


def test_a_carrier_card_carries_its_role_in_the_hashed_body(card: ModelCard, tmp_path) -> None:
    carrier = card.with_role("carrier")
    assert carrier.model_hash != card.model_hash and json.loads(carrier.to_json())["role"] == "carrier"
    loaded = ModelCard.load(carrier.save(tmp_path / "carrier.json"))
    assert (loaded.role, loaded.model_hash) == ("carrier", carrier.model_hash)
    assert carrier.with_role("shipper").model_hash == card.model_hash  # back to the shipper card, byte for byte


def test_a_card_of_an_unknown_role_is_refused(card: ModelCard, tmp_path) -> None:
    with pytest.raises(ModelError, match="role must be one of shipper, carrier, platform; got 'lender'"):
        card.with_role("lender")
    body = {k: v for k, v in json.loads(card.to_json()).items() if k != "model_hash"}
    with pytest.raises(ModelError, match="model card role must be one of shipper, carrier, platform; got 'lender'"):
        ModelCard({**body, "role": "lender"})


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(CARD_ROLES), min_size=1, max_size=4))
def test_the_last_role_set_decides_the_hash(card: ModelCard, roles: list[str]) -> None:
    out = card
    for role in roles:
        out = out.with_role(role)
    assert out.role == roles[-1] and out.model_hash == card.with_role(roles[-1]).model_hash


def test_subject_roles_mirror_the_card_roles() -> None:
    assert ROLE_NAMES == tuple(r.label for r in SubjectRole) and set(ROLE_NAMES) == set(CARD_ROLES)
    assert SubjectRole.parse(" Carrier ") == SubjectRole.CARRIER
    with pytest.raises(InvalidInput, match="role must be one of shipper, carrier, platform; got 'lender'"):
        SubjectRole.parse("lender")
