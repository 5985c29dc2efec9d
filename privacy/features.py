"""Revealed aggregates → what the oracle and the model factory consume."""

from __future__ import annotations

from typing import Any

import numpy as np

from creditshare.core.errors import InvalidInput
from privacy.config import MpcConfig

# Names of the revealed per-subject aggregates, in row order of the result.
OUTPUT_FEATURES = (
    "xp_outstanding_fen",
    "xp_overdue_fen",
    "xp_default_count",
    "xp_platform_count",
    "xp_worst_dpd",
)


def revealed_payload(config: MpcConfig, result: np.ndarray) -> dict[str, Any]:
    """The JSON-ready revealed aggregates of a job (and nothing else)."""
    if config.computation == "cross_platform_features":
        return {
            "features": list(OUTPUT_FEATURES),
            "subjects": {subject: [int(v) for v in result[:, j]] for j, subject in enumerate(config.subjects)},
        }
    bins: dict[str, Any] = {}
    offset = 0
    for feature, edges in config.bin_edges.items():
        k = len(edges) + 1
        bins[feature] = {
            "edges": list(edges),
            "good": [int(v) for v in result[offset : offset + k]],
            "bad": [int(v) for v in result[offset + k : offset + 2 * k]],
        }
        offset += 2 * k
    return {"bins": bins}


def features_by_subject(revealed: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Integer feature dict per subject from a cross_platform_features output.

    Subjects that no holder knows carry zeros (that is what every holder input
    for them), so a zero row says nothing about who knows the subject.
    """
    names = revealed.get("features")
    subjects = revealed.get("subjects")
    if names != list(OUTPUT_FEATURES) or not isinstance(subjects, dict):
        raise InvalidInput("not a cross_platform_features output (features or subjects missing).")
    return {s: dict(zip(OUTPUT_FEATURES, (int(v) for v in row))) for s, row in subjects.items()}


def subject_features(features: dict[str, dict[str, int]], subject: str) -> dict[str, int]:
    """Features of one subject; a subject outside the job gets all zeros."""
    return dict(features.get(subject.lower(), dict.fromkeys(OUTPUT_FEATURES, 0)))
