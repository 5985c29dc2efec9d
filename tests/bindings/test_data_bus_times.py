"""Consent.to_json and utc_time print any uint64 the DataBus can hold: an expiry the contract stored before it
bounded expiries (up to 2^64 - 1) reads as "after 9999-12-31" instead of raising OverflowError for every reader."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from creditshare.bindings.data_bus import Consent, utc_time

LAST = 253_402_300_799  # 9999-12-31 23:59:59 UTC


def consent(expires_at: int) -> Consent:
    return Consent(
        id=1,
        subject=b"\x01" * 32,
        lender="0x" + "22" * 20,
        purpose=b"\x03" * 32,
        scope=1,
        granted_at=1_767_225_600,
        expires_at=expires_at,
        revoked=False,
        grantor="0x" + "44" * 20,
    )


def test_consent_expiring_at_the_top_of_uint64_prints_after_year_9999() -> None:
    out = consent(2**64 - 1).to_json(now=1_767_225_600)
    assert out["expires"] == "after 9999-12-31"
    assert out["expires_at"] == 2**64 - 1 and out["state"] == "valid"


def test_times_up_to_the_last_second_of_9999_print_as_dates() -> None:
    assert utc_time(LAST, "%Y-%m-%d %H:%M UTC") == "9999-12-31 23:59 UTC"
    assert utc_time(LAST + 1, "%Y-%m-%d %H:%M UTC") == "after 9999-12-31"
    assert utc_time(0, "%Y-%m-%d %H:%M:%S UTC") == "1970-01-01 00:00:00 UTC"
    assert consent(1_767_225_600 + 30 * 86_400).to_json(now=0)["expires"] == "2026-01-31 00:00 UTC"


@given(st.integers(0, 2**64 - 1))
def test_any_uint64_expiry_prints(expires_at: int) -> None:
    text = consent(expires_at).to_json(now=0)["expires"]
    assert text == "after 9999-12-31" if expires_at > LAST else text.endswith(" UTC")
