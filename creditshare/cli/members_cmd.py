"""`creditshare deploy` and `creditshare members ...`: the consortium and its governance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import typer

from creditshare.bindings.consortium import (
    VALIDATOR_KINDS,
    ZERO32,
    Consortium,
    Member,
    ProposalKind,
    parameter_key,
    signer_address,
)
from creditshare.cli.context import State, console, emit, progress, state, table
from creditshare.cli.options import UINT256_MAX, Account
from creditshare.core.chain import CallsRefused, PartialWrite, spans
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import resolve_address
from creditshare.domain import deploy as deploy_mod
from creditshare.domain.admissions import read_admissions, read_validators

app = typer.Typer(help="Consortium members and committee proposals (m-of-n approval).", no_args_is_help=True)


def deploy(
    ctx: typer.Context,
    committee: list[str] = typer.Option(
        ...,
        "--committee",
        help="Founding committee member as ADDRESS_OR_KEYSTORE=ORG (org: namespace:registration "
        "or 0x subject id); repeat for each member.",
    ),
    threshold: int = typer.Option(..., "--threshold", help="Committee approvals a proposal needs."),
    proposal_ttl: int = typer.Option(deploy_mod.DEFAULT_PROPOSAL_TTL, help="Seconds a proposal stays open."),
    account: Account = None,
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
    emit(
        st,
        {"network": st.settings.network.name, "contracts": addresses},
        lambda: table(
            f"Contracts on {st.settings.network.name}", ["contract", "address"], [[k, v] for k, v in addresses.items()]
        ),
    )


def _member_rows(members: list[Member]) -> list[list[str]]:
    return [
        [m.address, to_hex(m.org_id)[:18] + "…", "active" if m.active else "suspended", ",".join(m.roles)]
        for m in members
    ]


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List all members with their roles and status."""
    st = state(ctx)
    members = Consortium(st.client).members()
    emit(
        st,
        [m.to_json() for m in members],
        lambda: table("Consortium members", ["address", "org id", "status", "roles"], _member_rows(members)),
    )


@app.command()
def show(
    ctx: typer.Context, who: str = typer.Argument(..., help="Address, keystore name, or organisation subject.")
) -> None:
    """Show one member."""
    st = state(ctx)
    gov = Consortium(st.client)
    if who.startswith("0x") and len(who) == 42 or ":" not in who and not who.startswith("0x"):
        found = gov.member(resolve_address(st.settings.keystore_dir, who))
    else:
        found = gov.member_by_org(subject_id(who))
    if found is None:
        raise InvalidInput(f"{who} is not a consortium member.")
    emit(st, found.to_json(), lambda: table("Member", ["address", "org id", "status", "roles"], _member_rows([found])))


def _require_committee(gov: Consortium, address: str) -> None:
    """A file of proposals skips those already open: refuse a non-committee account first, so that it is told
    so instead of "open already" (the contract would refuse its new proposals anyway)."""
    if not gov.is_active_with_role(address, "COMMITTEE"):
        raise InvalidInput(f"account {address} is not an active COMMITTEE member: only the committee proposes.")


@app.command()
def propose(
    ctx: typer.Context,
    kind: str = typer.Argument(
        ...,
        help="admit, set-roles, suspend, reinstate, set-threshold, set-parameter, admit-validator, "
        "suspend-validator or reinstate-validator.",
    ),
    member: str | None = typer.Option(None, "--member", help="The member's address or keystore name."),
    org: str | None = typer.Option(None, "--org", help="Organisation (namespace:registration or 0x id), for admit."),
    role: list[str] = typer.Option(
        [],
        "--role",
        help="A role (SHIPPER, PLATFORM, CARRIER, LENDER, ORACLE, MAINTAINER, COMMITTEE); repeat for several.",
    ),
    parameter: str | None = typer.Option(None, "--parameter", help="Parameter name, for set-parameter."),
    value: int = typer.Option(0, "--value", min=0, max=UINT256_MAX, help="New threshold or parameter value."),
    signer: str | None = typer.Option(
        None, "--signer", help="admit-validator: the 0x address the member's node seals blocks with (Clique signer)."
    ),
    file: Path | None = typer.Option(
        None,
        "--file",
        help="admit: a CSV with columns member,org,roles (roles separated by ';'); admit-validator: columns "
        "member,signer and optionally org,roles (for a new organisation): one proposal per row, sent pipelined.",
    ),
    account: Account = None,
) -> None:
    """Open a committee proposal; the proposer's approval counts at once."""
    st = state(ctx)
    parsed = ProposalKind.parse(kind)
    gov = Consortium(st.client)
    if signer is not None and parsed != ProposalKind.ADMIT_VALIDATOR:
        raise InvalidInput("--signer goes with admit-validator only.")
    if file is not None and parsed == ProposalKind.ADMIT_VALIDATOR:
        if member or org or role or signer:
            raise InvalidInput(
                "--file admits the validators listed in it: use it with no --member/--signer/--org/--role."
            )
        validator_rows = read_validators(st.settings.keystore_dir, file)
        proposer = st.account(account)
        _require_committee(gov, proposer.address)
        with progress(st.json) as bar, _told(f"{file}: ", "line", lambda i: i + 2, "proposed"):
            task = bar.add_task("admit-validator proposals", total=len(validator_rows))
            results = gov.propose_validators(proposer, validator_rows, on_mined=lambda _i, _r: bar.advance(task))
        _emit_statuses(st, results)
        return
    if file is not None:
        if parsed != ProposalKind.ADMIT or member or org or role:
            raise InvalidInput(
                "--file admits the members listed in it: use it with `admit` and no --member/--org/--role."
            )
        rows = read_admissions(st.settings.keystore_dir, file)
        proposer = st.account(account)
        _require_committee(gov, proposer.address)
        with progress(st.json) as bar, _told(f"{file}: ", "line", lambda i: i + 2, "proposed"):
            task = bar.add_task("admit proposals", total=len(rows))
            results = gov.propose_admissions(proposer, rows, on_mined=lambda _i, _r: bar.advance(task))
        _emit_statuses(st, results)
        return
    target = resolve_address(st.settings.keystore_dir, member) if member else None
    if parsed in VALIDATOR_KINDS:
        if target is None:
            raise InvalidInput(f"{kind} needs --member (the validator organisation's member address or keystore).")
        if parsed == ProposalKind.ADMIT_VALIDATOR:
            if signer is None:
                raise InvalidInput("admit-validator needs --signer (the 0x address its node seals blocks with).")
            signer = signer_address(signer)
            if bool(org) != bool(role):
                raise InvalidInput("admit-validator takes --org and --role together (a new organisation) or neither.")
            value = int(signer, 16)
        elif org or role:
            raise InvalidInput(f"{kind} takes --member only.")
        gov.check_validator_proposal(parsed, target, signer, subject_id(org) if org else ZERO32)
    if parsed == ProposalKind.SET_PARAMETER:
        if not parameter:
            raise InvalidInput("set-parameter needs --parameter NAME.")
        gov.check_parameter(parameter, value)  # the contract's bounds, refused before sending
    proposal_id = gov.propose(
        st.account(account),
        parsed,
        target,
        subject_id(org) if org else ZERO32,
        tuple(role),
        parameter_key(parameter) if parameter else ZERO32,
        value,
    )
    info = gov.proposal(proposal_id)

    def text() -> None:  # the threshold is read only for the text
        done = "executed" if info["executed"] else f"needs {gov.threshold()} approvals"
        console.print(f"proposal {proposal_id} ({info['kind']}) opened; {done}")

    emit(st, info, text)


