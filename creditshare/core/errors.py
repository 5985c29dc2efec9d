"""The one exception root of CreditShare; every module raises subclasses of it."""

from __future__ import annotations


class CreditShareError(Exception):
    """Base of every error CreditShare raises on purpose."""


class ConfigError(CreditShareError, ValueError):
    """Settings, network or keystore configuration is missing or invalid."""


class KeyUnavailable(CreditShareError):
    """A signing key could not be loaded (wrong password, missing keystore)."""


class ChainError(CreditShareError):
    """The chain could not be reached or answered unexpectedly."""


class TransactionRejected(CreditShareError):
    """A transaction or call reverted; `reason` is the decoded custom error."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidInput(CreditShareError, ValueError):
    """User input (a file, an argument) is invalid; nothing was written."""


class PrivacyError(CreditShareError):
    """A multi-party computation or set intersection failed; nothing was revealed."""


class DetailsUnavailable(CreditShareError):
    """An entry's private details cannot be read by this account (not paid, key not released, wrong key)."""


def quoted(value: object, limit: int = 80) -> str:
    """``value`` as an error message shows it: its repr, cut to ``limit`` characters with the full length said, so a
    100,000-character input is not printed back whole."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str | bytes) else ""
    return f"{text[:limit]}…{size}"
