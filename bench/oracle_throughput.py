"""Benchmark `oracle_throughput` and `score_gas`.

Project: scores for N subjects computed from the champion model card, batched
500 to a report, each report signed by 3 of 4 oracles (EIP-712) and committed to
ScoreOracle with one signature set per batch; transactions pipelined.
Baseline: a naive oracle, one transaction per subject carrying a one-entry
report and two signatures (the threshold set to 2, the least governance allows), waiting for each
receipt. Both run on the same fresh Anvil in one run; the naive loop first.

`oracle_throughput_roles` (#17): the same pipeline with every role in the reports: the same number of
subjects, shippers, carriers and platforms mixed (carrier and platform cards trained on a role market,
scoring.synthetic.role_market, promoted as their roles' champions), each scored with its role's card, the
reports naming the registry's champion set. Its baseline is the shipper-only figure of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.bindings.consortium import Consortium, ProposalKind, parameter_key  # noqa: E402
from creditshare.core import localchain  # noqa: E402
from creditshare.core.chain import ChainClient, encode_call  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import parse_bytes32, subject_id  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402
from oracle.batch import build_reports, score_subjects  # noqa: E402
from oracle.report import ScoreReport, order_signatures, report_digest, sign_report  # noqa: E402


def _promote_role_cards(client: ChainClient, committee: Any, cards: dict[str, Any]) -> bytes:
    """Registers and promotes each card as its role's champion (one committee member: threshold 1); returns the
    champion set hash the reports then name."""
    from creditshare.bindings.model_registry import ModelRegistry, SubjectRole

    registry = ModelRegistry(client)
    for role, card in cards.items():
        model_hash = parse_bytes32(card.model_hash)
        target = SubjectRole.parse(role)
        registry.register(committee, model_hash, 1, 7000, 3000, parse_bytes32(card.file_digest), target)
        registry.approve_promotion_as(committee, model_hash, target)
    found = registry.champion_set()
    assert found is not None
    return found


def _pipeline(
    client: ChainClient, oracles: list[Any], scored: list[Any], epoch: int, model_hash: bytes, now: int
) -> list[Any]:
    """The project's path from scores to receipts: batches of 500, 3 of 4 signatures each, pipelined."""
    settings = client.settings
    oracle = client.contract("ScoreOracle")
    chain_id, address = settings.network.chain_id, str(oracle.address)
    reports = build_reports(scored, epoch=epoch, model_hash=model_hash, as_of=now - 60, expiry=now + 3600)
    calls = []
    for report, entries in reports:
        digest = report_digest(report, chain_id, address)
        sigs = order_signatures(digest, [sign_report(report, o, chain_id, address) for o in oracles[:3]])
        calls.append(encode_call(oracle, "submit", report.as_tuple(), [e.as_tuple() for e in entries], sigs))
    return client.transact_many(calls, oracles[0], "score batches", scale_gas=True)


