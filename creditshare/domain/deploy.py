"""Deploying the consortium's contracts and saving their addresses per network."""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount

from creditshare.bindings.consortium import check_parameter
from creditshare.core.chain import ChainClient
from creditshare.core.errors import InvalidInput

DEFAULT_PROPOSAL_TTL = 7 * 24 * 3600


def deploy_all(
    client: ChainClient,
    account: LocalAccount,
    committee: Sequence[tuple[str, bytes]],
    threshold: int,
    proposal_ttl: int = DEFAULT_PROPOSAL_TTL,
    force: bool = False,
) -> dict[str, str]:
    """Deploys Consortium (with its founding committee), SettlementLedger, ModelRegistry, MpcJobLog,
    SettlementToken, DataBus, CreditList, ScoreOracle, PayoutLedger and TripRegistry.

    Idempotent: contracts already deployed on this network (code at the saved
    address) are kept unless `force`. Returns the addresses.
    """
    if not committee:
        raise InvalidInput("the founding committee needs at least one member (--committee ADDRESS=ORG).")
    if not 1 <= threshold <= len(committee):
        raise InvalidInput(f"threshold must be between 1 and the committee size {len(committee)}; got {threshold}.")
    check_parameter("consortium.proposalTtl", proposal_ttl)  # the Consortium constructor's bound
    deployment = client.deployment
    if force:
        deployment.addresses.clear()
    if not deployment.addresses:
        deployment.from_block = int(client.read(lambda: client.w3.eth.block_number, "block number"))
    if not client.is_deployed("Consortium"):
        addresses = [a for a, _ in committee]
        orgs = [o for _, o in committee]
        deployment.addresses["Consortium"] = client.deploy(
            "Consortium", [addresses, orgs, threshold, proposal_ttl], account
        )
        deployment.save()
    consortium = deployment.addresses["Consortium"]
    for name in (
        "SettlementLedger",
        "ModelRegistry",
        "MpcJobLog",
        "SettlementToken",
        "DataBus",
        "PayoutLedger",
        "TripRegistry",
    ):
        # each takes only the consortium address
        if not client.is_deployed(name):
            deployment.addresses[name] = client.deploy(name, [consortium], account)
            deployment.save()
    if not client.is_deployed("CreditList"):
        token = deployment.addresses["SettlementToken"]
        deployment.addresses["CreditList"] = client.deploy("CreditList", [consortium, token], account)
        deployment.save()
    if not client.is_deployed("ScoreOracle"):
        registry = deployment.addresses["ModelRegistry"]
        deployment.addresses["ScoreOracle"] = client.deploy("ScoreOracle", [consortium, registry], account)
        deployment.save()
    return dict(deployment.addresses)
