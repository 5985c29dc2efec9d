"""The saved deployments file (creditshare.core.chain.Deployment) and an unreachable node: every malformed
file is one ConfigError naming it (issue #13, finding 3), never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from creditshare.core.chain import Deployment
from creditshare.core.errors import ConfigError

GOOD = {"chain_id": 31337, "from_block": 3, "contracts": {"Consortium": "0x" + "ab" * 20}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def load(folder: Path, raw: bytes) -> Deployment | None:
    """Deployment.load of a file holding `raw`: the Deployment, or None after the one ConfigError it may raise
    (which must name the file)."""
    path = folder / "deployments.json"
    path.write_bytes(raw)
    try:
        return Deployment.load(path, 31337)
    except ConfigError as err:
        assert str(path) in str(err)
        return None


def test_a_saved_deployment_reads_back(tmp_path):
    saved = Deployment(tmp_path / "d.json", 31337, dict(GOOD["contracts"]), 3)
    saved.save()
    assert Deployment.load(saved.path, 31337) == saved
    assert Deployment.load(tmp_path / "none.json", 5).addresses == {}


@pytest.mark.parametrize(
    "raw,message",
    [
        (b'{"chain_id": 31337, "contracts": {', "not valid JSON (line 1"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[]", "a JSON object is expected, not list"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"chain_id": "31337", "contracts": {}}', "chain_id must be an integer"),
        (b'{"chain_id": 1}', "contracts must be an object"),
        (b'{"chain_id": 1, "contracts": {}, "from_block": -1}', "from_block must be a non-negative integer"),
        (b'{"chain_id": 1, "contracts": {"Consortium": "0x12"}}', "not an address: Consortium"),
        (b'{"chain_id": 1, "contracts": {"Consortium": 5}}', "not an address: Consortium"),
    ],
)
def test_a_malformed_deployments_file_is_one_config_error_naming_it(tmp_path, raw, message):
    path = tmp_path / "deployments.json"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        Deployment.load(path, 31337)
    assert str(path) in str(caught.value)


def test_a_deployments_path_that_is_a_folder_is_a_config_error(tmp_path):
    (tmp_path / "deployments.json").mkdir()
    with pytest.raises(ConfigError, match="cannot read the saved deployments"):
        Deployment.load(tmp_path / "deployments.json", 31337)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(raw=st.binary(max_size=300))
@example(raw=json.dumps(GOOD).encode())
@example(raw=json.dumps(GOOD).encode()[:-3])
def test_random_bytes_raise_nothing_but_config_error(tmp_path, raw):
    loaded = load(tmp_path, raw)
    assert loaded is None or isinstance(loaded.addresses, dict)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(value=json_values, key=st.sampled_from(["chain_id", "from_block", "contracts", "Consortium", None]))
def test_mutated_json_raises_nothing_but_config_error(tmp_path, value, key):
    body: object = dict(GOOD, contracts=dict(GOOD["contracts"]))
    assert isinstance(body, dict)
    if key is None:
        body = value
    elif key == "Consortium":
        body["contracts"]["Consortium"] = value
    else:
        body[key] = value
    loaded = load(tmp_path, json.dumps(body).encode())
    if loaded is not None:
        assert isinstance(loaded.chain_id, int) and all(isinstance(a, str) for a in loaded.addresses.values())


def test_the_cli_names_a_malformed_deployments_file_in_one_error_line(tmp_path):
    data = tmp_path / "data"
    (data / "deployments").mkdir(parents=True)
    env = {**os.environ, "CREDITSHARE_DATA_DIR": str(data), "CREDITSHARE_NETWORK": "development"}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from creditshare.core.config import load_settings; print(load_settings().deployments_file)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    target = Path(probe.stdout.strip())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b'{"chain_id": 31337, "contracts": ')
    exe = Path(sys.executable).parent / "creditshare"
    done = subprocess.run([str(exe), "members", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and str(target) in done.stderr and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_unreachable_node_is_one_error_line(tmp_path):
    env = {
        **os.environ,
        "CREDITSHARE_DATA_DIR": str(tmp_path),
        "CREDITSHARE_NETWORK": "development",
        "CREDITSHARE_DEV_RPC_URL": "http://127.0.0.1:9",
    }
    exe = Path(sys.executable).parent / "creditshare"
    done = subprocess.run([str(exe), "members", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and "cannot reach" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
