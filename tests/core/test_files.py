"""The one CSV dialect, confined paths and exact dates (creditshare.core.files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from creditshare.core.errors import InvalidInput
from creditshare.core.files import MAX_FIELD, MAX_FILE_BYTES, confined_path, parse_date, read_csv_rows

COLUMNS = ("a", "b")


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- what is accepted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2\n3,4\n",
        b"a,b\r\n1,2\r\n3,4\r\n",
        b"\xef\xbb\xbfa,b\n1,2\n3,4",
        b"\xef\xbb\xbfa,b\r\n1,2\r\n\r\n3,4\r\n",
        b" b , a \n2, 1\n4,3\n",
    ],
    ids=["lf", "crlf", "bom-no-final-newline", "bom-crlf-blank-line", "order-and-spaces"],
)
def test_read_csv_rows_accepts_utf8_with_or_without_bom_lf_or_crlf(tmp_path, data):
    rows = read_csv_rows(write(tmp_path, data), required=COLUMNS)
    assert [row for _line, row in rows] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert rows[0][0] == 2


def test_read_csv_rows_rfc4180_quoting_and_line_numbers(tmp_path):
    data = 'a,b\n"x, y","say ""hi"""\n"two\nlines",z\nlast,"中文"\n'.encode()
    rows = read_csv_rows(write(tmp_path, data), required=COLUMNS)
    assert rows == [
        (2, {"a": "x, y", "b": 'say "hi"'}),
        (3, {"a": "two\nlines", "b": "z"}),
        (5, {"a": "last", "b": "中文"}),
    ]


def test_read_csv_rows_optional_columns(tmp_path):
    path = write(tmp_path, b"a,b,c\n1,2,3\n")
    assert read_csv_rows(path, required=COLUMNS, optional=("c", "d")) == [(2, {"a": "1", "b": "2", "c": "3"})]


def test_read_csv_rows_collects_field_count_problems_when_asked(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n1\n1,2,3\n5,6\n")
    bad: list[tuple[int, str]] = []
    rows = read_csv_rows(path, required=COLUMNS, bad_rows=bad)
    assert [line for line, _ in rows] == [2, 5]
    assert bad == [
        (3, "1 field(s); expected 2 fields, as in the header"),
        (4, "3 field(s); expected 2 fields, as in the header"),
    ]
    with pytest.raises(InvalidInput, match=r"f\.csv: line 3: 1 field\(s\); expected 2 fields"):
        read_csv_rows(path, required=COLUMNS)


# -- what is refused -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b\n1,caf\xe9\n", r"line 2: byte 0xE9 is not UTF-8; save the file as UTF-8"),
        (b"a,b\n1,2\n\n\xff\xfe,3\n", r"line 4: byte 0xFF is not UTF-8"),
        (b"\xff\xfea\x00,\x00b\x00\n\x00", r"line 1: NUL byte"),
        (b"a,b\n1,2\x00\n", r"line 2: NUL byte"),
        (b"a,b\r1,2\r", r"line 1: a carriage return without a line feed"),
        (b'a,b\n1,"2\n3,4\n', r"line 2: a quoted field is never closed"),
        (b'a,b\n"1"x,2\n', r"line 2: text after a closing quote"),
        (b'a,b\n1,2\n1,x"y\n', r"line 3: a quote inside an unquoted field"),
        (b'a,b\n1, "y"\n', r"line 2: a quote inside an unquoted field"),
        (b"", r"is empty; the first line must be the header a,b"),
        (b"\n\r\n", r"is empty"),
        (b"a\n1\n", r"line 1: missing column\(s\) b; expected a,b"),
        (b"a,b,zz\n1,2,3\n", r"line 1: unknown column\(s\) zz; expected a,b"),
        (b"a,b,b\n1,2,3\n", r"line 1: column\(s\) named twice: b"),
        (b"a,,b\n1,2,3\n", r"line 1: column 2 of the header has no name"),
        (b"a,b\n1,2,3\n", r"line 2: 3 field\(s\); expected 2 fields"),
    ],
    ids=[
        "latin1",
        "utf16-bom-later",
        "utf16",
        "nul",
        "lone-cr",
        "unterminated-quote",
        "text-after-quote",
        "quote-in-unquoted-field",
        "space-before-quote",
        "empty",
        "blank",
        "missing-column",
        "unknown-column",
        "duplicate-column",
        "empty-column-name",
        "too-many-fields",
    ],
)
def test_read_csv_rows_refuses(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(InvalidInput, match=message) as info:
        read_csv_rows(path, required=COLUMNS)
    assert str(path) in str(info.value)


def test_read_csv_rows_stray_quote_in_a_large_file_names_its_line(tmp_path):
    body = "".join(f"r{i},{'x' * 60}\n" for i in range(4500))  # ~275 KB
    data = ("a,b\n" + body[: len(body) // 2] + 'oops,"stray\n' + body[len(body) // 2 :]).encode()
    assert len(data) > 270_000
    path = write(tmp_path, data)
    line = data[: data.index(b'"stray')].count(b"\n") + 1
    with pytest.raises(InvalidInput, match=rf"line {line}: a quoted field is never closed, or a field is longer than"):
        read_csv_rows(path, required=COLUMNS)


def test_read_csv_rows_field_over_the_limit(tmp_path):
    path = write(tmp_path, b'a,b\n1,"' + b"x" * (MAX_FIELD + 1) + b'"\n')
    with pytest.raises(InvalidInput, match=rf"line 2: .*longer than {MAX_FIELD} characters"):
        read_csv_rows(path, required=COLUMNS)


def test_read_csv_rows_refuses_missing_file_and_folder(tmp_path):
    with pytest.raises(InvalidInput, match=r"cannot read CSV file .*nope\.csv: No such file"):
        read_csv_rows(tmp_path / "nope.csv", required=COLUMNS)
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_csv_rows(tmp_path, required=COLUMNS)


def test_read_csv_rows_refuses_a_file_too_large_to_hold(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InvalidInput, match=r"huge\.csv holds 536,870,913 bytes; files over 512 MiB are refused"):
        read_csv_rows(path, required=COLUMNS)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_read_csv_rows_refuses_unreadable_file(tmp_path):
    path = write(tmp_path, b"a,b\n1,2\n")
    path.chmod(0)
    with pytest.raises(InvalidInput, match="cannot read CSV file .*Permission denied"):
        read_csv_rows(path, required=COLUMNS)


# -- arbitrary bytes -----------------------------------------------------------------------------------------

VALID = b'\xef\xbb\xbfa,b,c\r\n1,"x,y",3\r\n4,5,6\r\n'


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([VALID, b"a,b\n1,2\n", b'a,b\n"1\n2",3\n'])))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "flip"]))
        byte = draw(st.sampled_from([0, 0x0D, 0x0A, 0x22, 0x2C, 0xE9, 0xFF, 0xEF, 0x61]))
        if op == "insert":
            data[at:at] = bytes([byte])
        elif data and at < len(data):
            if op == "delete":
                del data[at]
            else:
                data[at] = byte
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), mutated()))
@example(data=b'a,b\n"' + b"x" * 200_000)
def test_read_csv_rows_raises_only_invalid_input_on_any_bytes(tmp_path, data):
    path = write(tmp_path, data)
    try:
        rows = read_csv_rows(path, required=("a", "b"), optional=("c",))
    except InvalidInput as err:
        assert str(path) in str(err)
    else:
        assert all(set(row) >= {"a", "b"} for _line, row in rows)


