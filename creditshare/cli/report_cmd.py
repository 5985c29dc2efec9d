"""`creditshare report SUBJECT` (terminal) and `creditshare report --html DIR` (the lender's HTML report)."""

from __future__ import annotations

import datetime as dt
import json
import math
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer

from creditshare.cli.context import console, emit, state, table
from creditshare.cli.options import MAX_SYNTHETIC, Market, Seed
from creditshare.cli.score_cmd import MAX_AGE_OPT, load_card, published_card, verdict
from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.ids import subject_id

SUBJECT_ARG = typer.Argument(None, help="Subject: namespace:registration or 0x id (omit with --html).")
HTML_OPT = typer.Option(
    None, "--html", help="Write the HTML report (index.html + one page per scored subject) into this folder instead."
)
CARD_OPT = typer.Option(
    None,
    "--card",
    help="The champion's public model card: reason codes, ROC, PSI. Default: the card the model registry names "
    "(for a subject, its score's model; with --html, the champion), fetched from the evidence store by its digest.",
)
GAS_OPT = typer.Option(
    None,
    "--gas",
    help='A JSON file {"operation": gas, ...} of extra gas figures for the gas table (e.g. benchmark results).',
)


def _date(seconds: int | None) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat() if seconds else "-"


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def report(
    ctx: typer.Context,
    subject: str | None = SUBJECT_ARG,
    html: Path | None = HTML_OPT,
    card: Path | None = CARD_OPT,
    settlements: Path | None = typer.Option(
        None,
        "--settlements",
        help="With --html: the labelled set of the ROC curve, a settlement CSV (or `chain`), with --as-of.",
    ),
    synthetic: int | None = typer.Option(
        None,
        "--synthetic",
        min=100,
        max=MAX_SYNTHETIC,
        help="With --html: the ROC curve on the "
        "holdout of the seeded synthetic market the card was trained on "
        "(same split as `model train`).",
    ),
    seed: Seed = 1,
    market: Market = "standard",
    as_of: str | None = typer.Option(None, "--as-of", help="Date of the --settlements population, YYYY-MM-DD."),
    gas: Path | None = GAS_OPT,
    max_age_days: int = MAX_AGE_OPT,
) -> None:
    """What the chain holds about a subject, verified locally; or, with --html DIR, the lender's HTML report.

    Without --settlements/--synthetic the ROC curve is drawn on the ledger itself: shippers as of the champion's
    first published score date, labelled by defaults in the following 90 days."""
    if (subject is None) == (html is None):
        raise InvalidInput("give either a SUBJECT or --html DIR.")
    from oracle.provenance import check_max_age

    check_max_age(max_age_days)
    if html is None:
        _subject(ctx, subject_id(subject or ""), card, max_age_days)
        return
    _html(ctx, html, card, settlements, synthetic, seed, market, as_of, gas, max_age_days)


def _subject(ctx: typer.Context, subject: bytes, card: Path | None, max_age_days: int) -> None:
    from creditshare.reports.lender import subject_report

    st = state(ctx)
    loaded, problem = load_card(card), None
    if card is None:  # the card of the subject's score's model, by the registry's digest
        from creditshare.bindings.score_oracle import ScoreOracle

        (score,) = ScoreOracle(st.client).scores_of([subject])
        if score.scored:
            loaded, problem = published_card(st, score.model_hash)
    r = subject_report(st.client, subject, loaded, max_age_days)
    if r["score"]["scored"] and card is None:
        recovered = r["score"].get("reasons") is not None  # by the entry model's card (a champion-set report)
        r["score"]["card_source"] = "evidence store" if loaded is not None or recovered else None
        if problem is not None and not recovered:
            r["score"]["card_problem"] = problem
    emit(st, r, lambda: _print_subject(r))


def _print_subject(r: dict[str, Any]) -> None:
    s = r["score"]
    console.print(f"[bold]Subject {r['subject']}[/bold]", soft_wrap=True)
    if s["scored"]:
        if s["reasons"] is not None:
            reasons = ", ".join(s["reasons"]) or "none"
        else:
            reasons = "? (see provenance)" if s.get("card_problem") else "? (give --card to recover them)"
        table(
            "Score",
            ["score", "tier", "reason codes", "model v", "model", "as of", "age (days)", "epoch"],
            [
                [
                    s["score"],
                    s["tier"],
                    reasons,
                    s["model_version"],
                    s["model_status"],
                    _date(s["as_of"]),
                    s["age_days"],
                    s["epoch"],
                ]
            ],
        )
        for sentence in r.get("reason_text") or []:
            console.print(f"  reason: {sentence}", soft_wrap=True)
    else:
        console.print("no score on chain")
    if r["history"]:
        table(
            "Score history",
            ["epoch", "as of", "score", "tier", "block"],
            [[h["epoch"], _date(h["as_of"]), h["score"], h["tier"], h["block"]] for h in r["history"]],
        )
    st_ = r["settlements"]
    table(
        "Settlements",
        ["", "value"],
        [
            ["settlements", st_["count"]],
            *[[f"  {k}", v] for k, v in st_["by_status"].items()],
            ["amount (yuan)", _yuan(st_["amount_fen"])],
            ["paid (yuan)", _yuan(st_["paid_fen"])],
            ["outstanding (yuan)", _yuan(st_["outstanding_fen"])],
            ["overdue or defaulted (yuan)", _yuan(st_["overdue_or_defaulted_fen"])],
            ["late payments", st_["late_payments"]],
        ],
    )
    _print_freight(r)
    if r["list_entries"]:
        table(
            "Credit-list entries",
            ["id", "category", "amount (yuan)", "status", "period", "maintainer"],
            [
                [
                    e["id"],
                    e["category"],
                    _yuan(e["amount_fen"]),
                    e["status"],
                    f"{e['period_from']}–{e['period_to']}",
                    e["maintainer"][:10] + "…",
                ]
                for e in r["list_entries"]
            ],
        )
    else:
        console.print("credit list: no entries")
    p = r["provenance"]
    if s["scored"]:
        console.print(f"provenance: {verdict(s)}", soft_wrap=True)
        console.print(
            f"  model {p['model_hash']} v{p['model_version']} ({p['model_status']})",
            soft_wrap=True,
        )
        console.print(f"  report #{p['report']} tx {p['report_tx']}", soft_wrap=True)
        console.print(f"  oracle signers: {', '.join(p['oracle_signers'])}", soft_wrap=True)
    cids = p["evidence_cids"]
    console.print(
        f"  settlement evidence ({len(cids)} CIDs): {', '.join(cids[:5])}{' …' if len(cids) > 5 else ''}",
        soft_wrap=True,
    )


