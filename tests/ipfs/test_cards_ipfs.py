"""`fetch_card` through the IPFS backend: a digest no member published is one clear line naming `evidence
put-card`, a document under the digest that is not a card is refused (the publish-and-recover path itself is
tested with the folder backend in tests/cli/test_cli_cards.py; the store and read are the same calls)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from creditshare.core.ids import cid_from_digest
from creditshare.domain import cards
from tests.ipfs.conftest import IpfsCli
from tests.ipfs.test_evidence_ipfs import doc, put


@pytest.fixture
def on_node_2(net: IpfsCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another member's node reads."""
    monkeypatch.setenv("CREDITSHARE_DATA_DIR", str(net.data_dir))
    monkeypatch.setenv("CREDITSHARE_EVIDENCE", "ipfs")
    monkeypatch.setenv("CREDITSHARE_IPFS_API", net.nodes()[2].api)
    monkeypatch.setenv("CREDITSHARE_IPFS_TIMEOUT", "2")
    return net.data_dir / "evidence"


def test_an_unpublished_card_is_one_line_naming_put_card(on_node_2: Path) -> None:
    digest = hashlib.sha256(b"a card nobody published").digest()
    with pytest.raises(cards.CardUnavailable) as err:
        cards.fetch_card(on_node_2, digest)
    assert str(err.value) == (
        f"card {cid_from_digest(digest)} (digest 0x{digest.hex()}) is not in the evidence store: publish it with "
        "`creditshare evidence put-card FILE` (or pass --card FILE)."
    )


def test_a_document_that_is_not_a_card_is_refused(net: IpfsCli, on_node_2: Path, tmp_path: Path) -> None:
    data = doc(500, "not a card")
    cid = put(net, tmp_path, data, CREDITSHARE_IPFS_API=net.nodes()[0].api)  # on nodes 0 and 1, not 2
    with pytest.raises(cards.CardUnavailable, match=f"card {cid} in the evidence store is not a model card"):
        cards.fetch_card(on_node_2, hashlib.sha256(data).digest())
