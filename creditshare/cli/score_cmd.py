"""`creditshare score show|batch`: lenders read signed scores and verify their provenance locally."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from creditshare.cli.context import State, console, emit, state, table
from creditshare.core.errors import CreditShareError, InvalidInput
from creditshare.core.files import read_text
from creditshare.core.ids import subject_id

app = typer.Typer(help="Lenders: read signed scores from the chain and verify them locally.", no_args_is_help=True)

CARD_OPT = typer.Option(
    None,
    "--card",
    help="The public model card of the report's model: its keccak must be the "
    "registered model hash; it is used to recover the reason codes. Default: each score's model card, "
    "fetched from the evidence store by the digest the model registry records (`evidence put-card`).",
)


def load_card(path: Path | None) -> Any:
    if path is None:
        return None
    from scoring.model_card import ModelCard

    try:
        return ModelCard.load(path)
    except OSError as err:
        raise InvalidInput(f"cannot read the model card {path}: {err.strerror}") from err


MAX_AGE_OPT = typer.Option(
    90,
    "--max-age-days",
    help="A score older than this many days (chain time minus its as-of) is reported as `stale`, not verified; "
    "0: no limit.",
)


def verdict(item: dict[str, Any]) -> str:
    p = item.get("provenance")
    if p is None:
        return "-"
    if p["problems"]:
        return "NOT VERIFIED: " + "; ".join(p["problems"])
    signed = f"{len(p['signers'])} oracle signatures (k={p['threshold']})"
    if p.get("verdict") == "retired":
        return f"RETIRED: {signed}, but its model is {p['model_status']}: do not rely on it"
    if p.get("verdict") == "stale":
        return f"STALE: {signed}, but it is {p['age_days']} days old (limit {p['max_age_days']}): ask for a fresh score"
    if p["reasons_recovered"]:
        note = ""
    elif item.get("card_problem"):
        note = f" (reason codes not recovered: {item['card_problem']})"
    else:
        note = " (reason codes not recovered: give --card)"
    return f"verified: {signed}{note}"


def share_text(green: dict[str, Any]) -> str:
    """A subject's new-energy share as people read it ("62.5 % of 8 logged trips", "no logged trip")."""
    if green["new_energy_bps"] is None:
        return "no logged trip"
    return f"{green['new_energy_bps'] / 100:g} % of {green['logged_trips']} logged trips"


def short_verdict(item: dict[str, Any]) -> str:
    if not item["scored"]:
        return "no score"
    return {"not verified": "NOT VERIFIED"}.get(item["provenance"]["verdict"], item["provenance"]["verdict"])


def _show(
    ctx: typer.Context,
    subjects: Sequence[bytes],
    card: Path | None,
    max_age_days: int,
    min_new_energy_bps: int | None = None,
) -> None:
    from creditshare.reports.freight import new_energy_shares, with_reason_text
    from oracle.provenance import check_max_age, verify_scores

    check_max_age(max_age_days)  # a negative limit is a user error, before any chain read
    st = state(ctx)
    cards: dict[str, Any] = {}
    if card is not None:
        loaded = load_card(card)
        cards[loaded.model_hash] = loaded
        items = verify_scores(st.client, subjects, loaded, max_age_days=max_age_days)
    else:
        items = verify_with_published_cards(st, subjects, max_age_days, cards)
    dropped: list[dict[str, Any]] = []
    if min_new_energy_bps is not None:
        shares = new_energy_shares(st.client, subjects)
        kept: list[dict[str, Any]] = []
        for item in items:
            item["green"] = shares[item["subject"]]
            share = item["green"]["new_energy_bps"]
            (kept if share is not None and share >= min_new_energy_bps else dropped).append(item)
        items = kept
    with_reason_text(st.client, items, cards)
    emit(st, items, lambda: _print_scores(items, dropped if min_new_energy_bps is not None else None))


def published_card(st: State, model_hash: bytes) -> tuple[Any, str | None]:
    """The registered card of `model_hash` from the evidence store (checked against the registry's digest),
    or None and why not: a card that cannot be had leaves the reason codes unrecovered, never fails the read."""
    from creditshare.bindings.model_registry import ModelRegistry
    from creditshare.domain.cards import card_of_model

    try:
        return card_of_model(ModelRegistry(st.client), st.settings.evidence_dir, model_hash), None
    except CreditShareError as err:  # not published, an IPFS node down, not registered
        return None, str(err)


