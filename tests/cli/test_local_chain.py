"""`creditshare chain start|stop|status`: a persistent Anvil whose state survives a restart."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core import localchain
from creditshare.core.config import Network, Settings
from creditshare.core.errors import ChainError, ConfigError
from creditshare.core.ids import settlement_id, subject_id, to_hex
from creditshare.core.localchain import free_port
from tests.cli.helpers import EXAMPLES

EXE = str(Path(sys.executable).parent / "creditshare")
DAY = 86_400


@pytest.fixture
def local(tmp_path):
    env = {
        **os.environ,
        "CREDITSHARE_DATA_DIR": str(tmp_path / "data"),
        "CREDITSHARE_NETWORK": "local",
        "CREDITSHARE_LOCAL_PORT": str(free_port()),
        "CREDITSHARE_PASSWORD": "pw",
        "CREDITSHARE_SCRYPT_N": "16",
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=180)
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed: {done.stderr}")
        return done

    yield run
    run("chain", "stop", check=False)


def test_chain_keeps_deployments_and_settlements_across_restart(local):
    status = local("chain", "status", check=False)
    assert status.returncode == 3 and "not running" in status.stdout
    started = json.loads(local("--json", "chain", "start").stdout)
    assert started["running"] and started["chain_id"] == 1337
    assert "already running" in local("chain", "start").stdout  # idempotent
    for name in ("c1", "plat", "ship"):
        local("keys", "new", name)
    local("deploy", "--committee", "c1=uscc:C1", "--threshold", "1", "--account", "c1")
    for name, org, role in (("plat", "uscc:PLAT1", "PLATFORM"), ("ship", "uscc:SHIP1", "SHIPPER")):
        local("members", "propose", "admit", "--member", name, "--org", org, "--role", role, "--account", "c1")
    local("settlements", "submit", str(EXAMPLES / "settlements.csv"), "--account", "plat")
    sid = to_hex(settlement_id(subject_id("uscc:PLAT1"), "PLAT1-2026-0001"))
    local("settlements", "confirm", sid, "--account", "ship")
    before = json.loads(local("--json", "settlements", "show", sid).stdout)

    assert "state saved" in local("chain", "stop").stdout
    assert "was not running" in local("chain", "stop").stdout  # idempotent
    local("chain", "start")

    after = json.loads(local("--json", "settlements", "show", sid).stdout)
    assert after == before and after["status"] == "Confirmed"
    again = json.loads(
        local("--json", "settlements", "submit", str(EXAMPLES / "settlements.csv"), "--account", "plat").stdout
    )
    assert (again["submitted"], again["already_on_chain"]) == (0, 3)


def test_chain_start_refuses_other_networks(local):
    done = local("--network", "development", "chain", "start", check=False)
    assert done.returncode == 1 and "manages the local network only" in done.stderr


def test_commands_without_a_running_chain_fail_clearly(local):
    done = local("members", "list", check=False)
    assert done.returncode == 1 and "cannot reach the local chain" in done.stderr and "Traceback" not in done.stderr


def _settings(local, name: str = "local") -> Settings:
    url = json.loads(local("--json", "chain", "status", check=False).stdout)["rpc_url"]
    return Settings(Path("."), Network(name, url, 1337, False, 0))


def test_a_new_chain_starts_at_its_genesis_date_and_its_clock_only_moves_forward(local):
    genesis = dt.date.today() - dt.timedelta(days=100)
    local("chain", "start", "--genesis", genesis.isoformat())
    settings = _settings(local)
    start = int(dt.datetime.combine(genesis, dt.time(), dt.UTC).timestamp())
    assert start <= localchain.chain_time(settings) < start + 120  # the genesis block, plus a few seconds
    month = start + 30 * DAY
    assert localchain.travel_to(settings, month) == month
    with pytest.raises(ChainError, match="cannot go back"):
        localchain.travel_to(settings, month - DAY)
    # a restart keeps the saved history: the genesis option does not apply to it, and the clock never goes back
    local("chain", "stop")
    assert "local chain started" in local("chain", "start", "--genesis", genesis.isoformat()).stdout
    assert localchain.chain_time(settings) >= month


def test_only_a_local_development_chain_is_time_travelled(local):
    local("chain", "start")
    local_settings = _settings(local)
    for name in ("consortium",):
        with pytest.raises(ConfigError, match="only a local development chain"):
            localchain.travel_to(_settings(local, name), localchain.chain_time(local_settings) + DAY)
    remote = Settings(Path("."), Network("local", "http://10.0.0.1:8545", 1337, False, 0))
    with pytest.raises(ConfigError, match="only a local development chain"):
        localchain.travel_to(remote, 2_000_000_000)


def test_chain_start_refuses_a_bad_or_future_genesis(local):
    done = local("chain", "start", "--genesis", "last year", check=False)
    assert done.returncode == 1 and "--genesis must be a date" in done.stderr and "Traceback" not in done.stderr
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    done = local("chain", "start", "--genesis", future, check=False)
    assert done.returncode == 1 and "cannot lie in the future" in done.stderr
