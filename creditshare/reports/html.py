"""The lender's HTML report: index.html (plots and tables) and one page per scored subject.

Plots are inline SVG drawn with matplotlib (Agg, text kept as <text>): score
distribution by tier, ROC curve of the champion on a labelled set, PSI of the scored
population against the card's training population, and default rate by tier.
The folder is built beside the target and swapped in with a rename, so a reader
never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from creditshare.bindings.model_registry import ModelRegistry
from creditshare.core.chain import ChainClient, event_topic
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import to_hex
from creditshare.domain.index import ChainIndex
from creditshare.reports.freight import ROLES, bar_svg, model_features, trip_facts, with_reason_text
from creditshare.reports.lender import Population, population
from oracle.provenance import DEFAULT_MAX_AGE_DAYS
from scoring.errors import ScoringError
from scoring.model_card import TIERS

MARKER = '<meta name="generator" content="creditshare report">'
TIER_COLOURS = {"A": "#1a9850", "B": "#91cf60", "C": "#fee08b", "D": "#fc8d59", "E": "#d73027"}
PLOT_TITLES = (
    "Score distribution by tier",
    "ROC curve of the champion",
    "PSI: training vs scored population",
    "Default rate by tier",
)

# (label, contract, event, per-item label): gas of the latest transactions that emitted the event
GAS_KINDS = (
    ("settlements submit", "SettlementLedger", "SettlementSubmitted", "settlement"),
    ("settlements confirm", "SettlementLedger", "SettlementConfirmed", "settlement"),
    ("settlements pay", "SettlementLedger", "SettlementPaymentDeclared", "settlement"),
    ("settlements confirm-payment", "SettlementLedger", "SettlementPaid", "settlement"),
    ("settlements overdue", "SettlementLedger", "SettlementOverdue", "settlement"),
    ("oracle submit", "ScoreOracle", "ScoreUpdated", "score"),
    ("model register", "ModelRegistry", "ModelRegistered", "model"),
    ("list post", "CreditList", "EntryPosted", "entry"),
    ("list view", "CreditList", "EntryViewed", "view"),
)
GAS_SAMPLE = 3  # latest transactions per kind


def gas_per_operation(client: ChainClient, figures: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Gas per item of the latest transactions of each kind (scanning back from the head in growing
    windows, so a long chain is not read whole), plus `figures` ({"operation": gas}) given by the caller."""
    latest = int(client.read(lambda: client.w3.eth.block_number, "block number"))
    first = client.deployment.from_block
    out = []
    for label, name, event, unit in GAS_KINDS:
        if name not in client.deployment.addresses:
            continue
        contract = client.contract(name)
        topic = event_topic(contract, event)
        per_tx: dict[str, int] = {}
        span, end = 64, latest
        while end >= first and len(per_tx) < GAS_SAMPLE:
            start = max(first, end - span + 1)
            logs = client.logs(contract.address, [topic], start, end)
            for log in reversed(logs):
                tx = log["transactionHash"]
                if tx in per_tx or len(per_tx) < GAS_SAMPLE:
                    per_tx[tx] = per_tx.get(tx, 0) + 1
            end, span = start - 1, span * 4
        if not per_tx:
            continue
        gas = []
        for tx, n in per_tx.items():
            # raw: web3's receipt formatting costs ~0.3 s for a receipt with 400 logs
            receipt = client.rpc("eth_getTransactionReceipt", [tx], "receipt")
            gas.append(int(receipt["result"]["gasUsed"], 16) / n)
        out.append(
            {
                "operation": label,
                "unit": f"gas per {unit}",
                "gas": round(sum(gas) / len(gas)),
                "transactions": len(gas),
                "source": "receipts",
            }
        )
    for label, value in (figures or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"gas figure {label!r} must be a number; got {value!r}.")
        out.append(
            {"operation": str(label), "unit": "gas", "gas": round(value), "transactions": None, "source": "given"}
        )
    return out


# -- plots --------------------------------------------------------------------------------------------------


def _svg(fig: Any, title: str) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    svg = text[text.index("<svg") :].strip()
    slug = title.lower().split(":")[0].replace(" ", "-")
    return f'<figure id="{slug}">{svg}<figcaption>{html.escape(title)}</figcaption></figure>'


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # titles stay searchable text
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 3.6))


