"""CLI tests: the real `creditshare` command against the test Anvil (see tests/cli/helpers.py)."""

from __future__ import annotations

import pytest

from tests.cli.helpers import Cli, deployed_cli


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A deployed consortium: committee c1..c3 (2 of 3), platform `plat`, shipper `ship`, lender `bank`,
    a second shipper `ship2` that gets suspended by some tests, and `outsider` (no member)."""
    return deployed_cli(tmp_path_factory)
