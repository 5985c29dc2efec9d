"""A party's private inputs: reading, validating and aligning them to the agreed shape.

Each holder validates its own file locally, before any network traffic. The
error messages name shapes and field names, never values: they are sent to
the other parties when the job is aborted at start.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from creditshare.core.errors import InvalidInput
from privacy.config import MpcConfig, canonical_json, normalize_subject
from privacy.files import csv_rows, load_json, read_text

# Per-subject inputs of cross_platform_features, in this order.
CROSS_FEATURES = ("outstanding_fen", "overdue_fen", "default_count", "has_relationship", "worst_dpd")
# Inclusive ranges; sums of money over up to ~9,000 holders stay below 2**63.
MAX_FEN = 10**15
MAX_DEFAULTS = 10**6
MAX_DPD = 36_500
RANGES = {
    "outstanding_fen": (0, MAX_FEN),
    "overdue_fen": (0, MAX_FEN),
    "default_count": (0, MAX_DEFAULTS),
    "has_relationship": (0, 1),
    "worst_dpd": (0, MAX_DPD),
}
MAX_ROWS_PER_BIN = 10**12


class InvalidPartyInput(InvalidInput):
    """This holder's inputs are invalid.

    `public` is the part of the message the other parties are told: shapes,
    ranges and field names only, never a value or which subjects this holder
    knows (that itself is private).
    """

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self.public = public


@dataclass(frozen=True)
class PartyInputs:
    """Validated inputs, aligned to the job's agreed shape.

    `values` is int64: shape (5, n_subjects) for cross_platform_features
    (subjects this holder does not know are all zeros), or (n_counts,) for
    federated_binning (good and bad counts per bin, features in config order).
    """

    computation: str
    values: np.ndarray
    unknown_subjects_ignored: int = 0

    def canonical_bytes(self, config: MpcConfig) -> bytes:
        """The bytes a party commits to: aligned values bound to the job."""
        return canonical_json(
            {
                "job_id": config.job_id,
                "computation": self.computation,
                "values": self.values.tolist(),
            }
        )


def expected_shape(config: MpcConfig) -> tuple[int, ...]:
    if config.computation == "cross_platform_features":
        return (len(CROSS_FEATURES), len(config.subjects))
    return (sum(2 * (len(edges) + 1) for edges in config.bin_edges.values()),)


def load_inputs(config: MpcConfig, path: Path) -> PartyInputs:
    """Read a CSV or JSON inputs file and align it to the config."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"inputs file {path} does not exist.")
    try:
        if config.computation == "cross_platform_features":
            return align_subject_rows(config, _read_subject_rows(path))
        return bin_rows(config, _read_binning_rows(path, tuple(config.bin_edges)))
    except InvalidPartyInput as err:
        if str(path) in str(err):
            raise
        # the local message names the file; the one the other parties get stays as it was
        detail = str(err).removeprefix("inputs: ").removeprefix("inputs ")
        raise InvalidPartyInput(f"inputs {path}: {detail}", err.public) from None
    except InvalidInput as err:
        if str(path) in str(err):
            raise
        raise InvalidInput(f"inputs {path}: {str(err).removeprefix('inputs: ')}") from None


def align_subject_rows(config: MpcConfig, rows: dict[str, list[Any]]) -> PartyInputs:
    """Per-subject rows → a (5, n) matrix over the agreed subject list (zeros if unknown)."""
    index = {s: i for i, s in enumerate(config.subjects)}
    values = np.zeros((len(CROSS_FEATURES), len(config.subjects)), dtype=np.int64)
    ignored = 0
    for raw_subject, row in rows.items():
        subject = normalize_subject(raw_subject, "inputs")
        if not isinstance(row, list) or len(row) != len(CROSS_FEATURES):
            got = len(row) if isinstance(row, list) else "a non-list"
            expect = (
                f"has {got} values; cross_platform_features expects "
                f"{len(CROSS_FEATURES)} ({', '.join(CROSS_FEATURES)})."
            )
            raise InvalidPartyInput(f"inputs row for subject {subject} {expect}", f"an inputs row {expect}")
        col = index.get(subject)
        if col is None:
            ignored += 1  # not part of this job
            continue
        for k, (name, v) in enumerate(zip(CROSS_FEATURES, row)):
            lo, hi = RANGES[name]
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                rule = f"must be an integer in [{lo}, {hi}]."
                raise InvalidPartyInput(
                    f"inputs: {name} of subject {subject} {rule}", f"an inputs row has a {name} that {rule}"
                )
            values[k, col] = v
    return PartyInputs("cross_platform_features", values, ignored)