@app.command()
def validators(ctx: typer.Context) -> None:
    """List the validators: each member running a node, its Clique signer, and whether it may seal."""
    st = state(ctx)
    rows = Consortium(st.client).validator_signers()
    emit(
        st,
        [v.to_json() for v in rows],
        lambda: table(
            "Validators",
            ["member", "signer", "status"],
            [[v.member, v.signer, "active" if v.active else "suspended"] for v in rows],
        ),
    )


@app.command()
def approve(
    ctx: typer.Context,
    proposal_ids: list[int] = typer.Argument(
        ..., min=0, max=UINT256_MAX, help="Proposal id(s); several are approved pipelined."
    ),
    account: Account = None,
) -> None:
    """Approve proposals; each executes when the threshold is reached."""
    st = state(ctx)
    gov = Consortium(st.client)
    if len(proposal_ids) == 1:
        executed = gov.approve(st.account(account), proposal_ids[0])
        emit(
            st,
            gov.proposal(proposal_ids[0]),
            f"proposal {proposal_ids[0]} approved" + ("; executed" if executed else ""),
        )
        return
    signer = st.account(account)
    with progress(st.json) as bar, _told("", "proposal", lambda pid: pid, "approved"):
        task = bar.add_task("approvals", total=len(proposal_ids))
        results = gov.approve_many(signer, proposal_ids, on_mined=lambda _i, _r: bar.advance(task))
    _emit_statuses(st, results)


class _told:  # noqa: N801 - a context manager, like contextlib's
    """Names the rows of a batched command's CallsRefused and PartialWrite: `where(item)` is the line of a
    file row (or the proposal id) that the binding's item index stands for."""

    def __init__(self, prefix: str, noun: str, where: Callable[[int], int], done: str) -> None:
        self.prefix, self.noun, self.where, self.done = prefix, noun, where, done

    def __enter__(self) -> None:
        return None

    def _name(self, numbers: list[int]) -> str:
        return f"{self.noun}{'' if len(set(numbers)) == 1 else 's'} {spans(numbers)}"

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        if isinstance(err, CallsRefused):
            bad = [
                f"{self.noun} {self.where(f.item)}: {f.reason}" if f.item is not None else f.reason
                for f in err.failures
            ]
            raise InvalidInput(
                f"{self.prefix}{len(bad)} {'row' if self.noun == 'line' else self.noun}(s) would be refused by "
                "the contract; nothing was sent:\n  " + "\n  ".join(bad[:20])
            ) from err
        if isinstance(err, PartialWrite):
            landed = [self.where(i) for i in err.landed_items]
            missed = [self.where(i) for i in err.not_landed_items]
            raise err.restated(
                f"{self.prefix}the chain changed after the check: {len(landed)} {self.done} and {len(missed)} not "
                f"({err.reason}); run the command again to complete the rest (what landed is skipped)",
                [f"{self.done}: {self._name(landed)}", f"not {self.done}: {self._name(missed)}"],
            ) from err


def _emit_statuses(st: State, results: list[dict[str, object]]) -> None:
    """A batched command's outcome: every row with --json, else a count per status."""
    counts = Counter(str(r["status"]) for r in results)
    emit(st, results, ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


@app.command()
def proposals(ctx: typer.Context) -> None:
    """List committee proposals."""
    st = state(ctx)
    items = Consortium(st.client).proposals()
    emit(
        st,
        items,
        lambda: table(
            "Proposals",
            ["id", "kind", "member", "approvals", "executed", "deadline"],
            [[p["id"], p["kind"], p["account"], len(p["approvers"]), p["executed"], p["deadline"]] for p in items],
        ),
    )
