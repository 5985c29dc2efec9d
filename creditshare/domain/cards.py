"""Model cards as published documents: stored in the evidence store under the digest the registry records.

`model register` puts a card's ``card_digest`` on chain: sha2-256 of the card's canonical JSON
(`ModelCard.to_json`, see scoring.model_card), which is the digest inside the card's CIDv1 (raw). So the card
is one more document of the evidence store (folder or IPFS, creditshare.domain.evidence): `publish_card`
stores those exact bytes, and any member fetches it back by the registry's digest (`fetch_card`), checked
twice: the bytes against the digest (the evidence store's read), and the card's own ``model_hash`` against the
model it is fetched for. A lender then recovers reason codes without holding the card file.

A card registered before cards were published (or from a member who has not published it) is not in the
store: `fetch_card` says so in one line, naming `creditshare evidence put-card FILE`, which anyone holding the
card can run (the digest makes a wrong card impossible to pass off).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from creditshare.bindings.model_registry import ModelRegistry
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import cid_from_digest, to_hex
from creditshare.domain import evidence
from scoring.errors import ModelError

if TYPE_CHECKING:  # numpy and pandas load on the first card read, not with every command
    from scoring.model_card import ModelCard


class CardUnavailable(InvalidInput):
    """A registered model's card cannot be had from the evidence store (not published, unreachable, not
    registered, or not the card the registry names)."""


def card_digest(card: ModelCard) -> bytes:
    """The digest `model register` records for `card` (sha2-256 of its canonical JSON)."""
    return bytes.fromhex(card.file_digest[2:])


def publish_card(evidence_dir: Path, card: ModelCard) -> str:
    """Stores `card` (its canonical JSON, the bytes whose sha2-256 the registry records) in the evidence store
    through the chosen backend; returns its CID (idempotent)."""
    cid = evidence.store(evidence_dir, card.to_json())
    if cid != cid_from_digest(card_digest(card)):  # store() names what it stored by its digest: never differs
        raise CardUnavailable(f"the evidence store stored the card as {cid}, not under its registry digest.")
    return cid


def fetch_card(evidence_dir: Path, digest: bytes, model_hash: bytes | None = None) -> ModelCard:
    """The card stored under the registry's `digest`, checked against it (and against `model_hash`, the
    model it is read for, when given). CardUnavailable when it is not in the store or not that model's."""
    from scoring.model_card import ModelCard

    cid = cid_from_digest(digest)
    try:
        raw = evidence.load(evidence_dir, cid)
    except evidence.EvidenceUnavailable as err:
        raise CardUnavailable(
            f"card {cid} (digest {to_hex(digest)}) is not in the evidence store: publish it with "
            f"`creditshare evidence put-card FILE` (or pass --card FILE)."
        ) from err
    except evidence.EvidenceCorrupted as err:
        raise CardUnavailable(f"card {cid}: {err}") from err
    try:
        card = ModelCard.from_json(raw)
    except ModelError as err:
        raise CardUnavailable(f"card {cid} in the evidence store is not a model card: {err}") from err
    if model_hash is not None and card.model_hash != to_hex(model_hash):
        raise CardUnavailable(
            f"card {cid} is the card of model {card.model_hash}, not of {to_hex(model_hash)}: the registry "
            f"names another card for this model."
        )
    return card


def card_of_model(registry: ModelRegistry, evidence_dir: Path, model_hash: bytes) -> ModelCard:
    """The card of a registered model, fetched by the digest the registry records for it."""
    model = registry.model(model_hash)
    if model is None:
        raise CardUnavailable(f"model {to_hex(model_hash)} is not registered: no card digest to fetch its card by.")
    return fetch_card(evidence_dir, model.card_digest, model_hash)


def champion_card(registry: ModelRegistry, evidence_dir: Path) -> ModelCard:
    """The champion's card, fetched by its registry digest."""
    champion = registry.champion()
    if champion is None:
        raise CardUnavailable("the registry has no champion model yet: no card to fetch.")
    return card_of_model(registry, evidence_dir, champion)