def bin_rows(config: MpcConfig, rows: list[dict[str, int]]) -> PartyInputs:
    """Bin this holder's own rows locally; only per-bin counts leave the holder (shared)."""
    counts: list[int] = []
    for feature, edges in config.bin_edges.items():
        good = [0] * (len(edges) + 1)
        bad = [0] * (len(edges) + 1)
        for row in rows:
            b = bisect_right(edges, row[feature])
            if row["bad"]:
                bad[b] += 1
            else:
                good[b] += 1
        counts.extend(good)
        counts.extend(bad)
    if any(c > MAX_ROWS_PER_BIN for c in counts):
        raise InvalidInput(f"inputs: a bin holds more than {MAX_ROWS_PER_BIN} rows.")
    return PartyInputs("federated_binning", np.array(counts, dtype=np.int64))


def _read_subject_rows(path: Path) -> dict[str, list[Any]]:
    if path.suffix == ".json":
        data = load_json(path, "inputs")
        subjects = data.get("subjects") if isinstance(data, dict) else None
        if not isinstance(subjects, dict):
            raise InvalidInput(f'inputs {path}: expected {{"subjects": {{"0x…": [5 integers]}}}}.')
        by_subject = {normalize_subject(s, f"inputs {path}"): row for s, row in subjects.items()}
        if len(by_subject) != len(subjects):
            raise InvalidPartyInput(
                f"inputs {path}: a subject appears twice (ids differ only in case).",
                "a subject appears twice in the inputs.",
            )
        return by_subject
    rows: dict[str, list[Any]] = {}
    records = csv_rows(read_text(path, "inputs"), path, "inputs")
    header = next(records, None)
    want = ["subject", *CROSS_FEATURES]
    if header is None or [h.strip() for h in header[1]] != want:
        raise InvalidInput(f"inputs {path}: CSV header must be {','.join(want)}.")
    for line_no, rec in records:
        if not rec:
            continue
        subject = normalize_subject(rec[0].strip(), f"inputs {path} line {line_no}")
        if subject in rows:
            raise InvalidPartyInput(
                f"inputs {path} line {line_no}: subject {subject} appears twice.",
                "a subject appears twice in the inputs.",
            )
        rows[subject] = [_int_cell(c, path, line_no) for c in rec[1:]]
    return rows


def _read_binning_rows(path: Path, features: tuple[str, ...]) -> list[dict[str, int]]:
    want = set(features) | {"bad"}
    rows: list[Any]
    if path.suffix == ".json":
        data = load_json(path, "inputs")
        rows_raw = data.get("rows") if isinstance(data, dict) else None
        if not isinstance(rows_raw, list):
            raise InvalidInput(f'inputs {path}: expected {{"rows": [{{feature: int, "bad": 0|1}}]}}.')
        rows = [(i, r) for i, r in enumerate(rows_raw)]
        where = "row"
    else:
        records = csv_rows(read_text(path, "inputs"), path, "inputs")
        first = next(records, None)
        header = [h.strip() for h in first[1]] if first else []
        missing = want - set(header)
        if missing:
            raise InvalidInput(f"inputs {path}: CSV lacks columns {', '.join(sorted(missing))}.")
        rows = []
        for line_no, rec in records:
            if not rec:
                continue
            if len(rec) != len(header):
                raise InvalidInput(f"inputs {path} line {line_no}: {len(rec)} fields; the header has {len(header)}.")
            rows.append((line_no, dict(zip(header, rec))))
        where = "line"
    out = []
    for i, row in rows:
        if not isinstance(row, dict) or not want <= set(row):
            raise InvalidInput(f"inputs {path} {where} {i}: lacks one of {', '.join(sorted(want))}.")
        clean = {k: _int_cell(row[k], path, i) for k in want}
        if clean["bad"] not in (0, 1):
            raise InvalidInput(f"inputs {path} {where} {i}: bad must be 0 or 1.")
        out.append(clean)
    return out


def _int_cell(cell: Any, path: Path, where: int) -> int:
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    if not isinstance(cell, str):
        raise InvalidInput(f"inputs {path} row {where}: a value is not an integer.")
    try:
        return int(cell.strip())
    except ValueError as err:
        raise InvalidInput(f"inputs {path} row {where}: a value is not an integer.") from err
