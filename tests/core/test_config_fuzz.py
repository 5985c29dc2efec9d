"""The settings loader on arbitrary environments (issue #13, finding 3): whatever the CREDITSHARE_* variables
and the data folder hold, load_settings returns settings or raises ConfigError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.core.config import NETWORKS, load_settings
from creditshare.core.errors import ConfigError

VARIABLES = (
    "CREDITSHARE_NETWORK",
    "CREDITSHARE_DEV_PORT",
    "CREDITSHARE_DEV_RPC_URL",
    "CREDITSHARE_LOCAL_PORT",
    "CREDITSHARE_LOCAL_CHAIN_ID",
    "CREDITSHARE_RPC_URL",
    "CREDITSHARE_CHAIN_ID",
    "CREDITSHARE_POA",
    "CREDITSHARE_GAS_PRICE",
)
# environment values cannot hold NUL; surrogates cannot be encoded into the environment
env_text = st.one_of(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=25),
    st.sampled_from(["", "0", "1", "-1", "65536", "8545", "9" * 25, " 12 ", "1_000", "0x10", *NETWORKS]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=st.dictionaries(st.sampled_from(VARIABLES), env_text), network=st.sampled_from([None, *NETWORKS, "x"]))
def test_any_environment_gives_settings_or_a_config_error(monkeypatch, tmp_path, env, network):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        found = load_settings(network, tmp_path)
    except ConfigError as err:
        assert str(err)
    else:
        assert found.network.name in NETWORKS and found.network.chain_id > 0
        assert found.network.rpc_url.split("://")[0] in ("http", "https", "ws", "wss")


@pytest.mark.parametrize("folder", ["", "~", "a/../b", "x" * 300])
def test_odd_data_folders_give_settings_or_a_config_error(monkeypatch, tmp_path, folder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    try:
        found = load_settings("development", folder or None)
    except ConfigError as err:
        assert "data folder" in str(err)
    else:
        assert found.data_dir.is_absolute()