# -- confined paths ------------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "w.pdf").write_bytes(b"waybill")
    (root / "top.pdf").write_bytes(b"top")
    (tmp_path / "secret").write_bytes(b"secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.pdf").write_bytes(b"x")
    return root


def test_confined_path_resolves_inside_the_root(tree):
    assert confined_path(tree, "docs/w.pdf", "evidence") == (tree / "docs" / "w.pdf").resolve()
    assert confined_path(tree, " ./docs/../top.pdf ", "evidence") == (tree / "top.pdf").resolve()
    (tree / "link.pdf").symlink_to(tree / "docs" / "w.pdf")
    (tree / "d2").symlink_to("docs")
    assert confined_path(tree, "link.pdf", "evidence") == (tree / "docs" / "w.pdf").resolve()
    assert confined_path(tree, "d2/w.pdf", "evidence") == (tree / "docs" / "w.pdf").resolve()


def test_confined_path_refuses(tree):
    (tree / "escape.pdf").symlink_to(tree.parent / "secret")
    (tree / "out").symlink_to(tree.parent / "outside")
    (tree / "docs" / "up").symlink_to("../..")
    cases = {
        "": "evidence is empty",
        "   ": "evidence is empty",
        "/etc/passwd": "is an absolute path",
        str(tree / "top.pdf"): "is an absolute path",
        "../secret": "climbs out of",
        "../../../etc/passwd": "climbs out of",
        "docs/../../secret": "climbs out of",
        "escape.pdf": "escape.pdf is a symlink that leads out of",
        "out/x.pdf": "out is a symlink that leads out of",
        "docs/up/secret": "up is a symlink that leads out of",
        "missing.pdf": "evidence file missing.pdf not found",
        "docs": "'docs' is not a regular file",
        "top.pdf/x": "not found",
        "a\x00b": "contains a NUL character",
    }
    for text, message in cases.items():
        with pytest.raises(InvalidInput, match=message):
            confined_path(tree, text, "evidence")


def test_confined_path_refuses_a_device(tree):
    (tree / "null").symlink_to("/dev/null")
    with pytest.raises(InvalidInput, match="symlink that leads out"):
        confined_path(tree, "null", "details")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("./a\\~\x00 ") + ["..", "docs", "w.pdf", "é"]), max_size=12))
def test_confined_path_returns_a_file_inside_or_raises_invalid_input(tree, text):
    try:
        found = confined_path(tree, text, "evidence")
    except InvalidInput:
        return
    assert str(found).startswith(str(tree.resolve()) + os.sep) and found.is_file()


# -- dates ---------------------------------------------------------------------------------------------------


def test_parse_date_accepts_exactly_yyyy_mm_dd():
    assert parse_date("2026-01-05", "d") == 1767571200
    assert parse_date(" 1970-01-01 ", "d") == 0


@pytest.mark.parametrize(
    "text",
    [
        "20260105",
        "2026-W02-1",
        "2026-005",
        "2026-1-5",
        "2026-01-05T00:00",
        "2026-02-30",
        "",
        "２０２６-01-05",
        "1969-12-31",
    ],
)
def test_parse_date_refuses_other_forms(text):
    with pytest.raises(InvalidInput, match="invoice_date must be"):
        parse_date(text, "invoice_date")


def test_old_import_of_parse_date_still_works():
    from creditshare.domain.settlements import parse_date as old

    assert old("2026-01-05", "d") == parse_date("2026-01-05", "d")
    with pytest.raises(InvalidInput):
        old("20260105", "d")
