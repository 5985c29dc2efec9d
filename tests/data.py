"""Files of the consortium's shared data folder (e.g. germancredit.csv), for tests.

Looked up in CREDITSHARE_SHARED_DATA, then in ../shared/data beside the checkout
(where CI puts the shared folder). Nothing machine-specific.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def shared_data_file(name: str) -> Path:
    """The path of `name` in the shared data folder; FileNotFoundError naming where it looked."""
    candidates = [Path(os.environ["CREDITSHARE_SHARED_DATA"])] if os.environ.get("CREDITSHARE_SHARED_DATA") else []
    candidates.append(CHECKOUT.parent / "shared" / "data")
    for folder in candidates:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"{name} not found in {', '.join(str(c) for c in candidates)}; set CREDITSHARE_SHARED_DATA to its folder."
    )
