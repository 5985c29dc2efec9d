"""The admissions CSVs of `creditshare members propose admit --file` (one member to admit per row) and
`creditshare members propose admit-validator --file` (one validator per row).

Members: columns (header required, order free) ``member`` (address or keystore name), ``org``
(namespace:registration or 0x subject id), ``roles`` (role names separated by ';').

Validators: ``member`` and ``signer`` (the 0x address its node seals blocks with), and optionally ``org`` and
``roles``: both empty for a member already admitted, both given to admit the organisation by the same proposal.

The whole file is validated before anything is sent, and every bad row is listed.
"""

from __future__ import annotations

from pathlib import Path

from creditshare.bindings.consortium import ZERO32, signer_address
from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.files import read_csv_rows
from creditshare.core.ids import subject_id
from creditshare.core.keys import resolve_address
from creditshare.core.roles import role_id

COLUMNS = ("member", "org", "roles")


class Admission(tuple[str, bytes, tuple[str, ...]]):
    """One row of an admissions file, ``(address, org id, role names)``, that knows where it came from:
    `where` ("FILE: line N") is what Consortium.propose_admissions names when the row contradicts the chain."""

    where: str

    def __new__(cls, address: str, org: bytes, names: tuple[str, ...], where: str) -> Admission:
        row = super().__new__(cls, (address, org, names))
        row.where = where
        return row


VALIDATOR_COLUMNS = ("member", "signer")


def read_admissions(keystore_dir: Path, file: Path) -> list[tuple[str, bytes, tuple[str, ...]]]:
    """``(address, org id, role names)`` per row, for Consortium.propose_admissions. The CSV dialect is the
    project's one (creditshare.core.files.read_csv_rows)."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(file, required=COLUMNS, bad_rows=bad)
    rows: list[tuple[str, bytes, tuple[str, ...]]] = []
    errors = [f"line {line}: {reason}" for line, reason in bad]
    first: dict[object, int] = {}  # a member or an organisation -> the line it is first on
    for line, r in table:
        try:
            names = _role_names(r["roles"])
            if not names:
                raise InvalidInput("roles is empty: admitting a member needs at least one role.")
            address, org = resolve_address(keystore_dir, r["member"]), subject_id(r["org"])
            _once(first, line, ("member", address.lower()), f"member {r['member']}")
            _once(first, line, ("org", org), f"organisation {r['org']}")
            rows.append(Admission(address, org, names, f"{file}: line {line}"))
        except CreditShareError as err:
            errors.append(f"line {line}: {err}")
    if errors:
        raise InvalidInput(f"{file}: {len(errors)} bad row(s), nothing sent:\n  " + "\n  ".join(errors[:20]))
    if not rows:
        raise InvalidInput(f"{file} lists no members.")
    return rows


def _role_names(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(x.strip().upper() for x in text.replace(" ", ";").split(";") if x.strip()))
    for name in names:
        role_id(name)
    return names


def _once(first: dict[object, int], line: int, key: object, what: str) -> None:
    """Refuses a member, organisation or signer that an earlier row names (with that row's line)."""
    if key in first:
        raise InvalidInput(f"{what} is listed twice (first on line {first[key]}).")
    first[key] = line


def read_validators(keystore_dir: Path, file: Path) -> list[tuple[str, str, bytes, tuple[str, ...]]]:
    """``(member address, signer address, org id or ZERO32, role names)`` per row, for
    Consortium.propose_validators (see the module docstring for the columns)."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(file, required=VALIDATOR_COLUMNS, optional=("org", "roles"), bad_rows=bad)
    rows: list[tuple[str, str, bytes, tuple[str, ...]]] = []
    errors = [f"line {line}: {reason}" for line, reason in bad]
    first: dict[object, int] = {}
    for line, r in table:
        try:
            org, names = (r.get("org") or "").strip(), _role_names(r.get("roles") or "")
            if bool(org) != bool(names):
                raise InvalidInput("org and roles go together: both empty (a member already) or both given.")
            address, signer = resolve_address(keystore_dir, r["member"]), signer_address(r["signer"])
            _once(first, line, ("member", address.lower()), f"member {r['member']}")
            _once(first, line, ("signer", signer.lower()), f"signer {r['signer']}")
            rows.append((address, signer, subject_id(org) if org else ZERO32, names))
        except CreditShareError as err:
            errors.append(f"line {line}: {err}")
    if errors:
        raise InvalidInput(f"{file}: {len(errors)} bad row(s), nothing sent:\n  " + "\n  ".join(errors[:20]))
    if not rows:
        raise InvalidInput(f"{file} lists no validators.")
    return rows
