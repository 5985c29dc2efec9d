"""The report window every signer applies (oracle/scores.py check_report_window), as a property on a real
Anvil: for any epoch, as_of and expiry it passes exactly when the epoch is a confirmed block, as_of its
time, and expiry within the TTL after as_of and not yet past."""

from __future__ import annotations

from pathlib import Path

import pytest
from brownie import web3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from creditshare.bindings.score_oracle import MAX_REPORT_TTL
from creditshare.core.chain import ChainClient
from creditshare.core.config import Network, Settings
from oracle.scores import ReportOutsideWindow, check_report_window

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> ChainClient:
    for _ in range(3):  # a few blocks to choose epochs from
        web3.provider.make_request("evm_mine", [])
    folder: Path = tmp_path_factory.mktemp("window")
    return ChainClient(Settings(folder, Network("development", web3.provider.endpoint_uri, 31337, False, 0)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    back=st.integers(-2, 5),  # epoch = head - back (negative: a future block)
    huge=st.sampled_from([False, False, False, False, True]),
    as_of_shift=st.sampled_from([0, 0, 0, 0, 0, 1, -1, -86_400 * 329]),
    ttl=st.sampled_from([60, 3600, MAX_REPORT_TTL, MAX_REPORT_TTL + 1]),
    expiry_shift=st.integers(-10, 3),
    confirmations=st.integers(0, 2),
)
def test_the_window_passes_exactly_for_a_confirmed_epoch_its_time_and_an_expiry_within_the_ttl(
    client, back, huge, as_of_shift, ttl, expiry_shift, confirmations
):
    head = int(web3.eth.block_number)
    epoch = 2**64 - 1 if huge else head - back
    block_time = int(web3.eth.get_block(epoch)["timestamp"]) if 1 <= epoch <= head else 0
    as_of = block_time + as_of_shift
    expiry = as_of + min(ttl, MAX_REPORT_TTL) + expiry_shift
    latest = int(web3.eth.get_block(head)["timestamp"])
    ok = (
        1 <= epoch <= head - confirmations
        and as_of == block_time
        and expiry <= as_of + min(ttl, MAX_REPORT_TTL)
        and expiry > latest
    )
    event("inside the window" if ok else "outside")
    try:
        check_report_window(client, epoch=epoch, as_of=as_of, expiry=expiry, confirmations=confirmations, ttl=ttl)
    except ReportOutsideWindow as err:
        assert not ok, err
        assert "\n" not in str(err)
    else:
        assert ok


@pytest.mark.parametrize("shift", [0, -1, -(2**40)])
def test_an_expiry_not_after_as_of_is_refused_as_such_not_as_an_old_epoch(client, shift):
    head = int(web3.eth.block_number)
    as_of = int(web3.eth.get_block(head)["timestamp"])
    with pytest.raises(ReportOutsideWindow, match=f"^expiry {as_of + shift} is not after as_of {as_of}: the report"):
        check_report_window(client, epoch=head, as_of=as_of, expiry=as_of + shift)
