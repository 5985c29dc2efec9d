"""The admissions CSV of `creditshare members propose admit --file`: one member to admit per row.

Columns (header required, order free): ``member`` (address or keystore name), ``org`` (namespace:registration
or 0x subject id), ``roles`` (role names separated by ';'). The whole file is validated before anything is
sent, and every bad row is listed.
"""

from __future__ import annotations

import csv
from pathlib import Path

from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.ids import subject_id
from creditshare.core.keys import resolve_address
from creditshare.core.roles import role_id

COLUMNS = ("member", "org", "roles")


def read_admissions(keystore_dir: Path, file: Path) -> list[tuple[str, bytes, tuple[str, ...]]]:
    """``(address, org id, role names)`` per row, for Consortium.propose_admissions."""
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
                raise InvalidInput(f"{file}: the header must hold member,org,roles.")
            raw = list(reader)
    except OSError as err:
        raise InvalidInput(f"cannot read {file}: {err.strerror}") from err
    rows: list[tuple[str, bytes, tuple[str, ...]]] = []
    errors = []
    for line, r in enumerate(raw, start=2):
        try:
            names = tuple(x.strip().upper() for x in (r["roles"] or "").replace(" ", ";").split(";") if x.strip())
            for name in names:
                role_id(name)
            address = resolve_address(keystore_dir, (r["member"] or "").strip())
            rows.append((address, subject_id((r["org"] or "").strip()), names))
        except CreditShareError as err:
            errors.append(f"line {line}: {err}")
    if errors:
        raise InvalidInput(f"{file}: {len(errors)} bad row(s), nothing sent:\n  " + "\n  ".join(errors[:20]))
    if not rows:
        raise InvalidInput(f"{file} lists no members.")
    return rows
