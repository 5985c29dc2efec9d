"""`creditshare model train|compare|evaluate|register|promote|retire|show|monitor`: the model factory and its
registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from creditshare.cli.context import console, emit, state, table
from creditshare.cli.options import Account, AsOf, Market, Seed, Settlements, Synthetic
from creditshare.core.errors import InvalidInput
from creditshare.domain.cards import publish_card
from creditshare.domain.training_data import settlement_history

#: the largest version the model registry records (uint32 version)
MAX_VERSION = 2**32 - 1

#: scorecard methods of `model train --method` (scoring.factory.METHODS; listed here so --help needs no import)
METHODS = ("logistic", "boosted", "blend", "auto")
#: the kinds of subject a card scores (scoring.model_card.CARD_ROLES; ModelRegistry holds one champion per role)
ROLES = ("shipper", "carrier", "platform")
#: who the training population holds (scoring.features.POPULATIONS)
POPULATIONS = ("all", "alive")
POPULATION_HELP = (
    "Who the card is trained on: all (every subject with history by --as-of, those already in default included "
    "and labelled bad: the population the oracles score) or alive (only those not yet in default). Default: alive "
    "for shippers (the population of before), all for carriers and platforms."
)
ROLE_HELP = (
    "The kind of subject the card scores: shipper (default), carrier or platform; the registry holds one "
    "champion per role."
)

app = typer.Typer(
    help="Scorecard models: train and evaluate (scoring/), register and promote on chain "
    "(ModelRegistry), monitor drift.",
    no_args_is_help=True,
)


@app.command()
def train(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Where to write the model card (canonical JSON)."),
    name: str = typer.Option("freight-scorecard", "--name"),
    version: int = typer.Option(1, "--version", min=1, max=MAX_VERSION, help="The card's version (a uint32)."),
    settlements: Settlements = None,
    synthetic: Synthetic = None,
    seed: Seed = 1,
    market: Market = "standard",
    as_of: AsOf = None,
    with_xp: bool = typer.Option(
        False,
        "--with-xp",
        help="Add the cross-platform xp_* features (what a "
        "cross_platform_features MPC job over every platform reveals, computed in the clear).",
    ),
    method: str = typer.Option(
        "logistic",
        "--method",
        help="logistic (WOE binning + logistic regression), boosted (per-feature shape functions by gradient "
        "boosting), blend (the average of the two, still integer points per bin) or auto (the best of the three by "
        "5-fold cross-validation on the training split).",
    ),
    role: str = typer.Option("shipper", "--role", help=ROLE_HELP),
    population: str | None = typer.Option(None, "--population", help=POPULATION_HELP),
) -> None:
    """Fit the scorecard (integer points per bin) and write its model card.

    With --role carrier or platform, the population is that role's (its settlement features and party features:
    payouts, trips; scoring.factory.role_training_set): from the chain (--settlements chain: the settlements from
    this node's chain index, the payouts and trip verdicts recorded on chain), a settlements file (carriers only:
    no payouts or trips) or a synthetic market (--synthetic N: scoring.synthetic.role_market). The card says its
    role and its training population."""
    from scoring.factory import train_scorecard, training_window

    st = state(ctx)
    _check_method(method)
    _check_role(role)
    if population is not None:
        _check_population(population)
    asked = population
    population = population or ("alive" if role == "shipper" else "all")
    if role == "shipper":
        X, y, as_of_s = _training_data(ctx, settlements, synthetic, seed, market, as_of, with_xp, population)
    else:
        if with_xp:
            raise InvalidInput("--with-xp adds shipper features: it is for --role shipper only.")
        X, y, as_of_s = _role_training_data(ctx, role, settlements, synthetic, seed, market, as_of, population)
    _check_labels(role, y, as_of_s)
    # a card records its population, but a shipper card trained as before (no --population) keeps its bytes
    training: dict[str, int | str | None] = {
        **training_window(as_of_s),
        **({"population": population} if asked or role != "shipper" else {}),
    }
    result = train_scorecard(X, y, name=name, version=version, method=method, training=training)
    card = result.card.with_role(role)
    card.save(out)
    summary = {
        "card": str(out),
        "role": role,
        "model_hash": card.model_hash,
        "rows": len(X),
        "defaults": int(sum(int(v) for v in y)),
        "population": population,
        "auc": round(result.metrics.auc, 4),
        "ks": round(result.metrics.ks, 4),
        "gini": round(result.metrics.gini, 4),
        "seconds": round(result.seconds, 2),
        "method": method,
        "model": result.card.factory.get("chosen", result.card.factory.get("method", "logistic")),
        **({"cv": result.card.factory["cv"]} if method == "auto" else {}),
    }
    chosen = f" (auto chose {summary['model']})" if method == "auto" else ""
    emit(
        st,
        summary,
        f"model card written to {out}\n  hash {summary['model_hash']}\n  {role} {summary['model']} scorecard{chosen}; "
        f"{len(X)} rows; holdout AUC {summary['auc']}, KS {summary['ks']}, Gini {summary['gini']}",
    )


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InvalidInput(f"--method must be one of {', '.join(METHODS)}; got {method!r}.")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(ROLES)}; got {role!r}.")


#: a scorecard's bins need this many goods and bads (scoring.scorecard.ScorecardModel.fit)
MIN_EACH = 5


def _check_labels(role: str, y: Any, as_of: int) -> None:
    """A population a scorecard can be fitted on, or one error line saying what it holds."""
    import datetime as dt

    bad = sum(int(v) for v in y)
    if min(bad, len(y) - bad) < MIN_EACH:
        when = dt.datetime.fromtimestamp(as_of, dt.UTC).date().isoformat()
        raise InvalidInput(
            f"the {role} population as of {when} holds {len(y)} {role}s, {bad} of them in default: a scorecard needs "
            f"at least {MIN_EACH} in default and {MIN_EACH} not; train on a longer history (--as-of) or a larger "
            "synthetic market (--synthetic N)."
        )


def _check_population(population: str) -> None:
    if population not in POPULATIONS:
        raise InvalidInput(f"--population must be one of {', '.join(POPULATIONS)}; got {population!r}.")


def _role_training_data(
    ctx: typer.Context,
    role: str,
    settlements: Path | None,
    synthetic: int | None,
    seed: int,
    market: str,
    as_of: str | None,
    population: str | None,
) -> tuple[Any, Any, int]:
    """Features, labels and as-of time of a carrier or platform population: from the chain's settlements,
    payouts and trip verdicts (--settlements chain), a settlements file (no payouts or trips: carriers only) or
    a seeded synthetic role market (scoring.synthetic.role_market)."""
    from creditshare.core.files import parse_date
    from creditshare.domain.training_data import CHAIN, chain_party_history
    from scoring.factory import role_training_set
    from scoring.synthetic import role_market

    if synthetic is not None and settlements is None:
        when = None if as_of is None else parse_date(as_of, "--as-of")
        return role_market(role, synthetic, seed=seed, market=market, as_of=when, population=population)
    frame, as_of_s = settlement_history(
        settlements, synthetic, as_of=as_of, seed=seed, market=market, chain=lambda: state(ctx).client
    )
    payouts = trips = None
    if str(settlements) == CHAIN:
        payouts, trips = chain_party_history(state(ctx).client, frame)
    if role == "platform" and payouts is None:
        raise InvalidInput(
            "a platform card needs the payouts platforms owe carriers: train it from the chain (--settlements "
            "chain, with PayoutLedger deployed) or on a synthetic market (--synthetic N)."
        )
    X, y = role_training_set(frame, as_of_s, role, payouts=payouts, trips=trips, population=population)
    return X, y, as_of_s


def _training_data(
    ctx: typer.Context,
    settlements: Path | None,
    synthetic: int | None,
    seed: int,
    market: str,
    as_of: str | None,
    with_xp: bool,
    population: str = "alive",
) -> tuple[Any, Any, int]:
    """Features, labels and as-of time of the shipper population (with the xp_* features if asked): `population`
    all (those in default included) or alive (scoring.factory.training_set)."""
    from scoring.factory import training_set

    frame, as_of_s = settlement_history(
        settlements, synthetic, as_of=as_of, seed=seed, market=market, chain=lambda: state(ctx).client
    )
    X, y = training_set(frame, as_of_s, population=population)
    if with_xp:
        from privacy.holders import cross_platform_frame

        xp = cross_platform_frame(frame, as_of_s, X.index)
        X = X.join(xp.set_axis(X.index))
    return X, y, as_of_s


@app.command()
def compare(
    ctx: typer.Context,
    settlements: Settlements = None,
    synthetic: Synthetic = None,
    seed: Seed = 1,
    market: Market = "standard",
    as_of: AsOf = None,
    with_xp: bool = typer.Option(False, "--with-xp", help="Add the cross-platform xp_* features (as in train)."),
) -> None:
    """The logistic, boosted and blended scorecards and the gradient-boosting challenger side by side: the same
    training split, the same holdout. Only the scorecards can score on chain."""
    from scoring.factory import compare_methods

    st = state(ctx)
    X, y, _ = _training_data(ctx, settlements, synthetic, seed, market, as_of, with_xp)
    report = compare_methods(X, y)

    def text() -> None:
        table(
            f"Model types on the same holdout ({report['holdout']['n']} rows)",
            ["model", "on chain", "AUC", "KS", "Gini", "fit s"],
            [
                [
                    m["name"],
                    "yes" if m["deployable"] else "no",
                    m["auc"],
                    m["ks"],
                    m["gini"],
                    m["fit_seconds"],
                ]
                for m in report["models"]
            ],
        )
        console.print(f"best deployable: {report['best_deployable']} (train it with --method)")

    emit(st, report, text)


@app.command("train-federated")
def train_federated(
    ctx: typer.Context,
    output: Path = typer.Argument(..., metavar="OUTPUT", help="A party's output file of a federated_binning MPC job."),
    out: Path = typer.Option(..., "--out", help="Where to write the model card (canonical JSON)."),
    name: str = typer.Option("freight-scorecard-federated", "--name"),
    version: int = typer.Option(1, "--version", min=1, max=MAX_VERSION, help="The card's version (a uint32)."),
    min_iv: float = typer.Option(0.02, "--min-iv", min=0, help="Drop features whose IV is below this."),
    max_features: int = typer.Option(8, "--max-features", min=1, help="Keep at most this many features (by IV)."),
    no_chain_check: bool = typer.Option(
        False, "--no-chain-check", help="Do not check that the job is recorded on chain with this output hash."
    ),
) -> None:
    """Fit a joint scorecard from federated bin counts only (WOE naive Bayes, see scoring/federated.py).

    The output file's hash is checked against its content and, when MpcJobLog is deployed, against the
    hash recorded on chain for the job. Register and promote the card as usual."""
    from creditshare.core.chain import Deployment
    from creditshare.core.ids import to_hex
    from privacy.record import check_recorded, read_output
    from scoring.federated import federated_card

    st = state(ctx)
    job = read_output(output, "federated_binning")
    if no_chain_check:
        chain_check = "skipped (--no-chain-check)"
    elif not Deployment.load(st.settings.deployments_file, st.settings.network.chain_id).addresses.get("MpcJobLog"):
        chain_check = "skipped (no deployment)"
    else:
        check_recorded(st.client, job)
        chain_check = "recorded on chain"
    card = federated_card(
        job.revealed,
        name=name,
        version=version,
        min_iv=min_iv,
        max_features=max_features,
        training={"mpc_job": to_hex(job.job_id), "mpc_output_hash": job.output_hash},
    )
    card.save(out)
    summary = {
        "card": str(out),
        "model_hash": card.model_hash,
        "mpc_job": to_hex(job.job_id),
        "output_hash": job.output_hash,
        "chain_check": chain_check,
        "features": list(card.feature_names),
        "rows": card.training["n_rows"],
        "tiers": {t: m for t, m in card.tiers},
    }
    emit(
        st,
        summary,
        f"model card written to {out}\n  hash {card.model_hash}\n  {summary['rows']} rows "
        f"(federated counts), {len(summary['features'])} features; MPC job {chain_check}",
    )


@app.command()
def evaluate(
    ctx: typer.Context,
    card_path: Path = typer.Argument(..., metavar="CARD", help="The champion's model card."),
    settlements: Settlements = None,
    synthetic: Synthetic = None,
    seed: Seed = 1,
    market: Market = "standard",
    as_of: AsOf = None,
) -> None:
    """Champion (the card) against a gradient-boosting challenger on the same holdout."""
    from scoring.factory import challenge, training_set
    from scoring.model_card import ModelCard

    st = state(ctx)
    card = ModelCard.load(card_path)
    frame, as_of_s = settlement_history(
        settlements, synthetic, as_of=as_of, seed=seed, market=market, chain=lambda: st.client
    )
    report = challenge(card, *training_set(frame, as_of_s))

    def text() -> None:
        table(
            "Champion / challenger (holdout)",
            ["model", "type", "AUC", "KS", "Gini"],
            [[r["name"], r["type"], r["auc"], r["ks"], r["gini"]] for r in (report["champion"], report["challenger"])],
        )
        console.print(f"recommendation: {report['recommendation']}")

    emit(st, report, text)


@app.command()
def register(
    ctx: typer.Context,
    card_path: Path = typer.Argument(..., metavar="CARD", help="The model card to register."),
    account: Account = None,
) -> None:
    """Register a model card's hash, version, metrics, file digest and role on chain (MAINTAINER or COMMITTEE).

    The registration names you as its registrant. If the hash is already registered with other figures (a
    squatter's copy), this is refused: the committee withdraws that registration (`model withdraw`) first."""
    from creditshare.bindings.model_registry import ModelRegistry, ModelStatus, SubjectRole
    from creditshare.core.chain import encode_call
    from creditshare.core.ids import parse_bytes32
    from scoring.model_card import ModelCard, metrics_bps

    st = state(ctx)
    card = ModelCard.load(card_path)
    if not 1 <= card.version <= MAX_VERSION:  # a card file says any integer; the registry holds a uint32
        raise InvalidInput(f"{card_path}: the card's version must be 1 to {MAX_VERSION}; got {card.version}.")
    bps = metrics_bps(card)
    registry, signer = ModelRegistry(st.client), st.account(account)
    model_hash, digest, role = (
        parse_bytes32(card.model_hash, "model hash"),
        parse_bytes32(card.file_digest, "digest"),
        SubjectRole.parse(card.role),
    )
    figures = (card.version, bps["auc"], bps["ks"], digest)
    existing = registry.model(model_hash)
    if existing is None or existing.status == ModelStatus.WITHDRAWN:
        # the registry's own check first (a registrant that is not a MAINTAINER or COMMITTEE member, a bad
        # version): a refused registration stores nothing, not even the card in the (shared) evidence store
        name, extra = ("register", ()) if role == SubjectRole.SHIPPER else ("registerForRole", (int(role),))
        call = encode_call(registry.contract, name, model_hash, *figures, *extra)
        st.client.check_calls([call], signer, "registering the model")
    # the card goes to the evidence store before the chain write, so the registry never names a card that is not
    # there: `score show` and `report` fetch it by the registry's digest to recover reason codes without --card
    card_cid = publish_card(st.settings.evidence_dir, card)
    done = registry.register(signer, model_hash, *figures, role)
    emit(
        st,
        {
            "done": done,
            "model_hash": card.model_hash,
            "role": card.role,
            "version": card.version,
            "card_cid": card_cid,
            **bps,
        },
        f"{card.role} model {card.model_hash} {done} (version {card.version}, AUC {bps['auc']} bps)",
    )


@app.command()
def promote(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model card file (or 0x model hash with --skip-drift-check)."),
    settlements: Settlements = None,
    synthetic: Synthetic = None,
    seed: Seed = 1,
    market: Market = "standard",
    as_of: AsOf = None,
    skip_drift_check: bool = typer.Option(
        False, "--skip-drift-check", help="Approve without checking the current population's PSI."
    ),
    role: str | None = typer.Option(
        None,
        "--role",
        help="The role whose champion the model becomes (shipper, carrier, platform; default: the card's role, "
        "or the registered one for a 0x hash). A model registered for another role is refused.",
    ),
    account: Account = None,
) -> None:
    """Approve promoting a model to the champion of its role (COMMITTEE; executes at the consortium threshold;
    approvals count for 7 days).

    The current population (--settlements/--synthetic) is scored first: a PSI
    of 0.25 or more against the card's training population blocks promotion."""
    from creditshare.bindings.model_registry import Action, ModelRegistry, SubjectRole, model_hash_arg
    from scoring.model_card import ModelCard

    st = state(ctx)
    if role is not None:
        _check_role(role)
    model_hash = model_hash_arg(model)
    card_role = None if model.startswith("0x") else ModelCard.load(Path(model)).role
    if role is not None and card_role is not None and role != card_role:
        raise InvalidInput(f"the card scores {card_role}s: it cannot become the {role} champion.")
    drift = None
    if not skip_drift_check:
        if model.startswith("0x"):
            raise InvalidInput("the drift check needs the model card file, not only its hash.")
        drift = _drift(ctx, Path(model), settlements, synthetic, seed, as_of, market, block=True)
    registry = ModelRegistry(st.client)
    registered = registry.model(model_hash)
    if registered is None:
        raise InvalidInput(f"model 0x{model_hash.hex()} is not registered: `creditshare model register` it first.")
    target = SubjectRole.parse(role or card_role or registered.role.label)
    # the contract checks the role too (ModelRegistryWrongRole): a card registered for another role is refused
    registry.approve_promotion_as(st.account(account), model_hash, target)
    champion = registry.champion_of(target)
    result = {
        "model_hash": "0x" + model_hash.hex(),
        "role": target.label,
        "approvals": registry.approvals(model_hash, Action.PROMOTE),
        "champion": champion == model_hash,
        "psi": drift["psi"] if drift else None,
    }
    emit(
        st,
        result,
        [
            *([f"drift check: PSI {drift['psi']:.4f} ({drift['status']})"] if drift else []),
            f"promoted: now the {target.label} champion"
            if result["champion"]
            else f"approval recorded ({result['approvals']} so far)",
        ],
    )


@app.command()
def retire(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model card file or 0x model hash."),
    account: Account = None,
) -> None:
    """Approve retiring a model (COMMITTEE; executes at the consortium threshold; approvals count for 7 days)."""
    from creditshare.bindings.model_registry import Action, ModelRegistry, model_hash_arg

    st = state(ctx)
    model_hash = model_hash_arg(model)
    registry = ModelRegistry(st.client)
    registry.approve(st.account(account), model_hash, Action.RETIRE)
    found = registry.model(model_hash)
    status = found.status.name.lower() if found else "unknown"
    emit(st, {"model_hash": "0x" + model_hash.hex(), "status": status}, f"retirement approved; model is {status}")


@app.command()
def withdraw(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Model card file or 0x model hash."),
    account: Account = None,
) -> None:
    """Approve withdrawing a Registered model's registration, e.g. a hash squatted with false figures (COMMITTEE;
    executes at the consortium threshold; approvals count for 7 days). The hash may then be registered again."""
    from creditshare.bindings.model_registry import Action, ModelRegistry, model_hash_arg

    st = state(ctx)
    model_hash = model_hash_arg(model)
    registry = ModelRegistry(st.client)
    registry.approve(st.account(account), model_hash, Action.WITHDRAW)
    found = registry.model(model_hash)
    status = found.status.name.lower() if found else "unknown"
    emit(
        st,
        {
            "model_hash": "0x" + model_hash.hex(),
            "status": status,
            "approvals": registry.approvals(model_hash, Action.WITHDRAW),
        },
        f"withdrawal approved; model is {status}",
    )


@app.command()
def show(ctx: typer.Context) -> None:
    """List registered models and the champion of each role."""
    from creditshare.bindings.model_registry import ModelRegistry, SubjectRole

    st = state(ctx)
    registry = ModelRegistry(st.client)
    models = registry.models()
    champions = registry.champions()
    champion = champions.get(SubjectRole.SHIPPER)
    champion_set = registry.champion_set()

    def text() -> None:
        table(
            "Champions",
            ["role", "champion"],
            [[r.label, "0x" + c.hex() if (c := champions.get(r)) else "none"] for r in SubjectRole],
        )
        table(
            "Registered models",
            ["hash", "role", "version", "status", "AUC bps", "KS bps"],
            [
                [
                    "0x" + m.model_hash.hex()[:16] + "…",
                    m.role.label,
                    m.version,
                    m.status.name.lower(),
                    m.auc_bps,
                    m.ks_bps,
                ]
                for m in models
            ],
        )

    emit(
        st,
        {
            "champion": "0x" + champion.hex() if champion else None,
            "champions": {r.label: "0x" + c.hex() if (c := champions.get(r)) else None for r in SubjectRole},
            "champion_set": "0x" + champion_set.hex() if champion_set else None,
            "models": [m.to_json() for m in models],
        },
        text,
    )


def _drift(
    ctx: typer.Context,
    card_path: Path,
    settlements: Path | None,
    synthetic: int | None,
    seed: int,
    as_of: str | None,
    market: str,
    block: bool,
) -> dict[str, Any]:
    from scoring.drift import assert_promotable, monitor
    from scoring.features import build_features
    from scoring.model_card import ModelCard

    card = ModelCard.load(card_path)
    if card.role != "shipper":
        # a carrier or platform card is checked on its own role's population
        trained_on = card.training.get("population")
        population = trained_on if trained_on in POPULATIONS else None
        features, _, _ = _role_training_data(ctx, card.role, settlements, synthetic, seed, market, as_of, population)
        report = assert_promotable(card, features) if block else monitor(card, features)
        return report.as_dict()
    frame, as_of_s = settlement_history(
        settlements, synthetic, as_of=as_of, seed=seed, market=market, chain=lambda: state(ctx).client
    )
    features = build_features(frame, as_of_s, roles=("shipper",))
    report = assert_promotable(card, features) if block else monitor(card, features)
    return report.as_dict()


@app.command()
def monitor(
    ctx: typer.Context,
    card_path: Path = typer.Argument(..., metavar="CARD", help="The model card whose population to check."),
    settlements: Settlements = None,
    synthetic: Synthetic = None,
    seed: Seed = 1,
    market: Market = "standard",
    as_of: AsOf = None,
) -> None:
    """PSI of the score distribution and CSI per feature against the training population.

    Exit code 4 when PSI >= 0.25 (drifted: promotion is blocked)."""
    st = state(ctx)
    report = _drift(ctx, card_path, settlements, synthetic, seed, as_of, market, block=False)

    def text() -> None:
        console.print(f"PSI {report['psi']:.4f}: {report['status']}")
        table("CSI per feature", ["feature", "CSI"], [[k, f"{v:.4f}"] for k, v in sorted(report["csi"].items())])

    emit(st, report, text)
    if report["status"] == "drifted":
        raise typer.Exit(4)
