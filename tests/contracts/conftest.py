"""Contract tests: brownie deploys the contracts on the test Anvil (fixtures in tests/conftest.py).
Every test here is marked `chain` and starts from its module's deployed state."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def isolation(fn_isolation):  # noqa: ANN001 - brownie fixture
    """Each test starts from the module's deployed state."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.chain)
