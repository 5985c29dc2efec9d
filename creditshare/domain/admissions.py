"""The admissions CSV of `creditshare members propose admit --file`: one member to admit per row.

Columns (header required, order free): ``member`` (address or keystore name), ``org`` (namespace:registration
or 0x subject id), ``roles`` (role names separated by ';'). The whole file is validated before anything is
sent, and every bad row is listed.
"""

from __future__ import annotations

from pathlib import Path

from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.files import read_csv_rows
from creditshare.core.ids import subject_id
from creditshare.core.keys import resolve_address
from creditshare.core.roles import role_id

COLUMNS = ("member", "org", "roles")


def read_admissions(keystore_dir: Path, file: Path) -> list[tuple[str, bytes, tuple[str, ...]]]:
    """``(address, org id, role names)`` per row, for Consortium.propose_admissions. The CSV dialect is the
    project's one (creditshare.core.files.read_csv_rows)."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(file, required=COLUMNS, bad_rows=bad)
    rows: list[tuple[str, bytes, tuple[str, ...]]] = []
    errors = [f"line {line}: {reason}" for line, reason in bad]
    for line, r in table:
        try:
            names = tuple(x.strip().upper() for x in r["roles"].replace(" ", ";").split(";") if x.strip())
            for name in names:
                role_id(name)
            address = resolve_address(keystore_dir, r["member"])
            rows.append((address, subject_id(r["org"]), names))
        except CreditShareError as err:
            errors.append(f"line {line}: {err}")
    if errors:
        raise InvalidInput(f"{file}: {len(errors)} bad row(s), nothing sent:\n  " + "\n  ".join(errors[:20]))
    if not rows:
        raise InvalidInput(f"{file} lists no members.")
    return rows