def plot_scores(items: Sequence[dict[str, Any]]) -> str:
    fig, ax = _figure()
    scores = [i["score"] for i in items]
    bins = 20 if scores else 1
    lo, hi = (min(scores), max(scores) + 1) if scores else (0, 1)
    data = [[i["score"] for i in items if i["tier"] == t] for t in TIERS]
    ax.hist(data, bins=bins, range=(lo, hi), stacked=True, label=list(TIERS), color=[TIER_COLOURS[t] for t in TIERS])
    ax.set(title=PLOT_TITLES[0], xlabel="score", ylabel="subjects")
    ax.legend(title="tier")
    return _svg(fig, PLOT_TITLES[0])


def plot_roc(card: Any, labelled: tuple[Any, Any] | None, source: str) -> tuple[str, dict[str, Any]]:
    import numpy as np

    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    info: dict[str, Any] = {"source": source}
    if labelled is not None and len(set(np.asarray(labelled[1]).tolist())) == 2:
        from sklearn.metrics import roc_auc_score, roc_curve

        X, y = labelled
        risk = -card.score_frame(X)
        fpr, tpr, _ = roc_curve(y, risk)
        auc = float(roc_auc_score(y, risk))
        info.update({"auc": round(auc, 4), "n": int(len(y)), "events": int(np.sum(y))})
        ax.plot(fpr, tpr, color="#2b6cb0", label=f"{card.name} v{card.version}: AUC {auc:.3f}")
        ax.legend(loc="lower right")
    else:
        info["auc"] = None
        ax.text(0.5, 0.5, "the labelled set has one outcome only: no ROC", ha="center")
    ax.set(title=PLOT_TITLES[1], xlabel="false positive rate", ylabel="true positive rate")
    return _svg(fig, PLOT_TITLES[1]), info


def plot_psi(card: Any, features: Any) -> tuple[str, dict[str, Any]]:
    import numpy as np

    from scoring.drift import monitor, score_counts

    fig, ax = _figure()
    report = monitor(card, features)
    base = np.asarray(card.score_counts, dtype=float)
    now = score_counts(card, card.score_frame(features)).astype(float)
    x = np.arange(len(base))
    ax.bar(x - 0.2, base / base.sum(), width=0.4, label="training", color="#8da0cb")
    ax.bar(x + 0.2, now / max(now.sum(), 1), width=0.4, label="scored now", color="#fc8d62")
    edges = list(card.score_edges)
    labels = [f"<{edges[0]}"] + [f"{a}-{b}" for a, b in zip(edges, edges[1:])] + [f"≥{edges[-1]}"]
    ax.set_xticks(x, labels, rotation=60, fontsize=7)
    ax.set(title=f"{PLOT_TITLES[2]} (PSI {report.psi:.3f}, {report.status})", ylabel="share")
    ax.legend()
    return _svg(fig, PLOT_TITLES[2]), report.as_dict()


