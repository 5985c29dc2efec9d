"""Holdout AUC of the factory's scorecards per dataset against optbinning's defaults (issue #18).

For each dataset: the same 70/30 stratified split (seed 42), categorical =
the non-numeric columns. ``value`` is the AUC of the card ``train_scorecard``
builds with ``method="auto"`` (logistic, boosted or their blend, chosen by
5-fold CV on the training split); ``baseline_value`` the AUC of optbinning's defaults
(``BinningProcess`` + ``LogisticRegression`` on WoE) on the same split;
``ratio`` = value / baseline (>= 1 is the target). The logistic, boosted and
blended cards' own AUCs, auto's choice and its CV figures are in the entry too. These are quality
figures, not timings: they do not depend on the machine.

Datasets: German credit (``germancredit.csv`` of the shared data folder:
CREDITSHARE_SHARED_DATA, else ../shared/data beside the checkout; skipped if
absent) and the synthetic freight market (30,000 subjects; 10,000 with
``--quick``; one platform per 8 subjects): its shippers, and its carrier and
platform populations (``role_population``, with payouts, without trips). Then the role market the carrier
and platform cards are trained on (``role_market`` with half as many shippers: carriers that fail after their
disputes and implausible trips rise, platforms that pay late before they default, trip verdicts included), for
each role both training populations: ``all`` (those already in default included: what ``model train`` trains
on) and ``alive`` (only those not yet in default: the harder, purely predictive figure). A population with
fewer than 20 defaults is left out (5-fold cross-validation needs more), and said on stderr.

Usage: ``.venv/bin/python bench/scorecard_auc.py [--quick] [--subjects N] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.boosted import BlendedScorecardModel, BoostedScorecardModel  # noqa: E402
from scoring.factory import (  # noqa: E402
    CANDIDATES,
    fit_scorecard,
    holdout_split,
    optbinning_default_auc,
    train_scorecard,
    training_set,
)
from scoring.metrics import evaluate_scores  # noqa: E402
from scoring.scorecard import ScorecardModel  # noqa: E402
from scoring.synthetic import generate_market, generate_payouts, role_market, role_population  # noqa: E402


def _shared_file(name: str) -> Path | None:
    folders = [Path(os.environ["CREDITSHARE_SHARED_DATA"])] if os.environ.get("CREDITSHARE_SHARED_DATA") else []
    folders.append(ROOT.parent / "shared" / "data")
    return next((f / name for f in folders if (f / name).is_file()), None)


def datasets(quick: bool, subjects: int | None = None) -> list[tuple[str, pd.DataFrame, np.ndarray, list[str]]]:
    out = []
    german = _shared_file("germancredit.csv")
    if german is not None:
        df = pd.read_csv(german)
        y = (df.pop("creditability") == "bad").astype(int).to_numpy()
        out.append(("german_credit", df, y, [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]))
    subjects = subjects or (10_000 if quick else 30_000)
    market = generate_market(n_subjects=subjects, n_platforms=subjects // 8, seed=2024)
    X, y = training_set(market.settlements, market.as_of)
    out.append((f"freight_shippers_{subjects}", X, y, []))
    payouts = generate_payouts(market, seed=2024)
    for role in ("carrier", "platform"):
        X, labels = role_population(market, role, payouts=payouts)
        out.append((f"freight_{role}s_{subjects}", X, labels.to_numpy().astype(int), []))
    # the role market is drawn with half the shippers: one carrier per 2 of them, one platform per 4
    for role in ("carrier", "platform"):
        for population in ("all", "alive"):
            X, labels, _ = role_market(role, subjects // 2, seed=2024, population=population)
            out.append((f"role_market_{role}s_{population}_{subjects // 2}", X, labels.to_numpy().astype(int), []))
    return out


def measure(name: str, X: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> dict[str, Any]:
    X_tr, X_te, y_tr, y_te = holdout_split(X, y)
    baseline = optbinning_default_auc(X_tr, y_tr, X_te, y_te, categorical)
    start = time.perf_counter()
    auto = train_scorecard(X, y, name=name, version=1, method="auto", categorical=categorical)
    auto_s = time.perf_counter() - start
    logistic = fit_scorecard("logistic", X_tr, y_tr, categorical=categorical)
    boosted = fit_scorecard("boosted", X_tr, y_tr, categorical=categorical)
    assert isinstance(logistic, ScorecardModel) and isinstance(boosted, BoostedScorecardModel)
    blend = BlendedScorecardModel().fit_from(logistic, boosted, X_tr, y_tr)
    aucs = {m: evaluate_scores(y_te, model.risk(X_te)).auc for m, model in zip(CANDIDATES, (logistic, boosted, blend))}
    return {
        "name": f"scorecard_auc:{name}",
        "unit": "AUC",
        "value": round(auto.metrics.auc, 4),
        "baseline": "optbinning defaults (BinningProcess + LogisticRegression)",
        "baseline_value": round(baseline, 4),
        "ratio": round(auto.metrics.auc / baseline, 4),
        "auto_chose": auto.card.factory["chosen"],
        **{f"{m}_auc": round(a, 4) for m, a in aucs.items()},
        "cv": auto.card.factory["cv"],
        "n": int(len(X)),
        "event_rate": round(float(np.mean(y)), 4),
        "auto_seconds": round(auto_s, 1),
    }


#: a population with fewer defaults than this cannot be cross-validated in 5 folds: it is left out, and said
MIN_EVENTS = 20


def run(quick: bool = False, subjects: int | None = None) -> list[dict[str, Any]]:
    out = []
    for name, X, y, categorical in datasets(quick, subjects):
        if int(np.sum(y)) < MIN_EVENTS:
            print(f"scorecard_auc: {name} left out: {int(np.sum(y))} defaults of {len(y)}", file=sys.stderr)
            continue
        out.append(measure(name, X, y, categorical))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 synthetic subjects")
    parser.add_argument("--subjects", type=int, help="this many synthetic subjects (a small run to check it works)")
    parser.add_argument("--out", type=Path, help="write the JSON results here too")
    args = parser.parse_args()
    results = run(args.quick, args.subjects)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
