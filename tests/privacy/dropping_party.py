"""A party that dies abruptly (os._exit(3)) mid-job.

DROP_AT=reveal (default): right before the output is revealed, after every
party has shared its inputs and the secure computation is under way.
DROP_AT=connect: after passing the start handshake, before MPyC connects.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import privacy.computations as computations
import privacy.party as party


async def _die(*_: Any) -> Any:
    os._exit(3)


if os.environ.get("DROP_AT", "reveal") == "connect":
    party.start_mpyc = _die  # type: ignore[assignment]
else:
    computations.reveal = _die  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(party.main())