def plot_default_rate(by_tier: dict[str, dict[str, Any]]) -> str:
    fig, ax = _figure()
    rates = [(by_tier[t]["default_rate"] or 0.0) for t in TIERS]
    bars = ax.bar(list(TIERS), rates, color=[TIER_COLOURS[t] for t in TIERS])
    for bar, t in zip(bars, TIERS):
        ax.annotate(
            f"{by_tier[t]['defaulters']}/{by_tier[t]['subjects']}",
            (bar.get_x() + 0.4, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set(title=PLOT_TITLES[3], xlabel="tier", ylabel="default rate (a settlement Defaulted)")
    return _svg(fig, PLOT_TITLES[3])


# -- pages --------------------------------------------------------------------------------------------------

CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
    "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}figure{display:inline-block;"
    "margin:1em}.bad{color:#c53030;font-weight:bold}.ok{color:#2f855a;font-weight:bold}code{font-size:85%}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8">{MARKER}<title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], raw: bool = False) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{v if raw else html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _date(seconds: int | None) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat() if seconds else "-"


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def subject_page(
    item: dict[str, Any],
    history: list[dict[str, Any]],
    settlements: dict[str, Any] | None,
    entries: list[dict[str, Any]],
    freight: dict[str, Any] | None = None,
) -> str:
    s = item["subject"]
    p = item["provenance"]
    if p["verified"]:
        verdict = '<span class="ok">verified</span>'
    elif p["problems"]:
        verdict = '<span class="bad">NOT VERIFIED</span>: ' + html.escape("; ".join(p["problems"]))
    elif p["verdict"] == "retired":
        verdict = f'<span class="bad">retired</span>: its model is {html.escape(item["model_status"])}'
    else:
        verdict = (
            f'<span class="bad">stale</span>: {item["age_days"]} days old, over the limit of {p["max_age_days"]} days'
        )
    reasons = ", ".join(item["reasons"]) if item.get("reasons") is not None else "not recovered (no matching card)"
    parts = [
        f'<p><a href="../index.html">← report</a></p><h1>Subject <code>{s}</code></h1>',
        _table(
            ["score", "tier", "reason codes", "as of", "epoch", "age (days)", "model"],
            [
                [
                    item["score"],
                    item["tier"],
                    reasons,
                    _date(item["as_of"]),
                    item["epoch"],
                    item["age_days"],
                    item["model_status"],
                ]
            ],
        ),
        *reasons_block(item),
        "<h2>Score history</h2>",
        _table(
            ["epoch", "as of", "score", "tier", "block", "transaction"],
            [[h["epoch"], _date(h["as_of"]), h["score"], h["tier"], h["block"], h["tx"]] for h in history],
        ),
        "<h2>Settlements (as shipper)</h2>",
    ]
    if settlements:
        parts.append(
            _table(
                [
                    "settlements",
                    "by status",
                    "amount (yuan)",
                    "paid",
                    "outstanding",
                    "late payments",
                    "overdue",
                    "defaulted",
                ],
                [
                    [
                        settlements["count"],
                        ", ".join(f"{k} {v}" for k, v in settlements["by_status"].items()),
                        _yuan(settlements["amount_fen"]),
                        _yuan(settlements["paid_fen"]),
                        _yuan(settlements["outstanding_fen"]),
                        settlements["late_payments"],
                        settlements["overdue"],
                        settlements["defaulted"],
                    ]
                ],
            )
        )
    else:
        parts.append("<p>none</p>")
    if freight is not None:
        parts += lanes_block(freight)
    parts.append("<h2>Credit-list entries</h2>")
    parts.append(
        _table(
            ["id", "category", "amount (yuan)", "status", "period", "maintainer", "evidence"],
            [
                [
                    e["id"],
                    e["category"],
                    _yuan(e["amount_fen"]),
                    e["status"],
                    f"{e['period_from']} – {e['period_to']}",
                    e["maintainer"],
                    e["evidence_cid"],
                ]
                for e in entries
            ],
        )
        if entries
        else "<p>none</p>"
    )
    cids = settlements["evidence_cids"] if settlements else []
    parts += [
        "<h2>Provenance</h2>",
        _table(
            ["check", "value"],
            [
                ["verdict", verdict],
                [
                    "model",
                    html.escape(f"{item['model_hash']} (version {item['model_version']}, {item['model_status']})"),
                ],
                ["report", html.escape(f"#{item['report']}, tx {p['report_tx']}, digest {p['digest']}")],
                ["oracle signers", html.escape(f"{', '.join(p['signers'])} (threshold k = {p['threshold']})")],
                ["reasons hash", html.escape(str(item.get("reasons_hash")))],
                ["settlement evidence CIDs", "<br>".join(html.escape(c) for c in cids) or "-"],
            ],
            raw=True,
        ),
    ]
    return _page(f"CreditShare subject {s[:12]}", "".join(parts))


def reasons_block(item: dict[str, Any]) -> list[str]:
    """The reasons as sentences with the subject's values (creditshare.reports.freight), a list."""
    sentences = item.get("reason_text")
    if not sentences:
        return []
    rows = "".join(
        f"<li>{html.escape(t)} <code>{html.escape(r)}</code></li>" for t, r in zip(sentences, item["reasons"])
    )
    return ['<h2>Reasons</h2><ol class="reasons">', rows, "</ol>"]


def lanes_block(freight: dict[str, Any]) -> list[str]:
    """Lanes (table and bars) and green freight of a subject (creditshare.reports.freight.trip_facts)."""
    parts = ["<h2>Lanes</h2>"]
    lanes = freight.get("lanes") or []
    if lanes:
        parts.append(bar_svg(lanes))
        parts.append(
            _table(
                ["origin", "destination", "trips", "verified share", "amount (yuan)", "new-energy trips"],
                [
                    [
                        lane["origin"],
                        lane["destination"],
                        lane["trips"],
                        f"{lane['verified_bps'] / 100:g} %",
                        _yuan(lane["amount_fen"]),
                        lane["new_energy"],
                    ]
                    for lane in lanes
                ],
            )
        )
    else:
        parts.append("<p>no recorded trip log among this subject's settlements</p>")
    note = freight.get("lanes_note") or {}
    if note:
        parts.append(
            f"<p>{note['settlements_without_log']} settlement(s) without a trip log, {note['logs_unreadable']} "
            f"log(s) not readable here; {html.escape(note['source'])}.</p>"
        )
    g = freight.get("green")
    if g is not None:
        if g["new_energy_bps"] is None:
            text = "no logged trip"
        else:
            mix = ", ".join(f"{k} {v}" for k, v in g["by_energy"].items())
            text = f"{g['new_energy_bps'] / 100:g} % of {g['logged_trips']} logged trips on new-energy trucks ({mix})"
        parts.append(f'<h2>Green freight</h2><p class="green">{html.escape(text)}</p>')
    return parts


def _green_cell(freight: dict[str, Any] | None) -> str:
    g = (freight or {}).get("green")
    if not g or g["new_energy_bps"] is None:
        return "no logged trip"
    return html.escape(f"{g['new_energy_bps'] / 100:g} % of {g['logged_trips']}")


def model_page(card: Any) -> str:
    """Every feature of the card: its description, bins and points (creditshare.reports.freight.model_features)."""
    parts = [
        '<p><a href="index.html">← report</a></p>',
        f"<h1>Model {html.escape(card.name)} v{card.version}</h1><p>model hash <code>{card.model_hash}</code>; "
        f"intercept {card.intercept_points} points; a score is the intercept plus one bin's points per feature. "
        "A bin [a, b) holds a <= value < b; ratios are in basis points (100 = 1 %), amounts in fen, times in days.</p>",
        _table(["tier", "minimum score"], [[t, m] for t, m in card.tiers]),
    ]
    for f in model_features(card):
        parts.append(f'<h2 id="{html.escape(f["name"])}"><code>{html.escape(f["name"])}</code></h2>')
        parts.append(f"<p>{html.escape(f['description'])}</p>")
        rows = [[b["bin"], b["points"]] for b in f["bins"]]
        rows += [["special", f["special_points"]], ["missing", f["missing_points"]]]
        parts.append(_table(["bin", "points"], rows))
    return _page(f"CreditShare model {card.name} v{card.version}", "".join(parts))


def page_name(subject: str) -> str:
    return f"subjects/{subject[2:]}.html"


def render(
    pop: Population,
    card: Any,
    plots: dict[str, str],
    facts: dict[str, Any],
    freight: dict[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """The report's files (relative path -> text)."""
    scored = pop.scored()
    by_tier = pop.by_tier()
    files: dict[str, str] = {"model.html": model_page(card)}
    for item in scored:
        files[page_name(item["subject"])] = subject_page(
            item,
            pop.history.get(item["subject"], []),
            pop.settlements.get(item["subject"]),
            pop.list_entries.get(item["subject"], []),
            (freight or {}).get(item["subject"]),
        )
    verified = sum(i["provenance"]["verified"] for i in scored)
    tiers_table = _table(
        ["tier", "subjects", "with a default", "default rate"],
        [
            [t, r["subjects"], r["defaulters"], "-" if r["default_rate"] is None else f"{r['default_rate']:.1%}"]
            for t, r in by_tier.items()
        ],
    )
    gas_table = _table(
        ["operation", "gas", "unit", "transactions sampled", "source"],
        [[g["operation"], f"{g['gas']:,}", g["unit"], g["transactions"] or "-", g["source"]] for g in facts["gas"]],
    )
    rows = [
        [
            f'<a href="{page_name(i["subject"])}"><code>{i["subject"][:18]}…</code></a>',
            i["score"],
            i["tier"],
            html.escape("; ".join(i.get("reason_text") or i["reasons"]) if i.get("reasons") is not None else "?"),
            _date(i["as_of"]),
            _green_cell((freight or {}).get(i["subject"])),
            '<span class="ok">yes</span>'
            if i["provenance"]["verified"]
            else f'<span class="bad">NO ({html.escape(i["provenance"]["verdict"])})</span>',
        ]
        for i in sorted(scored, key=lambda i: (i["tier"], -i["score"]))
    ]
    roc = facts["roc"]
    body = [
        f"<h1>CreditShare lender report</h1><p>chain {facts['chain_id']}, block {facts['block']}, "
        f"generated {facts['generated']}. Champion model <code>{card.model_hash}</code> ({html.escape(card.name)} "
        f'v{card.version}, <a href="model.html">its features, bins and points</a>). '
        f"{len(scored)} scored subjects, {verified} verified locally; "
        f"{len(pop.frame)} settlements; {len(pop.reports)} score reports.</p>",
        "<h2>Plots</h2>",
        *plots.values(),
        f"<p>ROC: {html.escape(roc['source'])}; AUC {roc.get('auc')}. PSI: the champion's training score "
        f"buckets vs the population scored as of {_date(facts['as_of'])}.</p>",
        "<h2>Subjects by tier and default rate</h2>",
        tiers_table,
        "<h2>Gas per operation</h2>",
        gas_table,
        "<h2>Subjects</h2>",
        _table(["subject", "score", "tier", "reasons", "as of", "new-energy trips", "verified"], rows, raw=True),
    ]
    files["index.html"] = _page("CreditShare lender report", "".join(body))
    files["report.json"] = (
        json.dumps({**facts, "by_tier": by_tier, "subjects": len(scored), "verified": verified}, indent=1, default=str)
        + "\n"
    )
    return files


def write_atomically(out_dir: Path, files: dict[str, str]) -> Path:
    """Builds the folder beside `out_dir` and renames it into place; an existing report is replaced,
    any other non-empty folder is refused."""
    out_dir = out_dir.expanduser().absolute()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InvalidInput(f"{out_dir} exists and is not a folder.")
        index = out_dir / "index.html"
        if any(out_dir.iterdir()) and not (index.exists() and MARKER in index.read_text(errors="replace")):
            raise InvalidInput(f"{out_dir} is not empty and holds no CreditShare report: not overwriting it.")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        os.chmod(tmp, 0o755)
        old = None
        if out_dir.exists():
            old = out_dir.parent / f"{tmp.name}.old"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        raise InvalidInput(f"cannot write the report to {out_dir}: {err.strerror or err}") from err
    return out_dir / "index.html"


def subjects_freight(client: ChainClient, subjects: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Lanes and green freight of each subject (0x hex), its settlements in every role."""
    with ChainIndex(client) as index:
        records = {s: index.records_of(bytes.fromhex(s[2:]), ROLES) for s in subjects}
    return {s: trip_facts(client, rs) for s, rs in records.items()}


def build(
    client: ChainClient,
    out_dir: Path,
    card: Any,
    labelled: tuple[Any, Any] | None = None,
    source: str | None = None,
    gas_figures: dict[str, Any] | None = None,
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
) -> tuple[Path, dict[str, Any]]:
    """Reads the chain (batched), draws the plots and writes the report; returns index.html and the facts.
    Scores older than `max_age_days` (None or 0: no limit) are marked stale, those of a retired model retired.

    `card` must be the registered champion's card. `labelled` is the (X, y) set of the ROC curve; by
    default it is the ledger itself, labelled as of the champion's first published score date (the
    outcomes observed after the scores were published: an out-of-time check).
    """
    from scoring.factory import training_set
    from scoring.features import build_features

    champion = ModelRegistry(client).champion()
    if champion is None:
        raise InvalidInput(
            "no champion model is promoted: there is nothing to report on (promote one with "
            "`creditshare model promote`)."
        )
    if to_hex(champion) != card.model_hash:
        raise InvalidInput(f"the card {card.model_hash} is not the registered champion {to_hex(champion)}.")
    pop = population(client, card, max_age_days)
    scored = pop.scored()
    if not scored:
        raise InvalidInput("no subject has a score on chain yet: run the oracles first (`creditshare oracle ...`).")
    mine = [i for i in scored if i["model_hash"] == card.model_hash] or scored
    as_of = max(i["as_of"] for i in mine)
    if labelled is None:
        first = (
            min(r.as_of for r in pop.reports.values() if to_hex(r.model_hash) == card.model_hash)
            if any(to_hex(r.model_hash) == card.model_hash for r in pop.reports.values())
            else as_of
        )
        source = f"the ledger's shippers as of {_date(first)}, labelled by defaults in the following 90 days"
        try:
            labelled = training_set(pop.frame, first, population=card.training_population)
        except (ScoringError, InvalidInput):
            labelled = None
    features = build_features(pop.frame, as_of, subjects=[i["subject"] for i in mine], roles=("shipper",))
    by_tier = pop.by_tier()
    roc_svg, roc = plot_roc(card, labelled, source or "given labelled set")
    psi_svg, psi = plot_psi(card, features)
    plots = {"scores": plot_scores(scored), "roc": roc_svg, "psi": psi_svg, "default": plot_default_rate(by_tier)}
    block = int(client.read(lambda: client.w3.eth.block_number, "block number"))
    facts = {
        "chain_id": client.settings.network.chain_id,
        "block": block,
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_hash": card.model_hash,
        "as_of": as_of,
        "roc": roc,
        "psi": {"psi": psi["psi"], "status": psi["status"], "n": psi["n"]},
        "gas": gas_per_operation(client, gas_figures),
    }
    with_reason_text(client, scored, {card.model_hash: card})
    freight = subjects_freight(client, [i["subject"] for i in scored])
    index = write_atomically(out_dir, render(pop, card, plots, facts, freight))
    return index, {**facts, "by_tier": by_tier, "subjects": len(scored), "index": str(index)}
