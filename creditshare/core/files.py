"""Reading user files: the project's one CSV dialect, paths a file names, and dates.

Every CSV CreditShare reads (settlements, credit-list entries, member lists)
goes through `read_csv_rows`, so that they all accept and refuse the same
things:

* UTF-8, with or without a byte-order mark; any other encoding is refused at
  the first line that is not UTF-8 (a Latin-1 or GBK export says so, it is not
  guessed);
* lines end in LF or CRLF (a lone CR, the old Mac ending, is refused);
* comma-separated, quoted as in RFC 4180 (``"a, b"``; a quote inside a quoted field is doubled); a
  quote that is never closed, a quote inside an unquoted field (``a"b``), or
  a field longer than `MAX_FIELD` characters, is refused with the line where
  the record starts;
* no NUL bytes;
* a header row first: every required column present, no unknown column, no
  column named twice, no empty column name; order is free;
* blank lines are skipped; every other row has exactly as many fields as the
  header.

Every problem raises `InvalidInput` naming the file and, where known, the
line. A caller that reports all bad rows at once (the settlement and entry
checks do) passes ``bad_rows=[]``: rows with the wrong number of fields are
then appended there as ``(line, reason)`` and left out of the result, and
every other problem still raises, because the rest of the file cannot be
trusted after it.

A file's rows may name other files (a settlement's evidence, an entry's
details). `confined_path` resolves such a name inside a root folder (by
default the CSV's own folder) and refuses anything that would leave it:
absolute paths, ``..`` escapes, symlinks pointing outside, anything that is
not a regular file. Without it, ``../../../etc/passwd`` would be hashed, or
sealed and sold to a paying viewer.

Dates are written ``YYYY-MM-DD`` and nothing else (`parse_date`):
``20260105`` or ``2026-W02-1``, which `datetime.date.fromisoformat` accepts,
are refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import stat
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Final

from creditshare.core.errors import InvalidInput

__all__ = ["MAX_FIELD", "MAX_FILE_BYTES", "confined_path", "parse_date", "read_bytes", "read_csv_rows", "read_text"]

# the csv module's own limit (csv.field_size_limit()); a process-wide setting we leave alone
MAX_FIELD: Final = csv.field_size_limit()
# read whole into memory: a settlement file of 10^6 rows is about 150 MB
MAX_FILE_BYTES: Final = 512 * 2**20
BOM: Final = b"\xef\xbb\xbf"
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EPOCH: Final = dt.date(1970, 1, 1)
_FIELD: Final = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'
_RECORD: Final = re.compile(rf"{_FIELD}(?:,{_FIELD})*(?:\r?\n)?")


def _line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte `offset` (lines end in LF)."""
    return data.count(b"\n", 0, offset) + 1