def verify_with_published_cards(
    st: State, subjects: Sequence[bytes], max_age_days: int, cards: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """`verify_scores` with each score's own model card fetched by its registry digest: subjects are grouped
    by the model of their score (a card given for the wrong model would be a provenance problem), the
    answers come back in the order of `subjects`. A scored item whose card could not be had carries
    `card_problem`. The cards found are added to `cards` (model hash -> card) when it is given."""
    from creditshare.bindings.score_oracle import ScoreOracle
    from oracle.provenance import accepted_reports, verify_scores

    raw = ScoreOracle(st.client).scores_of(list(subjects))
    groups: dict[bytes | None, list[int]] = {}
    for i, score in enumerate(raw):
        groups.setdefault(score.model_hash if score.scored else None, []).append(i)
    reports = accepted_reports(st.client) if any(h is not None for h in groups) else None
    out: list[dict[str, Any]] = [{} for _ in subjects]
    for model_hash, where in groups.items():
        card, problem = published_card(st, model_hash) if model_hash is not None else (None, None)
        if card is not None and cards is not None:
            cards[card.model_hash] = card
        items = verify_scores(st.client, [subjects[i] for i in where], card, reports, max_age_days=max_age_days)
        for i, item in zip(where, items, strict=True):
            if item["scored"]:
                # a report scoring several roles names the champion set, which has no card of its own: the
                # provenance check then recovers each entry's reasons from its role's card in the evidence store
                recovered = item.get("reasons") is not None
                item["card_source"] = "evidence store" if card is not None or recovered else None
                if problem is not None and not recovered:
                    item["card_problem"] = problem
            out[i] = item
    return out


def _print_scores(items: list[dict[str, Any]], dropped: list[dict[str, Any]] | None = None) -> None:
    green = dropped is not None
    table(
        "Scores",
        ["subject", "score", "tier", "reasons", "model v", "model", "as of", "age (days)", "provenance"]
        + (["new-energy share"] if green else []),
        [
            [
                i["subject"][:14] + "…",
                i.get("score", "-"),
                i.get("tier", "-"),
                "; ".join(i.get("reason_text") or i["reasons"])
                if i.get("reasons") is not None
                else ("-" if not i["scored"] else "?"),
                i.get("model_version", "-"),
                i.get("model_status", "-"),
                dt.datetime.fromtimestamp(i["as_of"], dt.UTC).date() if i["scored"] else "-",
                i.get("age_days", "-"),
                short_verdict(i),
                *([share_text(i["green"])] if green else []),
            ]
            for i in items
        ],
    )
    if dropped:
        console.print(
            f"{len(dropped)} subject(s) left out by --min-new-energy-share: "
            + ", ".join(f"{i['subject'][:14]}… ({share_text(i['green'])})" for i in dropped),
            soft_wrap=True,
        )
    for i in items:
        if i["scored"] and (len(items) == 1 or not i["provenance"]["verified"]):
            console.print(f"{i['subject']}: {verdict(i)}", soft_wrap=True)
    scored = [i for i in items if i["scored"]]
    good = sum(i["provenance"]["verified"] for i in scored)
    console.print(
        f"{good} of {len(scored)} score(s) verified locally; {len(items) - len(scored)} subject(s) without a score",
        soft_wrap=True,
    )
    stale = sum(i["provenance"]["verdict"] == "stale" for i in scored)
    retired = sum(i["provenance"]["verdict"] == "retired" for i in scored)
    if stale or retired:
        console.print(f"{stale} stale (older than the --max-age-days limit), {retired} from a retired model")
    if good < len(scored):
        console.print("[red]some scores could not be verified: do not rely on them[/red]")


@app.command("show")
def show(
    ctx: typer.Context,
    subjects: list[str] = typer.Argument(..., help="Subjects: namespace:registration or 0x id."),
    card: Path | None = CARD_OPT,
    max_age_days: int = MAX_AGE_OPT,
) -> None:
    """The latest signed score of one or more subjects, with a local provenance check.

    The verdict is `verified`, `stale` (older than --max-age-days), `retired` (its model was retired or
    withdrawn) or NOT VERIFIED (a check failed: the problems say which); only `verified` is one to rely on."""
    _show(ctx, [subject_id(s) for s in subjects], card, max_age_days)


@app.command("batch")
def batch_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="File of subjects, one per line."),
    card: Path | None = CARD_OPT,
    max_age_days: int = MAX_AGE_OPT,
    min_new_energy_share: float | None = typer.Option(
        None,
        "--min-new-energy-share",
        help="Keep only subjects whose logged trips (TripRegistry verdicts with a log, in any role) ran on "
        "new-energy trucks (electric, hydrogen) for at least PCT percent (0-100); a subject without a logged "
        "trip is left out. The output then gives each subject's share.",
        metavar="PCT",
    ),
) -> None:
    """Scores of many subjects in few calls (one per 500 subjects, one per report); verdicts as `score show`."""
    bps = None
    if min_new_energy_share is not None:
        if not 0 <= min_new_energy_share <= 100 or min_new_energy_share != min_new_energy_share:
            raise InvalidInput(
                f"--min-new-energy-share must be a percentage from 0 to 100; got {min_new_energy_share:g}."
            )
        bps = math.ceil(min_new_energy_share * 100)
    # the project's text reader: not UTF-8 (with its line), a NUL byte or a folder is one error naming the file
    lines = [line.strip() for line in read_text(file, what="subjects file").splitlines()]
    subjects = []
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#"):
            continue
        try:
            subjects.append(subject_id(line))
        except InvalidInput as err:
            raise InvalidInput(f"{file} line {number}: {err}") from err
    if not subjects:
        raise InvalidInput(f"{file} lists no subjects.")
    _show(ctx, subjects, card, max_age_days, bps)
