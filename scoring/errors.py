"""The exceptions of the model factory.

`scoring/` imports nothing of CreditShare's, so it has its own root; the CLI maps
`ScoringError` to a readable message and exit code 1, as it does CreditShareError.
"""

from __future__ import annotations


class ScoringError(Exception):
    """Base of every error the model factory raises on purpose."""


class ModelError(ScoringError, ValueError):
    """A model, model card or training data is invalid."""


class InvalidData(ScoringError, ValueError):
    """Input data (a frame, a column, a market profile, bin counts) is invalid."""
