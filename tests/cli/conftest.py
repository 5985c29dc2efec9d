"""CLI tests: the real `creditshare` command against the test Anvil (see tests/cli/helpers.py).
Every test here is marked `chain` and starts from its module's deployed state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Cli, deployed_cli

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def isolation(fn_isolation):  # noqa: ANN001 - brownie fixture
    """Each test starts from the module's deployed state."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.chain)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A deployed consortium: committee c1..c3 (2 of 3), platform `plat`, shipper `ship`, lender `bank`,
    a second shipper `ship2` that gets suspended by some tests, and `outsider` (no member)."""
    return deployed_cli(tmp_path_factory)
