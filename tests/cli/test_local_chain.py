"""`creditshare chain start|stop|status`: a persistent Anvil whose state survives a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core.ids import settlement_id, subject_id, to_hex
from creditshare.core.localchain import free_port
from tests.cli.helpers import EXAMPLES

EXE = str(Path(sys.executable).parent / "creditshare")


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
