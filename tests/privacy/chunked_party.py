"""A party that runs secure comparisons in chunks of 7 subjects (to test chunking)."""

from __future__ import annotations

import sys

import privacy.computations as computations
from privacy.party import main

computations.COMPARE_CHUNK = 7

if __name__ == "__main__":
    sys.exit(main())
