"""Scoring throughput of a model card vs optbinning, and scorecard training time.

One run on this machine, side by side:

- ``scoring_throughput``: rows/s scoring 1,000,000 feature rows (sampled with
  replacement from the synthetic population) with ``ModelCard.score_frame``
  (integer table lookup, from the loaded JSON card) vs optbinning's
  ``Scorecard.score`` on the same fitted scorecard (``rounding=True``). Both
  must give the identical integer score on every row; the benchmark checks it
  and fails otherwise. The card gets the nullable-integer frame the oracle
  builds; optbinning gets it already converted to float64 (its conversion is
  not timed).
- ``scoring_throughput_boosted``: the same for the card of a boosted additive
  scorecard (``scoring/boosted.py``, fitted on the same population) against the
  same optbinning ``Scorecard.score`` baseline; the benchmark checks that the
  loaded card gives the boosted model's own integer score on every row. It must
  stay >= 3x the baseline (issue #18).
- ``scorecard_training``: seconds to fit the scorecard (binning with monotonic
  trends + logistic regression + integer scaling + card extraction) on
  100,000 synthetic subjects vs optbinning's ``Scorecard.fit`` with its
  defaults on the same data. ``ratio`` = value / baseline_value (lower is
  faster here).
- ``synthetic_market``: seconds to generate the 100,000-subject market and
  compute its features (no baseline: it is what the others run on).

Usage: ``.venv/bin/python bench/scoring_throughput.py [--quick] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optbinning  # noqa: F401  - imported once, outside every timed section

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.boosted import BoostedScorecardModel  # noqa: E402
from scoring.factory import training_set  # noqa: E402
from scoring.model_card import ModelCard  # noqa: E402
from scoring.scorecard import ScorecardModel  # noqa: E402
from scoring.synthetic import generate_market  # noqa: E402


def _optbinning_defaults_fit(X: Any, y: np.ndarray) -> float:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Scorecard(
            binning_process=BinningProcess(list(X.columns)),
            estimator=LogisticRegression(),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
            rounding=True,
        ).fit(X, y)
    return time.perf_counter() - start


def run(quick: bool = False) -> list[dict[str, Any]]:
    n_subjects = 10_000 if quick else 100_000
    n_rows = 100_000 if quick else 1_000_000

    start = time.perf_counter()
    market = generate_market(n_subjects=n_subjects, seed=2024)
    X, y = training_set(market.settlements, market.as_of)
    market_s = time.perf_counter() - start

    start = time.perf_counter()
    model = ScorecardModel().fit(X, y)
    card = ModelCard.from_json(ModelCard.from_scorecard(model, name="bench", version=1).to_json())
    train_s = time.perf_counter() - start
    baseline_train_s = _optbinning_defaults_fit(X.astype("float64"), y)

    rng = np.random.default_rng(7)
    rows = X.iloc[rng.integers(0, len(X), n_rows)].reset_index(drop=True)
    rows_float = rows.astype("float64")
    card.score_frame(rows.iloc[:1000])  # warm-up

    start = time.perf_counter()
    card_scores = card.score_frame(rows)
    card_s = time.perf_counter() - start

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        opt_scores = model.scorecard_.score(rows_float)
        opt_s = time.perf_counter() - start

    if not np.array_equal(opt_scores, np.rint(opt_scores)):
        raise SystemExit("optbinning scores are not integers: the scorecard was not built with rounding=True")
    mismatches = int(np.count_nonzero(card_scores != opt_scores.astype(np.int64)))
    if mismatches:
        raise SystemExit(f"model card and optbinning disagree on {mismatches} of {n_rows} rows")

    boosted = BoostedScorecardModel().fit(X, y)
    boosted_card = ModelCard.from_json(ModelCard.from_scorecard(boosted, name="bench-boosted", version=1).to_json())
    boosted_card.score_frame(rows.iloc[:1000])  # warm-up
    start = time.perf_counter()
    boosted_scores = boosted_card.score_frame(rows)
    boosted_s = time.perf_counter() - start
    boosted_mismatches = int(np.count_nonzero(boosted_scores != boosted.score(rows)))
    if boosted_mismatches:
        raise SystemExit(f"boosted card and boosted model disagree on {boosted_mismatches} of {n_rows} rows")

    card_rate = n_rows / card_s
    opt_rate = n_rows / opt_s
    boosted_rate = n_rows / boosted_s
    return [
        {
            "name": "scoring_throughput",
            "unit": "rows/s",
            "value": round(card_rate, 1),
            "baseline": "optbinning Scorecard.score",
            "baseline_value": round(opt_rate, 1),
            "ratio": round(card_rate / opt_rate, 2),
            "n": n_rows,
            "features": len(card.feature_names),
            "identical_scores": True,
        },
        {
            "name": "scoring_throughput_boosted",
            "unit": "rows/s",
            "value": round(boosted_rate, 1),
            "baseline": "optbinning Scorecard.score",
            "baseline_value": round(opt_rate, 1),
            "ratio": round(boosted_rate / opt_rate, 2),
            "n": n_rows,
            "features": len(boosted_card.feature_names),
            "bins": sum(len(f["points"]) for f in boosted_card.to_dict()["features"]),
            "identical_scores": True,
        },
        {
            "name": "scorecard_training",
            "unit": "s",
            "value": round(train_s, 3),
            "baseline": "optbinning Scorecard.fit with defaults",
            "baseline_value": round(baseline_train_s, 3),
            "ratio": round(train_s / baseline_train_s, 2),
            "n": int(len(X)),
            "subjects": n_subjects,
        },
        {
            "name": "synthetic_market",
            "unit": "s",
            "value": round(market_s, 3),
            "baseline": None,
            "baseline_value": None,
            "ratio": None,
            "subjects": n_subjects,
            "settlements": int(len(market.settlements)),
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 subjects and 100,000 rows")
    parser.add_argument("--out", type=Path, help="write the JSON results here too")
    args = parser.parse_args()
    results = run(args.quick)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
