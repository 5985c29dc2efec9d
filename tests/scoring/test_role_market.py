"""Cards worth scoring with for every role (#17): in the role market (scoring.synthetic.role_market) carriers fail
after their disputes and implausible trips rise, platforms default after paying carriers late, and a card trained
on such a population ranks out of sample; the shippers' market is the same bytes as before; the training
population may hold the subjects already in default (labelled bad), as the oracles score them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest import approx

from scoring.errors import InvalidData, ModelError
from scoring.factory import role_training_set, train_scorecard, training_set
from scoring.features import DAY, shipper_labels
from scoring.synthetic import generate_market, market_profile, role_market, role_population, trip_verdicts

ROOT = Path(__file__).resolve().parents[2]


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_a_market_without_carrier_distress_is_the_same_bytes_as_before() -> None:
    # digests of the markets drawn by scoring/synthetic.py before carriers could fail (commit d5bf2c8)
    standard = generate_market(n_subjects=300, seed=4).settlements
    demo = market_profile("freight-demo", n_subjects=40, seed=4).settlements
    assert _digest(standard) == "0cc73c6bae2071fb592f5aa3e7e0dee99989307bc86e0145dfc9a6af76c362d6"
    assert _digest(demo) == "1942166af5bfeecc1c15a42e2c031b3713aeff886c632fc2281624666bc22c2f"


def test_same_seed_gives_the_same_role_market() -> None:
    a = role_market("carrier", 300, seed=3)
    b = role_market("carrier", 300, seed=3)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_series_equal(a[1], b[1])
    assert a[2] == b[2]


def test_failing_carriers_dispute_more_and_fake_more_trips_before_they_fail() -> None:
    market = generate_market(n_subjects=2000, n_carriers=400, carrier_default_rate=0.15, seed=8)
    assert market.carriers is not None
    s, t = market.settlements, market.as_of
    distress = market.carriers["distress"]
    failing = set(distress.index[(distress > t) & (distress <= t + 90 * DAY)])
    sound = set(distress.index[distress > t + 400 * DAY])
    before = s[(s["invoice_date"] > t - 90 * DAY) & (s["invoice_date"] <= t)]
    disputed = before["status"].isin(("Disputed", "Resolved")).groupby(before["carrier"]).mean()
    assert disputed.reindex(sorted(failing)).mean() > 2 * disputed.reindex(sorted(sound)).mean()
    verdicts = trip_verdicts(market, seed=8)
    recent = verdicts[(verdicts["invoice_date"] > t - 90 * DAY) & (verdicts["invoice_date"] <= t)]
    fake = (recent["verdict"] == "implausible").groupby(recent["carrier"]).mean()
    assert fake.reindex(sorted(failing)).mean() > 2 * fake.reindex(sorted(sound)).mean()
    assert set(verdicts["verdict"]) == {"verified", "implausible", "no log"}
    assert (verdicts.loc[verdicts["verdict"] == "no log", "energy_type"] == "").all()


@pytest.mark.parametrize(
    ("role", "population", "rows", "auc"),
    [
        ("carrier", "all", 500, 0.90),
        ("carrier", "alive", 342, 0.82),
        ("platform", "all", 250, 0.86),
        ("platform", "alive", 188, 0.85),
    ],
)
def test_a_card_per_role_ranks_out_of_sample(role: str, population: str, rows: int, auc: float) -> None:
    X, y, _ = role_market(role, 1000, seed=1, population=population)
    result = train_scorecard(X, y, name=f"{role}-card", version=1)
    assert len(X) == rows and result.metrics.auc == approx(auc, abs=0.02)
    assert result.metrics.auc >= 0.7


def test_the_all_population_keeps_the_defaulted_and_labels_them_bad() -> None:
    market = generate_market(n_subjects=1500, seed=5)
    s, t = market.settlements, market.as_of
    gone = set(s.loc[(s["status"] == "Defaulted") & (s["status_date"] <= t), "shipper"])
    assert gone
    alive = shipper_labels(s, t, population="alive")
    every = shipper_labels(s, t, population="all")
    assert not gone & set(alive.index) and gone <= set(every.index)
    assert (every.reindex(sorted(gone)) == 1).all()
    assert set(every.index) == set(s.loc[s["invoice_date"] <= t, "shipper"])
    # "alive" is what training_set always trained on
    X, y = training_set(s, t)
    assert list(X.index) == list(alive.index) and list(y) == list(alive.to_numpy())
    X_all, y_all = training_set(s, t, population="all")
    assert len(X_all) == len(every) and int(y_all.sum()) == int(every.sum()) > int(y.sum())


def test_role_population_of_a_market_is_the_role_training_set_of_its_settlements() -> None:
    market = generate_market(n_subjects=400, seed=2)
    X, y = role_population(market, "carrier")
    X2, y2 = role_training_set(market.settlements, market.as_of, "carrier")
    pd.testing.assert_frame_equal(X, X2)
    pd.testing.assert_series_equal(y, y2)


def test_an_unknown_population_or_role_is_refused() -> None:
    market = generate_market(n_subjects=200, seed=2)
    with pytest.raises(InvalidData, match="population must be one of all, alive; got 'dead'"):
        shipper_labels(market.settlements, market.as_of, population="dead")
    with pytest.raises(InvalidData, match="population must be one of all, alive; got 'most'"):
        role_population(market, "carrier", population="most")
    with pytest.raises(ModelError, match="role must be shipper, platform or carrier; got 'lender'"):
        role_training_set(market.settlements, market.as_of, "lender")
    with pytest.raises(ModelError, match="a platform population needs the payouts"):
        role_training_set(market.settlements, market.as_of, "platform")
    with pytest.raises(InvalidData, match="carrier_default_rate must be 0 or more; got -0.1"):
        generate_market(n_subjects=200, carrier_default_rate=-0.1)


def test_role_market_labels_are_integers_zero_or_one() -> None:
    _, y, as_of = role_market("platform", 400, seed=6)
    assert set(np.unique(y.to_numpy())) <= {0, 1} and as_of == generate_market(n_subjects=1).as_of


def test_trip_logs_are_the_same_bytes_in_every_process() -> None:
    code = (
        "import hashlib; from scoring.synthetic import generate_market, generate_trips; "
        "m = generate_market(n_subjects=30, seed=2); "
        "print(hashlib.sha256(b''.join(t.log.dumps() for t in generate_trips(m.settlements.head(40), seed=2) "
        "if t.log is not None)).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64
