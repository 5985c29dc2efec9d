"""`creditshare deploy` and `creditshare members ...`: the consortium and its governance."""

from __future__ import annotations

from typing import Optional

import typer

from creditshare import deploy as deploy_mod
from creditshare.cli.context import console, emit_json, state, table
from creditshare.errors import InvalidInput
from creditshare.governance import ZERO32, Governance, Member, ProposalKind, parameter_key
from creditshare.ids import subject_id, to_hex
from creditshare.keys import resolve_address

app = typer.Typer(help="Consortium members and committee proposals (m-of-n approval).", no_args_is_help=True)

ACCOUNT_HELP = "Keystore name of the signing account (or set CREDITSHARE_PRIVATE_KEY)."


def deploy(
    ctx: typer.Context,
    committee: list[str] = typer.Option(
        ..., "--committee", help="Founding committee member as ADDRESS_OR_KEYSTORE=ORG (org: namespace:registration "
        "or 0x subject id); repeat for each member."),
    threshold: int = typer.Option(..., "--threshold", help="Committee approvals a proposal needs."),
    proposal_ttl: int = typer.Option(deploy_mod.DEFAULT_PROPOSAL_TTL, help="Seconds a proposal stays open."),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
    force: bool = typer.Option(False, "--force", help="Deploy anew even if contracts are saved for this network."),
) -> None:
    """Deploy the consortium's contracts (idempotent: saved deployments are reused)."""
    st = state(ctx)
    members = []
    for entry in committee:
        if "=" not in entry:
            raise InvalidInput(f"--committee takes ADDRESS_OR_KEYSTORE=ORG; got {entry!r}.")
        who, org = entry.split("=", 1)
        members.append((resolve_address(st.settings.keystore_dir, who), subject_id(org)))
    addresses = deploy_mod.deploy_all(st.client, st.account(account), members, threshold, proposal_ttl, force)
    if st.json:
        emit_json({"network": st.settings.network.name, "contracts": addresses})
    else:
        table(f"Contracts on {st.settings.network.name}", ["contract", "address"], [[k, v] for k, v in addresses.items()])


def _member_rows(members: list[Member]) -> list[list[str]]:
    return [[m.address, to_hex(m.org_id)[:18] + "…", "active" if m.active else "suspended", ",".join(m.roles)]
            for m in members]


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List all members with their roles and status."""
    st = state(ctx)
    members = Governance(st.client).members()
    if st.json:
        emit_json([m.to_json() for m in members])
    else:
        table("Consortium members", ["address", "org id", "status", "roles"], _member_rows(members))


@app.command()
def show(ctx: typer.Context, who: str = typer.Argument(..., help="Address, keystore name, or organisation subject.")) -> None:
    """Show one member."""
    st = state(ctx)
    gov = Governance(st.client)
    if who.startswith("0x") and len(who) == 42 or ":" not in who and not who.startswith("0x"):
        found = gov.member(resolve_address(st.settings.keystore_dir, who))
    else:
        found = gov.member_by_org(subject_id(who))
    if found is None:
        raise InvalidInput(f"{who} is not a consortium member.")
    if st.json:
        emit_json(found.to_json())
    else:
        table("Member", ["address", "org id", "status", "roles"], _member_rows([found]))


@app.command()
def propose(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="admit, set-roles, suspend, reinstate, set-threshold or set-parameter."),
    member: Optional[str] = typer.Option(None, "--member", help="The member's address or keystore name."),
    org: Optional[str] = typer.Option(None, "--org", help="Organisation (namespace:registration or 0x id), for admit."),
    role: list[str] = typer.Option([], "--role", help="A role (SHIPPER, PLATFORM, CARRIER, LENDER, ORACLE, MAINTAINER, "
                                                      "COMMITTEE); repeat for several."),
    parameter: Optional[str] = typer.Option(None, "--parameter", help="Parameter name, for set-parameter."),
    value: int = typer.Option(0, "--value", help="New threshold or parameter value."),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Open a committee proposal; the proposer's approval counts at once."""
    st = state(ctx)
    parsed = ProposalKind.parse(kind)
    target = resolve_address(st.settings.keystore_dir, member) if member else None
    if parsed == ProposalKind.SET_PARAMETER and not parameter:
        raise InvalidInput("set-parameter needs --parameter NAME.")
    gov = Governance(st.client)
    proposal_id = gov.propose(
        st.account(account), parsed, target, subject_id(org) if org else ZERO32, tuple(role),
        parameter_key(parameter) if parameter else ZERO32, value,
    )
    info = gov.proposal(proposal_id)
    if st.json:
        emit_json(info)
    else:
        done = "executed" if info["executed"] else f"needs {gov.threshold()} approvals"
        console.print(f"proposal {proposal_id} ({info['kind']}) opened; {done}")


@app.command()
def approve(
    ctx: typer.Context,
    proposal_id: int = typer.Argument(..., help="Proposal id."),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
) -> None:
    """Approve a proposal; it executes when the threshold is reached."""
    st = state(ctx)
    gov = Governance(st.client)
    executed = gov.approve(st.account(account), proposal_id)
    info = gov.proposal(proposal_id)
    if st.json:
        emit_json(info)
    else:
        console.print(f"proposal {proposal_id} approved" + ("; executed" if executed else ""))


@app.command()
def proposals(ctx: typer.Context) -> None:
    """List committee proposals."""
    st = state(ctx)
    items = Governance(st.client).proposals()
    if st.json:
        emit_json(items)
    else:
        table("Proposals", ["id", "kind", "member", "approvals", "executed", "deadline"],
              [[p["id"], p["kind"], p["account"], len(p["approvers"]), p["executed"], p["deadline"]] for p in items])
