"""Credit-list entries' evidence goes through the evidence store like settlements' (`store_evidence`, called by
`list post` before anything is sealed or sent): each distinct file once, checked against the digest it was
parsed with; a file changed since parsing is a row error naming every line that uses it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from creditshare.core.ids import cid_from_digest
from creditshare.domain import evidence
from creditshare.domain.credit_entries import ENTRY_COLUMNS, InvalidEntryFile, parse_entries, store_evidence

HEADER = ",".join(ENTRY_COLUMNS)
ROW = "uscc:DEBTOR{n},payment-default,3250000,2025-10-01,2025-12-31,,{evidence},details.txt,50000"


def entries(tmp_path: Path, *evidence_files: str) -> Path:
    (tmp_path / "details.txt").write_text("private details")
    for name in set(evidence_files):
        (tmp_path / name).write_text(f"waybill {name}")
    rows = [ROW.format(n=i, evidence=name) for i, name in enumerate(evidence_files)]
    path = tmp_path / "entries.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture(autouse=True)
def folder_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(evidence.BACKEND_ENV, raising=False)


def test_each_distinct_evidence_file_is_stored_once_under_its_cid(tmp_path):
    rows = parse_entries(entries(tmp_path, "a.txt", "b.txt", "a.txt"))
    store = tmp_path / "data" / "evidence"
    cids = store_evidence(store, rows)
    expected = [cid_from_digest(hashlib.sha256(f"waybill {n}".encode()).digest()) for n in ("a.txt", "b.txt")]
    assert cids == expected
    assert sorted(p.name for p in store.iterdir()) == sorted(expected)
    assert [evidence.load(store, c) for c in cids] == [b"waybill a.txt", b"waybill b.txt"]
    assert store_evidence(store, rows) == expected  # idempotent


def test_a_file_changed_since_parsing_is_a_row_error_and_nothing_is_stored_for_it(tmp_path):
    rows = parse_entries(entries(tmp_path, "a.txt", "b.txt", "a.txt"))
    (tmp_path / "a.txt").write_text("edited after parsing")
    store = tmp_path / "data" / "evidence"
    with pytest.raises(InvalidEntryFile) as err:
        store_evidence(store, rows)
    reasons = [str(e) for e in err.value.errors]
    assert [r.split(":")[0] for r in reasons] == ["line 2", "line 4"]
    assert all("changed since it was read: it no longer matches" in r for r in reasons)
    assert str(err.value) == "<entries>: 2 bad row(s); nothing was posted"
    assert not any(p.read_bytes() == b"edited after parsing" for p in store.iterdir())


def test_an_evidence_file_removed_since_parsing_is_a_row_error(tmp_path):
    rows = parse_entries(entries(tmp_path, "a.txt"))
    (tmp_path / "a.txt").unlink()
    with pytest.raises(InvalidEntryFile) as err:
        store_evidence(tmp_path / "data" / "evidence", rows)
    (only,) = err.value.errors
    assert str(only).startswith("line 2: cannot read evidence file ") and "No such file" in str(only)