def run(quick: bool = False) -> list[dict[str, Any]]:
    from scoring.factory import train_scorecard, training_set
    from scoring.synthetic import generate_market, role_market

    count = 2_000 if quick else 10_000
    naive_count = 200 if quick else 500
    with tempfile.TemporaryDirectory(prefix="cs-oracle-bench-") as tmp:
        os.environ.update(
            {
                "CREDITSHARE_DATA_DIR": str(Path(tmp) / "data"),
                "CREDITSHARE_NETWORK": "local",
                "CREDITSHARE_LOCAL_PORT": str(free_port()),
            }
        )
        settings = load_settings()
        localchain.start(settings, state_interval=None)
        try:
            client = ChainClient(settings)
            committee = Account.create()
            oracles = [Account.create() for _ in range(4)]
            deploy_all(client, committee, [(committee.address, subject_id("uscc:BENCHCOMMITTEE"))], 1)
            gov = Consortium(client)
            for i, o in enumerate(oracles):
                gov.propose(committee, ProposalKind.ADMIT, o.address, subject_id(f"uscc:BENCHORACLE{i}"), ("ORACLE",))
            # about three quarters of a market's shippers have history by its as-of date
            market = generate_market(n_subjects=count * 14 // 10, seed=3)
            X, y = training_set(market.settlements, market.as_of)
            card = train_scorecard(X, y, name="bench", version=1).card
            registry = client.contract("ModelRegistry")
            client.transact(
                encode_call(
                    registry, "register", parse_bytes32(card.model_hash), 1, 7000, 3000, parse_bytes32(card.file_digest)
                ),
                committee,
                "register",
            )
            client.transact(
                encode_call(registry, "approvePromotion", parse_bytes32(card.model_hash)), committee, "promote"
            )
            oracle = client.contract("ScoreOracle")
            chain_id, address = settings.network.chain_id, str(oracle.address)
            features = market.features()
            model_hash = parse_bytes32(card.model_hash)
            now = client.block_timestamp()

            # naive: one subject per transaction, the fewest signatures governance allows (k = 2), waiting for
            # each receipt
            gov.propose(committee, ProposalKind.SET_PARAMETER, key=parameter_key("oracle.threshold"), value=2)
            naive_features = features.sort_index().iloc[:naive_count]
            started = time.perf_counter()
            naive_gas = 0
            for scored in score_subjects(card, naive_features):
                entry = scored.entry()
                report = ScoreReport.build(
                    epoch=1, model_hash=model_hash, as_of=now - 60, expiry=now + 3600, entries=[entry]
                )
                sigs = order_signatures(
                    report_digest(report, chain_id, address),
                    [sign_report(report, o, chain_id, address) for o in oracles[:2]],
                )
                receipt = client.transact(
                    encode_call(oracle, "submit", report.as_tuple(), [entry.as_tuple()], sigs),
                    oracles[0],
                    "naive submit",
                )
                naive_gas += int(receipt["gasUsed"])
            naive_s = time.perf_counter() - started

            # project: batches of 500, 3 of 4 signatures each, pipelined
            gov.propose(committee, ProposalKind.SET_PARAMETER, key=parameter_key("oracle.threshold"), value=3)
            project_features = features.sort_index().iloc[naive_count : naive_count + count]
            started = time.perf_counter()
            receipts = _pipeline(client, oracles, score_subjects(card, project_features), 1, model_hash, now)
            project_s = time.perf_counter() - started
            project_n = len(project_features)
            project_gas = sum(int(r["gasUsed"]) for r in receipts)

            # every role in one report: the same number of subjects, a fifth carriers and a tenth platforms
            # (the role market's populations), the rest shippers of another draw: subjects never scored, so that
            # every entry writes fresh storage, as in the shipper-only run (a rescored subject's entry costs less gas)
            role_n = {"carrier": count // 5, "platform": count // 10}
            role_cards, role_features = {}, {}
            for role in role_n:
                X_r, y_r, _ = role_market(role, max(1000, 2 * count), seed=3)
                role_cards[role] = train_scorecard(X_r, y_r, name=f"bench-{role}", version=1).card.with_role(role)
                role_features[role] = X_r.sort_index().iloc[: role_n[role]]
            champion_set = _promote_role_cards(client, committee, role_cards)
            shipper_n = count - sum(len(f) for f in role_features.values())
            rest = generate_market(n_subjects=count * 14 // 10, seed=4).features().sort_index().iloc[:shipper_n]
            mixed_n = len(rest) + sum(len(f) for f in role_features.values())
            started = time.perf_counter()
            mixed = score_subjects(card, rest)
            for role, f in role_features.items():
                mixed += score_subjects(role_cards[role], f)
            mixed.sort(key=lambda x: x.subject)
            receipts = _pipeline(client, oracles, mixed, 2, champion_set, client.block_timestamp())
            roles_s = time.perf_counter() - started
            roles_gas = sum(int(r["gasUsed"]) for r in receipts)
            mix = {"shipper": len(rest), **{r: len(f) for r, f in role_features.items()}}
        finally:
            localchain.stop(settings)
    project_rate, naive_rate = project_n / project_s, naive_count / naive_s
    roles_rate = mixed_n / roles_s
    return [
        {
            "name": "oracle_throughput",
            "unit": "scores/s",
            "value": round(project_rate, 1),
            "baseline": "naive oracle: one tx per subject, two signatures (k = 2)",
            "baseline_value": round(naive_rate, 1),
            "ratio": round(project_rate / naive_rate, 2),
            "n": project_n,
            "baseline_n": naive_count,
        },
        {
            "name": "score_gas",
            "unit": "gas/score",
            "value": project_gas // project_n,
            "baseline": "naive oracle: one tx per subject, two signatures (k = 2)",
            "baseline_value": naive_gas // naive_count,
            "ratio": round((project_gas / project_n) / (naive_gas / naive_count), 3),
        },
        {
            "name": "oracle_throughput_roles",
            "unit": "scores/s",
            "value": round(roles_rate, 1),
            "baseline": "shipper-only reports of the same run (oracle_throughput)",
            "baseline_value": round(project_rate, 1),
            "ratio": round(roles_rate / project_rate, 2),
            "n": mixed_n,
            "roles": mix,
            "gas_per_score": roles_gas // mixed_n,
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))
