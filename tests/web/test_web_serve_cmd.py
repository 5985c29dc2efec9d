"""`creditshare serve`'s own refusals (one error line, exit 1, no server started) and its API token file."""

from __future__ import annotations

import stat

import pytest

from creditshare.cli.serve_cmd import api_token
from creditshare.core.errors import ConfigError


def test_serve_refuses_a_host_that_is_not_loopback_without_public(cli):
    r = cli("serve", "--host", "0.0.0.0", "--port", "1", ok=False, account="bank")
    assert r.exit_code == 1 and "is not loopback" in r.stderr and "--public" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_needs_an_account(cli):
    r = cli("serve", "--port", "1", ok=False)
    assert r.exit_code == 1 and "pass --account NAME" in r.stderr


def test_serve_refuses_a_negative_score_age(cli):
    r = cli("serve", "--max-age-days", "-1", ok=False, account="bank")
    assert r.exit_code == 1 and "error:" in r.stderr


def test_the_api_token_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "console" / "bank.token"
    token = api_token(path)
    assert len(token) >= 40 and api_token(path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="does not hold an API token"):
        api_token(path)
