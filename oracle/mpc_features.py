"""Cross-platform aggregates revealed by an MPC job, as oracle features.

An oracle node takes a party's output file of a ``cross_platform_features``
job, checks that its revealed aggregates hash to the output hash recorded on
chain for that job (MpcJobLog), that every listed participant has attested
the job (one data holder alone cannot make a job count by listing others who
never ran it) and that the whole on-chain record equals the file's, and adds
the ``xp_*`` columns to the features it scores. Every node checks the same recorded hash, so every node scores
with the same aggregates. A subject outside the job gets zeros: the holders
input zeros for subjects they do not know, so a zero says nothing more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from creditshare.core.chain import ChainClient
from privacy.features import OUTPUT_FEATURES, features_by_subject
from privacy.record import check_recorded, read_output

Aggregates = dict[str, dict[str, int]]


def load_aggregates(client: ChainClient | None, path: Path) -> Aggregates:
    """The xp_* aggregates per subject (0x id) of a verified cross_platform_features output file.

    With a client, the job must be recorded on chain with the same output hash and the same record, and attested
    by every participant (else InvalidInput, naming who has not attested);
    without one only the file's own hash is checked (tests and offline training)."""
    output = read_output(Path(path), "cross_platform_features")
    if client is not None:
        check_recorded(client, output)
    return features_by_subject(output.revealed)


def merge_aggregates(features: pd.DataFrame, aggregates: Aggregates) -> pd.DataFrame:
    """``features`` (indexed by subject 0x id) with one Int64 column per xp_* aggregate; zeros if unknown."""
    index = [str(s).lower() for s in features.index]
    out = features.copy()
    for name in OUTPUT_FEATURES:
        values = np.fromiter((aggregates.get(s, {}).get(name, 0) for s in index), dtype=np.int64, count=len(index))
        out[name] = pd.array(values, dtype="Int64")
    return out
