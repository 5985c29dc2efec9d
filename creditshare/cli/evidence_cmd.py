"""`creditshare evidence get|put|status|verify|put-card`: documents in the evidence store (folder or IPFS),
checked by CID."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from creditshare.bindings.settlement_ledger import SettlementLedger
from creditshare.cli.context import emit, state, table
from creditshare.core import ipfs
from creditshare.core.errors import InvalidInput
from creditshare.core.files import read_bytes
from creditshare.core.ids import cid_from_digest, parse_bytes32, to_hex
from creditshare.domain import cards, evidence

app = typer.Typer(
    help="Documents in the evidence store (CREDITSHARE_EVIDENCE=folder|ipfs), every read checked against its CID.",
    no_args_is_help=True,
)


@app.command()
def put(ctx: typer.Context, file: Path = typer.Argument(..., help="The document to store.")) -> None:
    """Store a document; prints its CID (CIDv1, raw, sha2-256: the digest the chain records)."""
    st = state(ctx)
    cid = evidence.store(st.settings.evidence_dir, read_bytes(file, what="document"))
    emit(st, {"cid": cid, "backend": evidence.backend()}, cid)


@app.command()
def get(
    ctx: typer.Context,
    cid: str = typer.Argument(..., help="The document's CID."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the document here (default: stdout)."),
) -> None:
    """Fetch a document (over bitswap from another member's node if needed) and check it against its CID."""
    st = state(ctx)
    data = evidence.load(st.settings.evidence_dir, cid)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as err:
        raise InvalidInput(f"cannot write {out}: {err.strerror or err}") from err
    emit(st, {"cid": cid, "bytes": len(data), "out": str(out)}, f"{cid}: {len(data)} bytes verified -> {out}")


@app.command()
def status(
    ctx: typer.Context,
    all_docs: bool = typer.Option(False, "--all", help="List every document, not only those below target."),
) -> None:
    """Documents pinned by fewer member nodes than the replication target (IPFS backend)."""
    st = state(ctx)
    if evidence.backend() != "ipfs":
        raise InvalidInput(
            "evidence status reports the IPFS backend's replication; the folder backend keeps one copy "
            "(set CREDITSHARE_EVIDENCE=ipfs)."
        )
    store = evidence.IpfsStore.from_env(st.settings.data_dir)
    nodes = [n.api for n in ipfs.load_network(st.settings.data_dir)]
    docs, down = store.status(nodes)
    below = [d for d in docs if d.below_target]
    shown = docs if all_docs else below
    emit(
        st,
        {
            "target": store.target,
            "documents": len(docs),
            "below_target": [d.cid for d in below],
            "nodes_down": down,
            "listed": [
                {"cid": d.cid, "served_as": d.served_as, "holders": d.holders, "below_target": d.below_target}
                for d in shown
            ],
        },
        lambda: table(
            f"evidence: {len(docs)} documents, {len(below)} below {store.target} holders"
            + (f"; nodes down: {', '.join(down)}" if down else ""),
            ["cid", "holders", "nodes"],
            [[d.cid, len(d.holders), " ".join(d.holders)] for d in shown],
        ),
    )


class EvidenceNotVerified(InvalidInput):
    """Some settlement's document is missing from every reachable store, or a copy does not match its digest."""


@app.command()
def verify(
    ctx: typer.Context,
    settlements: list[str] = typer.Argument(..., help="Settlement ids (0x...)."),
) -> None:
    """Fetch each settlement's evidence by the digest on chain and check it: ok, missing or tampered.

    With IPFS the document comes from any member's node that holds it (over bitswap), so one pin holder down
    is no problem. Exit code 1, with one error line, when any document is missing or tampered."""
    st = state(ctx)
    wanted = [parse_bytes32(s, "settlement id") for s in settlements]
    found = SettlementLedger(st.client).records(wanted)
    unknown = [to_hex(w) for w in wanted if w not in found]
    if unknown:
        raise InvalidInput(f"not on the ledger: {', '.join(unknown)}")
    cids = {w: cid_from_digest(found[w].evidence) for w in wanted}
    verdicts = evidence.verify_many(st.settings.evidence_dir, list(cids.values()))
    items = [
        {
            "settlement": to_hex(w),
            "cid": cids[w],
            "status": verdicts[cids[w]].status,
            "bytes": verdicts[cids[w]].size,
            "problem": verdicts[cids[w]].problem,
        }
        for w in dict.fromkeys(wanted)
    ]
    counts = {k: sum(i["status"] == k for i in items) for k in ("ok", "missing", "tampered")}
    emit(
        st,
        {"backend": evidence.backend(), "settlements": items, **counts},
        lambda: table(
            f"evidence of {len(items)} settlement(s) ({evidence.backend()}): {counts['ok']} ok, "
            f"{counts['missing']} missing, {counts['tampered']} tampered",
            ["settlement", "cid", "status", "bytes"],
            [[i["settlement"], i["cid"], i["status"], "-" if i["bytes"] is None else i["bytes"]] for i in items],
        ),
    )
    bad = [i for i in items if i["status"] != "ok"]
    if bad:
        raise EvidenceNotVerified(
            f"{len(bad)} of {len(items)} settlement document(s) did not verify: "
            + "; ".join(f"{i['settlement']} {i['status']} ({i['problem']})" for i in bad)
        )


@app.command("put-card")
def put_card(ctx: typer.Context, file: Path = typer.Argument(..., help="The model card (JSON) to publish.")) -> None:
    """Publish a model card in the evidence store under the digest `model register` records for it, so that
    `score show` and `report` recover reason codes without --card."""
    from scoring.model_card import ModelCard

    st = state(ctx)
    card = ModelCard.load(file)
    cid = cards.publish_card(st.settings.evidence_dir, card)
    emit(
        st,
        {"cid": cid, "card_digest": card.file_digest, "model_hash": card.model_hash, "backend": evidence.backend()},
        f"card of model {card.model_hash} published as {cid} ({evidence.backend()})",
    )