def _print_freight(r: dict[str, Any]) -> None:
    """Lanes and green freight of a subject report (creditshare.reports.freight)."""
    if r.get("lanes"):
        table(
            "Lanes (from recorded trip logs)",
            ["origin", "destination", "trips", "verified", "amount (yuan)", "new-energy trips"],
            [
                [
                    lane["origin"],
                    lane["destination"],
                    lane["trips"],
                    f"{lane['verified_bps'] / 100:g} %",
                    _yuan(lane["amount_fen"]),
                    lane["new_energy"],
                ]
                for lane in r["lanes"]
            ],
        )
    else:
        console.print("lanes: no recorded trip log among this subject's settlements")
    g = r.get("green")
    if g is not None:
        if g["new_energy_bps"] is None:
            console.print("green freight: no logged trip")
        else:
            mix = ", ".join(f"{k} {v}" for k, v in g["by_energy"].items())
            console.print(
                f"green freight: {g['new_energy_bps'] / 100:g} % of {g['logged_trips']} logged trips on new-energy "
                f"trucks ({mix})",
                soft_wrap=True,
            )


def _html(
    ctx: typer.Context,
    out: Path,
    card_path: Path | None,
    settlements: Path | None,
    synthetic: int | None,
    seed: int,
    market: str,
    as_of: str | None,
    gas: Path | None,
    max_age_days: int,
) -> None:
    from creditshare.reports.html import build

    st = state(ctx)
    if card_path is None:  # the champion's card, by the registry's digest
        from creditshare.bindings.model_registry import ModelRegistry
        from creditshare.domain.cards import champion_card

        try:
            card = champion_card(ModelRegistry(st.client), st.settings.evidence_dir)
        except CreditShareError as err:
            raise InvalidInput(
                f"--html needs --card, the champion's public model card, or that card in the evidence store: {err}"
            ) from err
    else:
        card = load_card(card_path)
    figures: Any = None
    if gas is not None:
        try:
            figures = json.loads(gas.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:  # not UTF-8 or JSON: ValueError; nested too deep
            raise InvalidInput(f"cannot read the gas figures {gas}: {err}") from err
        if not isinstance(figures, dict):
            raise InvalidInput(f'{gas} must hold a JSON object {{"operation": gas}}.')
        for label, value in figures.items():  # JSON's 1e400, Infinity and NaN are floats round() cannot take
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise InvalidInput(f"{gas}: gas figure {label!r} must be a finite number, 0 or more; got {value!r}.")
    labelled, source = None, None
    if settlements is not None or synthetic is not None:
        from creditshare.domain.training_data import settlement_history
        from scoring.factory import holdout_split, training_set

        frame, as_of_s = settlement_history(
            settlements, synthetic, as_of=as_of, seed=seed, market=market, chain=lambda: st.client
        )
        X, y = training_set(frame, as_of_s, population=card.training_population)
        if synthetic is not None:  # the holdout `model train` evaluated the card on
            _, X, _, y = holdout_split(X, y)
            source = f"holdout of the synthetic market (--synthetic {synthetic} --seed {seed} --market {market})"
        else:
            source = f"{settlements} as of {_date(as_of_s)}"
        labelled = (X, y)
    with console.status("reading the chain and drawing the report", spinner="dots") if not st.json else nullcontext():
        index, facts = build(st.client, out, card, labelled, source, figures, max_age_days)

    def text() -> None:
        table(
            "Subjects by tier",
            ["tier", "subjects", "with a default", "default rate"],
            [
                [t, r["subjects"], r["defaulters"], "-" if r["default_rate"] is None else f"{r['default_rate']:.1%}"]
                for t, r in facts["by_tier"].items()
            ],
        )
        console.print(
            f"ROC AUC {facts['roc'].get('auc')} ({facts['roc']['source']}); PSI {facts['psi']['psi']} "
            f"({facts['psi']['status']})",
            soft_wrap=True,
        )
        console.print(f"report written: {index}", soft_wrap=True)

    emit(st, facts, text)