def read_text(path: Path, *, what: str = "file") -> str:
    """The text of a UTF-8 file (a leading BOM dropped); InvalidInput naming the file and line otherwise.

    Refuses a path that is not a regular file, an unreadable file, NUL bytes,
    and bytes that are not UTF-8 (with the line they are on).
    """
    try:
        info = path.stat()
    except OSError as err:
        raise InvalidInput(f"cannot read {what} {path}: {err.strerror or err}") from err
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"cannot read {what} {path}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path} holds {info.st_size:,} bytes; files over {MAX_FILE_BYTES // 2**20} MiB are refused: split it"
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {what} {path}: {err.strerror or err}") from err
    if data.startswith(BOM):
        data = data[len(BOM) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InvalidInput(f"{path}: line {_line_of(data, nul)}: NUL byte; this is not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = _line_of(data, err.start)
        raise InvalidInput(
            f"{path}: line {line}: byte 0x{data[err.start]:02X} is not UTF-8; save the file as UTF-8"
        ) from err


def read_bytes(path: Path, *, what: str = "file", limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; InvalidInput naming the file otherwise.

    A directory, a FIFO or a device (``/dev/zero``, ``/dev/stdin``) is refused before anything is read, so a
    careless path neither hangs nor fills the memory."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"cannot read {what} {path}: not a regular file")
        if info.st_size > limit:
            raise InvalidInput(f"{what} {path} holds {info.st_size:,} bytes; the limit is {limit:,} bytes")
        return path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {what} {path}: {err.strerror or err}") from err


def read_csv_rows(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    bad_rows: list[tuple[int, str]] | None = None,
) -> list[tuple[int, dict[str, str]]]:
    """Reads a CSV in the project's one dialect (see the module docstring).

    Returns ``(line, {column: text stripped of surrounding whitespace})`` for
    every non-blank row after the header, `line` being the line the row starts
    on. Columns in `optional` that are absent from the header are absent from
    the dicts.

    Raises InvalidInput naming `path` (and the line where known) for any
    problem. With `bad_rows` given, rows whose field count differs from the
    header's are appended to it as ``(line, reason)`` instead and skipped.
    """
    text = read_text(path, what="CSV file")
    lone_cr = re.search(r"\r(?!\n)", text)
    if lone_cr:
        line = text.count("\n", 0, lone_cr.start()) + 1
        raise InvalidInput(f"{path}: line {line}: a carriage return without a line feed; lines must end in LF or CRLF")
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(lines, strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise InvalidInput(_csv_problem(path, start, err)) from err
        # the csv module keeps a quote inside an unquoted field (a"b) as text; RFC 4180 does not allow it
        if any('"' in f for f in fields) and not _RECORD.fullmatch("".join(lines[start - 1 : reader.line_num])):
            raise InvalidInput(
                f"{path}: line {start}: a quote inside an unquoted field; quote the whole field "
                f'and write a quote inside it twice ("a ""b"" c")'
            )
        if fields:  # [] is a blank line
            records.append((start, fields))
    if not records:
        raise InvalidInput(f"{path} is empty; the first line must be the header {','.join(required)}")
    header_line, header_fields = records[0]
    header = [name.strip() for name in header_fields]
    _check_header(path, header_line, header, required, optional)
    rows: list[tuple[int, dict[str, str]]] = []
    for line, fields in records[1:]:
        if len(fields) != len(header):
            reason = f"{len(fields)} field(s); expected {len(header)} fields, as in the header"
            if bad_rows is None:
                raise InvalidInput(f"{path}: line {line}: {reason}")
            bad_rows.append((line, reason))
            continue
        rows.append((line, {name: value.strip() for name, value in zip(header, fields, strict=True)}))
    return rows


def _csv_problem(path: Path, line: int, err: csv.Error) -> str:
    message = str(err)
    if "field larger than field limit" in message or "unexpected end of data" in message:
        return (
            f"{path}: line {line}: a quoted field is never closed, or a field is longer than "
            f"{MAX_FIELD} characters (look for a stray '\"' on or after this line)"
        )
    if "expected after" in message:
        return f'{path}: line {line}: text after a closing quote; a quote inside a field is written twice ("")'
    return f"{path}: line {line}: malformed CSV ({message})"


def _check_header(
    path: Path, line: int, header: Sequence[str], required: Sequence[str], optional: Sequence[str]
) -> None:
    expected = ",".join(required)
    if any(not name for name in header):
        position = [i + 1 for i, name in enumerate(header) if not name][0]
        raise InvalidInput(f"{path}: line {line}: column {position} of the header has no name; expected {expected}")
    seen = set(header)
    twice = [name for name in dict.fromkeys(header) if header.count(name) > 1]
    if twice:
        raise InvalidInput(f"{path}: line {line}: column(s) named twice: {', '.join(twice)}")
    missing = [name for name in required if name not in seen]
    known = set(required) | set(optional)
    unknown = [name for name in header if name not in known]
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)}")
    if parts:
        allowed = f" (optional: {','.join(optional)})" if optional else ""
        raise InvalidInput(f"{path}: line {line}: {'; '.join(parts)}; expected {expected}{allowed}")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def confined_path(root: Path, text: str, column: str) -> Path:
    """The regular file `text` names, resolved relative to `root` and confined to it.

    Refuses (InvalidInput, naming `column`): an empty name, an absolute path,
    a ``..`` that climbs out of `root`, a symlink anywhere on the way whose
    target is outside `root`, and a name that is missing or not a regular
    file. Returns the resolved path (symlinks followed). The caller adds the
    line number.
    """
    name = text.strip()
    if not name:
        raise InvalidInput(f"{column} is empty: name a file relative to {root}")
    if "\x00" in name:
        raise InvalidInput(f"{column} {name!r} contains a NUL character")
    if os.path.isabs(name):
        raise InvalidInput(f"{column} {name!r} is an absolute path; name the file relative to {root}")
    parts = [p for p in name.split(os.sep) if p not in ("", ".")]
    depth = 0
    for part in parts:
        depth += -1 if part == ".." else 1
        if depth < 0:
            raise InvalidInput(f"{column} {name!r} climbs out of {root} with '..'")
    base = os.path.realpath(root)
    current = base
    for part in parts:
        if part == "..":
            current = os.path.dirname(current)
            if not _inside(current, base):
                raise InvalidInput(f"{column} {name!r} climbs out of {root} with '..'")
            continue
        step = os.path.join(current, part)
        if os.path.islink(step):
            target = os.path.realpath(step)
            if not _inside(target, base):
                raise InvalidInput(f"{column} {name!r}: {part} is a symlink that leads out of {root}")
            step = target
        current = step
    try:
        info = os.stat(current)
    except OSError as err:
        raise InvalidInput(f"{column} file {name} not found in {root}") from err
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{column} {name!r} is not a regular file")
    return Path(current)


@lru_cache(maxsize=4096)
def parse_date(text: str, column: str) -> int:
    """A ``YYYY-MM-DD`` date (UTC, on or after 1970-01-01) as the Unix time of its midnight.

    Nothing else is accepted: not ``20260105``, not ``2026-W02-1``, not a time.
    """
    value = text.strip()
    if not _DATE.fullmatch(value):
        raise InvalidInput(f"{column} must be a date YYYY-MM-DD; got {text!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as err:
        raise InvalidInput(f"{column} must be a date YYYY-MM-DD; got {text!r} ({err})") from err
    if day < _EPOCH:
        raise InvalidInput(f"{column} must be on or after 1970-01-01; got {value}")
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
