"""The secure computations (MPyC) and their plaintext references.

Each secure function takes the running MPyC runtime and this party's aligned
inputs, and returns the revealed aggregates as an int64 array. Only the
result of `reveal` ever leaves secret-shared form.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

SUM_BITS = 64  # sums of fen over all holders fit (see inputs.MAX_FEN)
DPD_BITS = 17  # 0..36,500 days: comparisons cost grows with the bit length
COMPARE_CHUNK = 10_000  # subjects per batch of secure comparisons (peak memory ~ chunk)


async def reveal(rt: Any, x: Any) -> np.ndarray:
    """Open a secret-shared array to every party (the only place anything is revealed)."""
    opened = await rt.output(x)
    return np.asarray(opened, dtype=object).astype(np.int64)


async def secure_cross_platform(rt: Any, values: np.ndarray) -> np.ndarray:
    """Per subject: sums of the four additive features and the max of worst-DPD.

    values: this party's (5, n) matrix. Returns (5, n): outstanding, overdue,
    defaults, platform count (sum of flags), worst DPD across parties.
    """
    secsum = rt.SecInt(SUM_BITS)
    secdpd = rt.SecInt(DPD_BITS)
    additive = rt.input(secsum.array(values[:4]))
    dpd = rt.input(secdpd.array(values[4]))
    total = reduce(lambda a, b: a + b, additive)  # local: no communication
    chunks = []
    for start in range(0, values.shape[1], COMPARE_CHUNK):
        part = [d[start : start + COMPARE_CHUNK] for d in dpd]
        chunk = reduce(rt.np_maximum, part)  # m-1 rounds of secure comparisons
        await rt.gather(chunk)  # finish this chunk first: bounds memory, reveals nothing
        chunks.append(chunk)
    worst = chunks[0] if len(chunks) == 1 else rt.np_concatenate(chunks)
    sums = await reveal(rt, total)
    worst_open = await reveal(rt, worst)
    return np.vstack([sums, worst_open.reshape(1, -1)])


async def secure_binning_counts(rt: Any, values: np.ndarray) -> np.ndarray:
    """Per-bin good/bad counts summed across holders."""
    secsum = rt.SecInt(SUM_BITS)
    shared = rt.input(secsum.array(values))
    return await reveal(rt, reduce(lambda a, b: a + b, shared))


SECURE = {
    "cross_platform_features": secure_cross_platform,
    "federated_binning": secure_binning_counts,
}


def plaintext_cross_platform(per_party: list[np.ndarray]) -> np.ndarray:
    """What `secure_cross_platform` computes, with every party's inputs in one place."""
    stacked = np.stack(per_party)  # (m, 5, n)
    sums = stacked[:, :4, :].sum(axis=0)
    worst = stacked[:, 4, :].max(axis=0)
    return np.vstack([sums, worst.reshape(1, -1)])


def plaintext_binning_counts(per_party: list[np.ndarray]) -> np.ndarray:
    return np.stack(per_party).sum(axis=0)


PLAINTEXT = {
    "cross_platform_features": plaintext_cross_platform,
    "federated_binning": plaintext_binning_counts,
}
