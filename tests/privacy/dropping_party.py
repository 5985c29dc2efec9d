"""A party that dies abruptly (os._exit) right before the output is revealed.

Used by the fault tests: a real process that drops mid-job, after every
party has shared its inputs and the secure computation is under way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import privacy.computations as computations
from privacy.party import main


async def _die(rt: Any, x: Any) -> Any:
    os._exit(3)


computations.reveal = _die

if __name__ == "__main__":
    sys.exit(main())
