"""Settlement CSV parsing (creditshare.domain.settlements)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.core.errors import InvalidInput
from creditshare.domain.settlements import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_AMOUNT,
    InvalidSettlementFile,
    parse_csv,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_csv_parses():
    rows = parse_csv(EXAMPLES / "settlements.csv")
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].settlement.amount == 845050
    assert rows[0].settlement.due_date - rows[0].settlement.invoice_date == 30 * 86400


def test_parse_csv_collects_every_error(tmp_path):
    (tmp_path / "s.csv").write_text(
        "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence\n"
        "A,uscc:S,uscc:P,driver:D,0,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
        "B,uscc:S,uscc:S,driver:D,5,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
    )
    with pytest.raises(InvalidSettlementFile) as info:
        parse_csv(tmp_path / "s.csv")
    assert [e.line for e in info.value.errors] == [2, 3]
    assert "shipper and platform are the same subject" in str(info.value.errors[1])


HEADER = "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence"


def settlement_file(folder: Path, *rows: str, name: str = "s.csv", data: bytes | None = None) -> Path:
    (folder / "evidence").mkdir(exist_ok=True)
    (folder / "evidence" / "w.pdf").write_bytes(b"waybill")
    path = folder / name
    path.write_bytes(data if data is not None else ("\n".join([HEADER, *rows]) + "\n").encode())
    return path


def line(
    ref: str = "R1",
    amount: str = "125000",
    invoice: str = "2026-01-05",
    due: str = "2026-02-04",
    ev: str = "evidence/w.pdf",
) -> str:
    return ",".join([ref, "uscc:S", "uscc:P", "driver:D", amount, invoice, due, ev])


def refusal(path: Path, **kwargs) -> str:
    with pytest.raises(InvalidInput) as info:
        parse_csv(path, **kwargs)
    errors = getattr(info.value, "errors", [])
    return "\n".join([str(info.value), *map(str, errors)])


@pytest.mark.parametrize(
    ("evidence", "message"),
    [
        ("../../../etc/passwd", "line 2: evidence '../../../etc/passwd' climbs out of"),
        ("/etc/passwd", "line 2: evidence '/etc/passwd' is an absolute path"),
        ("evidence/../../secret", "climbs out of"),
        ("escape.pdf", "line 2: evidence 'escape.pdf': escape.pdf is a symlink that leads out of"),
        ("evidence", "'evidence' is not a regular file"),
        ("", "evidence is empty"),
    ],
)
def test_evidence_must_stay_inside_the_csv_folder(tmp_path, evidence, message):
    folder = tmp_path / "batch"
    folder.mkdir()
    (tmp_path / "secret").write_bytes(b"private")
    (folder / "escape.pdf").symlink_to(tmp_path / "secret")
    path = settlement_file(folder, line(ev=evidence))
    assert message in refusal(path)


def test_evidence_root_can_be_named(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "w.pdf").write_bytes(b"waybill")
    folder = tmp_path / "csv"
    folder.mkdir()
    path = settlement_file(folder, line(ev="w.pdf"))
    assert "evidence file w.pdf not found" in refusal(path)
    [row] = parse_csv(path, evidence_root=docs)
    assert row.settlement.evidence == hashlib.sha256(b"waybill").digest()


def test_a_symlink_inside_the_folder_is_followed(tmp_path):
    path = settlement_file(tmp_path, line(ev="link.pdf"))
    (tmp_path / "link.pdf").symlink_to(tmp_path / "evidence" / "w.pdf")
    assert parse_csv(path)[0].settlement.evidence == hashlib.sha256(b"waybill").digest()


def test_bom_crlf_and_quoted_fields_are_accepted(tmp_path):
    data = (
        "\ufeff" + HEADER + "\r\n" + '"R1","uscc:S",uscc:P,driver:D,125000,2026-01-05,2026-02-04,"evidence/w.pdf"\r\n'
    ).encode()
    path = settlement_file(tmp_path, data=data)
    [row] = parse_csv(path)
    assert (row.line, row.reference, row.settlement.amount) == (2, "R1", 125000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((HEADER + "\n" + line(ref="CAF\xe9")).encode("latin-1"), "line 2: byte 0xE9 is not UTF-8"),
        ((HEADER + ",amount_fen\n" + line() + ",5\n").encode(), "column(s) named twice: amount_fen"),
        ((HEADER + "\n" + line() + '"\n').encode(), "line 2: a quote inside an unquoted field"),
        ((HEADER + "\n" + line() + '\n"R2' + ",x" * 7 + "\n").encode(), "line 3: a quoted field is never closed"),
    ],
    ids=["latin1", "duplicate-column", "stray-quote", "unclosed-quote"],
)
def test_malformed_files_are_refused_with_their_line(tmp_path, data, message):
    assert message in refusal(settlement_file(tmp_path, data=data))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (line(invoice="20260105"), "invoice_date must be a date YYYY-MM-DD; got '20260105'"),
        (line(due="2026-W02-1"), "due_date must be a date YYYY-MM-DD; got '2026-W02-1'"),
        (line(invoice="1999-12-31"), "invoice_date must lie between 2000-01-01 and 2099-12-31"),
        (line(due="2100-01-01"), "due_date must lie between 2000-01-01 and 2099-12-31"),
        (line(amount=str(10**12 + 1)), "amount_fen must be at most 1000000000000"),
        (line(amount=str(2**96 - 1)), "amount_fen must be at most 1000000000000"),
        (line(amount="1_000"), "amount_fen must be a whole number of fen"),
        (line(amount="+5"), "amount_fen must be a whole number of fen"),
        (line(amount="\u0661\u0662"), "amount_fen must be a whole number of fen"),
        (line(amount="9" * 5000), "amount_fen must be a whole number of fen"),
    ],
)
def test_values_outside_the_ledger_range_are_refused(tmp_path, row, message):
    assert message in refusal(settlement_file(tmp_path, row))


def test_extreme_but_valid_values_are_accepted(tmp_path):
    [row] = parse_csv(settlement_file(tmp_path, line(amount=str(10**12), invoice="2000-01-01", due="2099-12-31")))
    assert row.settlement.amount == MAX_AMOUNT
    assert (row.settlement.invoice_date, row.settlement.due_date) == (EARLIEST_DATE, LATEST_DATE - 86399)


VALID = (
    "\ufeff"
    + HEADER
    + "\r\n"
    + line()
    + "\r\n"
    + line(ref="R2", ev="cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq")
    + "\r\n"
).encode()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from(b'\x00\r\n",.:-/0159aAxz\xe9\xff'))
        if draw(st.booleans()):
            data[at] = byte
        else:
            data[at:at] = bytes([byte])
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(mutated(), st.binary(max_size=300)))
def test_parse_csv_raises_only_invalid_input_on_any_bytes(tmp_path, data):
    path = settlement_file(tmp_path, data=data)
    try:
        rows = parse_csv(path)
    except InvalidInput as err:
        assert str(path) in str(err)
    else:
        assert all(0 < r.settlement.amount <= MAX_AMOUNT for r in rows)
