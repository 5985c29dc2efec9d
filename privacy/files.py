"""Reading the files privacy/ is given (job configs, subject lists, party inputs, PSI ids, party outputs):
every malformed file is one InvalidInput naming the file and, where known, the line.

Text must be UTF-8; JSON must parse, without lone surrogate escapes (they cannot be hashed as UTF-8),
and nest at most as deep as Python's parser allows; CSV is read from the checked text, so a stray quote or
a NUL byte is an error at its line, not a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from creditshare.core.errors import InvalidInput

MAX_FILE_BYTES = 256 << 20  # a job's files are far smaller; refuse instead of exhausting memory


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; `what` names the file in errors ("MPC config", "inputs", ...)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{what} {path} is larger than {MAX_FILE_BYTES >> 20} MiB.")
        raw = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read {what} {path}: {err.strerror or err}.") from err
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InvalidInput(f"{what} {path} line {line}: not UTF-8 text (byte {err.start}).") from None


def parse_json(text: str, path: Path, what: str) -> Any:
    """Parsed JSON of a file's text, checked to be encodable again (the hashes of privacy/ need it)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise InvalidInput(f"{what} {path} {where}: not valid JSON ({err.msg}).") from None
    except RecursionError:
        raise InvalidInput(f"{what} {path} is not valid JSON: nested too deeply.") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise InvalidInput(f"{what} {path} is not valid JSON: {err}.") from None
    _check_encodable(data, path, what)
    return data


def parse_toml(text: str, path: Path, what: str) -> Any:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InvalidInput(f"{what} {path} is not valid TOML: {err}.") from None
    except (ValueError, RecursionError) as err:
        raise InvalidInput(f"{what} {path} is not valid TOML: {type(err).__name__}.") from None
    _check_encodable(data, path, what)
    return data


def load_json(path: Path, what: str) -> Any:
    return parse_json(read_text(path, what), Path(path), what)


def _check_encodable(data: Any, path: Path, what: str) -> None:
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} {path} holds a string that is not valid Unicode (a lone surrogate).") from None
    except (ValueError, RecursionError) as err:
        raise InvalidInput(f"{what} {path} cannot be read: {type(err).__name__}.") from None


def csv_rows(text: str, path: Path, what: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each CSV record of `text`; a malformed record is an error at its line."""
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise InvalidInput(f"{what} {path} line {line}: a NUL byte.")
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InvalidInput(f"{what} {path} line {line}: malformed CSV ({err}).") from None
        yield line, record
        line = reader.line_num + 1
