"""The credit-list entries CSV (parse_entries) in the project's one dialect: a BOM and CRLF accepted, duplicate
and unknown columns refused, files confined to the CSV's folder, and no stray exception on any bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id
from creditshare.domain.credit_entries import ENTRY_COLUMNS, InvalidEntryFile, parse_entries

HEADER = ",".join(ENTRY_COLUMNS)
ROW = "uscc:DEBTOR1,payment-default,3250000,2025-10-01,2025-12-31,,evidence.txt,details.txt,50000"
ROW2 = "uscc:DEBTOR2,fraud,480000,2025-11-10,2025-11-30,0x" + "ab" * 32 + ",evidence.txt,sub/d2.txt,60000"
VALID = ("\ufeff" + HEADER + "\r\n" + ROW + "\r\n" + ROW2 + "\r\n").encode()


def folder(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "evidence.txt").write_text("waybill")
    (tmp_path / "details.txt").write_text("private details")
    (tmp_path / "sub").mkdir(exist_ok=True)
    (tmp_path / "sub" / "d2.txt").write_text("more details")
    path = tmp_path / "entries.csv"
    path.write_bytes(data)
    return path


def test_bom_crlf_and_quoted_fields_are_accepted(tmp_path):
    rows = parse_entries(folder(tmp_path, VALID.replace(b"uscc:DEBTOR2", b'"uscc:DEBTOR2"')))
    assert [(r.line, r.subject, r.amount, r.stake) for r in rows] == [
        (2, subject_id("uscc:DEBTOR1"), 3_250_000, 50_000),
        (3, subject_id("uscc:DEBTOR2"), 480_000, 60_000),
    ]
    assert rows[1].details_path == (tmp_path / "sub" / "d2.txt").resolve() and len(rows[1].settlement_ids) == 1


def test_every_bad_row_is_listed_with_its_line(tmp_path):
    bad = HEADER + "\n" + ROW.replace("details.txt", "/etc/passwd") + "\n" + ROW + ",extra\n"
    bad += ROW.replace("2025-10-01", "20251001") + "\n"
    with pytest.raises(InvalidEntryFile) as err:
        parse_entries(folder(tmp_path, bad.encode()))
    assert [str(e) for e in err.value.errors] == [
        "line 2: details '/etc/passwd' is an absolute path; name the file relative to " + str(tmp_path),
        "line 3: 10 field(s); expected 9 fields, as in the header",
        "line 4: period_from must be a date YYYY-MM-DD; got '20251001'",
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ((HEADER + ",subject\n" + ROW + ",x\n").encode(), "column(s) named twice: subject"),
        ((b"subject\n"), "missing column(s) category"),
        ((HEADER + "\n" + ROW.replace("DEBTOR1", "D\xe9BTOR1") + "\n").encode("latin-1"), "line 2: byte 0xE9"),
        ((HEADER + "\r" + ROW + "\r").encode(), "carriage return without a line feed"),
        ((HEADER + "\n").encode(), "holds no entries"),
    ],
)
def test_malformed_files_are_refused(tmp_path, data, message):
    path = folder(tmp_path, data)
    with pytest.raises(InvalidInput) as err:
        parse_entries(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_symlink_leaving_the_folder_is_refused_one_inside_is_followed(tmp_path):
    inner = tmp_path / "in"
    inner.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (inner / "leak.txt").symlink_to(tmp_path / "secret.txt")
    path = folder(inner, (HEADER + "\n" + ROW.replace("details.txt", "leak.txt") + "\n").encode())
    with pytest.raises(InvalidEntryFile) as err:
        parse_entries(path)
    assert "leak.txt is a symlink that leads out of" in str(err.value.errors[0])
    (inner / "alias.txt").symlink_to(inner / "details.txt")
    path.write_text(HEADER + "\n" + ROW.replace("details.txt", "alias.txt") + "\n")
    assert parse_entries(path)[0].details_path == (inner / "details.txt").resolve()
    # a root named on purpose widens the confinement
    wide = path.with_name("wide.csv")
    wide.write_text(HEADER + "\n" + ROW.replace("details.txt", "in/details.txt") + "\n")
    (tmp_path / "evidence.txt").write_text("waybill")
    assert parse_entries(wide, root=tmp_path)[0].details_path == (inner / "details.txt").resolve()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'\x00\r\n",;.:-/0159aAxz\xe9\xff'))
        if draw(st.booleans()):
            data[at] = byte
        else:
            data[at:at] = bytes([byte])
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(mutated(), st.binary(max_size=300)))
def test_parse_entries_raises_only_invalid_input_on_any_bytes(tmp_path, data):
    path = folder(tmp_path, data)
    try:
        rows = parse_entries(path)
    except InvalidInput as err:
        assert str(path) in str(err)
    else:
        assert rows and all(r.amount > 0 and r.period_from <= r.period_to for r in rows)
        assert all(tmp_path.resolve() in r.details_path.parents for r in rows)
