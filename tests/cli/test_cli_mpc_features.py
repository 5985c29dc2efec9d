"""MPC aggregates into the model factory and the oracle, through the real CLI, real party processes and the chain.

A federated_binning job (3 holders' labelled rows) is recorded and turned into a champion card by
`model train-federated`; a cross_platform_features job (3 platforms' books) is recorded and its
xp_* aggregates go into `oracle propose|sign --mpc-output`; the scores on chain equal the plaintext
computation's.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from brownie import web3

from creditshare.bindings.mpc_job_log import job_id_of
from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
from creditshare.core.chain import ChainClient
from creditshare.core.config import Network, Settings
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.domain.settlements import parse_date
from oracle.mpc_features import load_aggregates, merge_aggregates
from privacy.features import OUTPUT_FEATURES
from privacy.holders import cross_platform_frame, platform_inputs
from privacy.record import job_id_bytes32, job_record, output_hash
from scoring.factory import training_set
from scoring.features import build_features
from scoring.federated import FREIGHT_BIN_EDGES, binning_rows
from scoring.model_card import ModelCard
from scoring.synthetic import generate_market
from tests.cli.helpers import row, write_csv
from tests.cli.lender_scenario import admit_oracles
from tests.privacy.privacy_helpers import free_ports, job_config, run_parties, write_json

AS_OF = "2026-03-01"
FEATURES = (
    "shp_ontime_bps",
    "shp_dpd_max",
    "shp_overdue_n",
    "xp_outstanding_fen",
    "xp_overdue_fen",
    "xp_worst_dpd",
    "xp_platform_count",
)
SHIP1, SHIP2, NOBODY = (to_hex(subject_id(f"uscc:{n}")) for n in ("SHIP1", "SHIP2", "NOBODY"))


HOLDERS = ("plat", "ship", "bank")  # the accounts of parties 0, 1, 2 (PLAT1, SHIP1, BANK1)


def run_job(folder: Path, cfg: dict, inputs: dict[int, Path]) -> list[Path]:
    """Each party's output file (every party holds its own copy of the record)."""
    cfg_path = write_json(folder / "job.json", cfg)
    runs = run_parties(folder, {pid: cfg_path for pid in range(3)}, inputs)
    for r in runs.values():
        assert r.returncode == 0, r.stderr
    return [runs[pid].output_path for pid in range(3)]


def record_all(cli, outputs: list[Path], first: int = 0) -> list[str]:  # noqa: ANN001
    """Every holder records or attests the job from its own output file, `first` first."""
    order = [first, *(p for p in range(3) if p != first)]
    return [cli.json("mpc", "record", str(outputs[p]), account=HOLDERS[p])["done"] for p in order]


@pytest.fixture(scope="module")
def world(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mpc-features")
    admit_oracles(cli, 2, 2)
    rows = [
        row(
            f"XP-{i}",
            amount=str(100_000 + 7 * i),
            shipper="uscc:SHIP1" if i % 2 else "uscc:SHIP2",
            invoice=f"2026-01-{5 + i:02d}",
            due="2026-02-04" if i < 4 else "2026-03-20",
        )
        for i in range(8)
    ]
    cli("settlements", "submit", str(write_csv(folder, rows)), account="plat")
    members = {m["org_id"]: m["address"] for m in cli.json("members", "list")}
    holders = [members[to_hex(subject_id(f"uscc:{n}"))] for n in ("PLAT1", "SHIP1", "BANK1")]

    # 1. federated binning over three holders' own labelled rows (synthetic market, xp_* in the clear)
    market = generate_market(n_subjects=1500, seed=5)
    X, y = training_set(market.settlements, market.as_of)
    X = X.join(cross_platform_frame(market.settlements, market.as_of, X.index).set_axis(X.index))
    fed_dir = folder / "federated"
    fed_dir.mkdir()
    inputs = {}
    for pid, part in enumerate(np.array_split(np.arange(len(X)), 3)):
        inputs[pid] = fed_dir / f"rows{pid}.csv"
        with inputs[pid].open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=[*FEATURES, "bad"])
            w.writeheader()
            w.writerows(binning_rows(X.iloc[part], y[part], FEATURES))
    cfg = job_config("federated_binning", bin_edges={f: FREIGHT_BIN_EDGES[f] for f in FEATURES})
    cfg["job_id"] = "federated-binning-2026-03"
    for party, address in zip(cfg["parties"], holders):
        party["member"] = address
    fed_outs = run_job(fed_dir, cfg, inputs)
    fed_out = fed_outs[0]
    assert record_all(cli, fed_outs) == ["recorded", "attested", "attested"]
    card_path = folder / "card.json"
    trained = cli.json("model", "train-federated", str(fed_out), "--out", str(card_path), "--version", "3")
    cli("model", "register", str(card_path), account="c1")
    for c in ("c1", "c2"):
        cli("model", "promote", str(card_path), "--skip-drift-check", account=c)

    # 2. cross-platform features: PLAT1's book is the ledger; two other platforms' books are off chain
    client = ChainClient(Settings(cli.data_dir, Network("development", web3.provider.endpoint_uri, 31337, False, 0)))
    frame = settlement_frame(SettlementLedger(client))
    as_of = parse_date(AS_OF, "as of")
    (plat_book,) = platform_inputs(frame, as_of).values()
    books = [plat_book, {SHIP1: [500_000, 200_000, 1, 1, 45]}, {SHIP2: [90_000, 0, 0, 1, 3], SHIP1: [1, 0, 0, 1, 0]}]
    xp_dir = folder / "xp"
    xp_dir.mkdir()
    cfg = job_config("cross_platform_features", subjects=[SHIP1, SHIP2, NOBODY])
    cfg["job_id"] = "xp-features-2026-03-01"
    for party, address in zip(cfg["parties"], holders):
        party["member"] = address
    xp_outs = run_job(
        xp_dir, cfg, {pid: write_json(xp_dir / f"in{pid}.json", {"subjects": books[pid]}) for pid in range(3)}
    )
    xp_out = xp_outs[0]
    # recorded by one holder, the job does not count yet: the oracle refuses its aggregates
    assert cli.json("mpc", "record", str(xp_outs[1]), account="ship")["done"] == "recorded"
    with pytest.raises(InvalidInput) as partial:
        load_aggregates(client, xp_out)
    assert cli.json("mpc", "record", str(xp_outs[0]), account="plat")["done"] == "attested"
    assert cli.json("mpc", "record", str(xp_outs[2]), account="bank")["done"] == "attested"
    expected = {
        s: [sum(b.get(s, [0] * 5)[k] for b in books) for k in range(4)] + [max(b.get(s, [0] * 5)[4] for b in books)]
        for s in (SHIP1, SHIP2, NOBODY)
    }
    return SimpleNamespace(
        folder=folder,
        card=card_path,
        trained=trained,
        fed_out=fed_out,
        xp_out=xp_out,
        xp_outs=xp_outs,
        cfg=cfg,
        holders=holders,
        books=books,
        partial_refusal=str(partial.value),
        frame=frame,
        as_of=as_of,
        expected=expected,
        client=client,
    )


def tampered(src: Path, dst: Path, change) -> Path:  # noqa: ANN001
    body = json.loads(src.read_text())
    change(body)
    dst.write_text(json.dumps(body))
    return dst


def test_train_federated_checks_the_recorded_job_and_writes_a_card_with_xp_features(world):
    card = ModelCard.load(world.card)
    assert world.trained["chain_check"] == "recorded on chain"
    assert world.trained["model_hash"] == card.model_hash and card.version == 3
    assert any(f.startswith("xp_") for f in card.feature_names)
    assert card.training["mpc_output_hash"] == json.loads(world.fed_out.read_text())["output_hash"]


def test_recorded_mpc_aggregates_become_the_scores_on_chain(cli, world):
    # a report at the latest block (the default epoch), scored as of that block's time
    reports = cli.json(
        "oracle",
        "propose",
        "--card",
        str(world.card),
        "--out-dir",
        str(world.folder / "epoch1"),
        "--mpc-output",
        str(world.xp_out),
    )
    for name in ("o1", "o2"):
        signed = cli.json(
            "oracle", "sign", *reports, "--card", str(world.card), "--mpc-output", str(world.xp_out), account=name
        )
        assert signed[reports[0]] == "signed"
    assert cli.json("oracle", "submit", *reports, account="o1")[reports[0]]["entries"] == 2
    shown = {s["subject"]: s for s in cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2")}
    # the plaintext computation: ledger features as of the report's time + the sums of the three books
    as_of = json.loads(Path(reports[0]).read_text())["report"]["as_of"]
    features = build_features(world.frame, as_of, roles=("shipper",))
    aggregates = {s: dict(zip(OUTPUT_FEATURES, v)) for s, v in world.expected.items()}
    card = ModelCard.load(world.card)
    expected = card.score_frame(merge_aggregates(features, aggregates))
    for subject, score in zip(features.index, expected):
        assert shown[subject]["score"] == int(score)
    assert aggregates[SHIP1]["xp_platform_count"] == 3 and aggregates[SHIP1]["xp_worst_dpd"] >= 45


def test_verified_aggregates_merge_with_zeros_for_subjects_outside_the_job(world):
    aggregates = load_aggregates(world.client, world.xp_out)
    assert {s: list(v.values()) for s, v in aggregates.items()} == world.expected
    assert world.expected[NOBODY] == [0] * 5
    features = build_features(world.frame, world.as_of, roles=("shipper",))
    stranger = "0x" + "cd" * 32
    merged = merge_aggregates(features.reindex([*features.index, stranger]), aggregates)
    assert merged.loc[stranger, list(OUTPUT_FEATURES)].tolist() == [0] * 5
    assert merged.loc[SHIP1, "xp_platform_count"] == 3


def test_an_xp_card_without_mpc_output_is_refused(cli, world):
    done = cli(
        "oracle",
        "propose",
        "--card",
        str(world.card),
        "--out-dir",
        str(world.folder / "epoch2"),
        ok=False,
    )
    assert done.exit_code == 1 and "--mpc-output" in done.stderr


def test_a_tampered_mpc_output_is_refused(cli, world, tmp_path):
    def inflate(body):  # noqa: ANN001, ANN202
        body["revealed"]["subjects"][SHIP1][0] += 1

    bad = tampered(world.xp_out, tmp_path / "xp.json", inflate)
    done = cli(
        "oracle",
        "propose",
        "--card",
        str(world.card),
        "--out-dir",
        str(tmp_path / "r"),
        "--mpc-output",
        str(bad),
        ok=False,
    )
    assert done.exit_code == 1 and "altered" in done.stderr

    def more_bads(body):  # noqa: ANN001, ANN202
        body["revealed"]["bins"]["shp_dpd_max"]["bad"][0] += 5

    bad_fed = tampered(world.fed_out, tmp_path / "fed.json", more_bads)
    done = cli("model", "train-federated", str(bad_fed), "--out", str(tmp_path / "c.json"), ok=False)
    assert done.exit_code == 1 and "altered" in done.stderr and not (tmp_path / "c.json").exists()


def test_an_unrecorded_job_is_refused(cli, world, tmp_path):
    def relabel(body):  # noqa: ANN001, ANN202
        body["job_id"] = "xp-never-recorded"
        body["record"]["labelHash"] = job_id_bytes32("xp-never-recorded")
        # a consistent record of a job nobody recorded: its id follows from the new label and its content
        body["record"]["jobId"] = (
            "0x"
            + job_id_of(
                bytes.fromhex(body["record"]["labelHash"][2:]), bytes.fromhex(body["record"]["digest"][2:])
            ).hex()
        )

    unrecorded = tampered(world.xp_out, tmp_path / "xp.json", relabel)
    done = cli(
        "oracle",
        "sign",
        str(tmp_path / "none.json"),
        "--card",
        str(world.card),
        "--mpc-output",
        str(unrecorded),
        account="o1",
        ok=False,
    )
    assert done.exit_code == 1 and "not recorded on chain" in done.stderr
    fed = tampered(world.fed_out, tmp_path / "fed.json", relabel)
    done = cli("model", "train-federated", str(fed), "--out", str(tmp_path / "c.json"), ok=False)
    assert done.exit_code == 1 and "not recorded on chain" in done.stderr
    offline = cli.json("model", "train-federated", str(fed), "--out", str(tmp_path / "c.json"), "--no-chain-check")
    assert offline["chain_check"] == "skipped (--no-chain-check)"


def test_a_record_whose_id_does_not_match_its_content_is_refused_and_nothing_is_sent(cli, world, tmp_path):
    def repurpose(body):  # noqa: ANN001, ANN202
        body["record"]["purposeHash"] = "0x" + "11" * 32  # other terms under the real id

    bad = tampered(world.xp_out, tmp_path / "xp.json", repurpose)
    done = cli("mpc", "record", str(bad), account="plat", ok=False)
    assert done.exit_code == 1 and "error:" in done.stderr and "altered" in done.stderr


def test_a_job_recorded_by_one_holder_does_not_count_until_every_participant_attests(world):
    """Issue #14 finding 2: the honest job, recorded by one holder only, was refused by the oracle's load."""
    plat, _, bank = world.holders
    assert "is not attested by every participant: 2 of 3" in world.partial_refusal
    assert plat in world.partial_refusal and bank in world.partial_refusal


def test_a_job_invented_by_one_holder_listing_two_others_is_refused_by_the_oracle(cli, world, tmp_path):
    """Issue #14 finding 2: SHIP1's holder takes its real output of the job, invents aggregates (its own
    shipper spotless), rebuilds a consistent record listing PLAT1 and BANK1, who never ran that job, and
    records it. The chain accepts the record, but the oracle's feature load and `oracle sign` refuse it."""
    body = json.loads(world.xp_outs[1].read_text())
    body["revealed"]["subjects"][SHIP1] = [0, 0, 0, 1, 0]
    body["output_hash"] = output_hash(body["revealed"])
    r = body["record"]
    body["record"] = job_record(
        job_id=r["jobLabel"],
        participants=r["participants"],
        purpose=r["purpose"],
        input_commitments=r["inputCommitments"],
        output_hash=body["output_hash"],
        computation=r["computation"],
        config_hash=r["configHash"],
    )
    invented = tmp_path / "invented.json"
    invented.write_text(json.dumps(body))
    done = cli.json("mpc", "record", str(invented), account="ship")
    assert done["done"] == "recorded" and done["job"]["attested_by"] == [world.holders[1]]
    assert done["job_id"] != json.loads(world.xp_out.read_text())["record"]["jobId"]
    with pytest.raises(InvalidInput, match="is not attested by every participant: 2 of 3"):
        load_aggregates(world.client, invented)
    refused = cli(
        "oracle",
        "sign",
        str(tmp_path / "none.json"),
        "--card",
        str(world.card),
        "--mpc-output",
        str(invented),
        account="o1",
        ok=False,
    )
    assert refused.exit_code == 1 and "not attested by every participant" in refused.stderr
    assert "Traceback" not in refused.stderr
    # the honest job still counts, with the real aggregates
    assert load_aggregates(world.client, world.xp_out)[SHIP1]["xp_platform_count"] == 3


def test_a_copy_whose_commitment_differs_from_the_chain_is_refused_and_nothing_is_sent(cli, world, tmp_path):
    """Issue #14 finding 5: a party's copy of the record is compared with the whole record on chain,
    commitments included, before it attests; the oracle compares the same."""

    def swap(body):  # noqa: ANN001, ANN202
        body["record"]["inputCommitments"][1] = "0x" + "11" * 32

    bad = tampered(world.xp_out, tmp_path / "xp.json", swap)
    done = cli("mpc", "record", str(bad), account="plat", ok=False)
    assert done.exit_code == 1 and "differs from this participant's own copy" in done.stderr
    assert f"the input commitment of {world.holders[1]}" in done.stderr and "not attesting" in done.stderr
    with pytest.raises(InvalidInput, match="its job record differs from the one on chain"):
        load_aggregates(world.client, bad)


def test_a_recorder_whose_commitment_differs_from_its_mpc_one_gets_no_attestation(cli, world, tmp_path):
    """Issue #14 finding 5, with real party processes: SHIP1's holder records a fresh job first with a
    commitment other than the one it sent the others over the MPC channel. PLAT1's holder, comparing the
    whole on-chain record with its own copy, refuses to attest, nothing is sent, and the job never counts."""
    cfg = json.loads(json.dumps(world.cfg))
    cfg["job_id"] = "xp-commitment-check"
    cfg["subjects"] = [SHIP1, SHIP2]
    cfg["parties"] = [dict(p, port=port) for p, port in zip(cfg["parties"], free_ports(3))]
    outs = run_job(
        tmp_path,
        cfg,
        {pid: write_json(tmp_path / f"in{pid}.json", {"subjects": {SHIP1: [pid, 0, 0, 1, 0]}}) for pid in range(3)},
    )

    def lie(body):  # noqa: ANN001, ANN202
        body["record"]["inputCommitments"][1] = "0x" + "22" * 32

    lying = tampered(outs[1], tmp_path / "lying.json", lie)
    recorded = cli.json("mpc", "record", str(lying), account="ship")
    assert recorded["done"] == "recorded"
    job_id = recorded["job_id"]
    assert job_id == json.loads(outs[0].read_text())["record"]["jobId"]  # the same terms: the same job
    done = cli("mpc", "record", str(outs[0]), account="plat", ok=False)
    assert done.exit_code == 1 and "not attesting" in done.stderr and "0x" + "22" * 32 in done.stderr
    assert cli.json("mpc", "show", job_id)["attested_by"] == [world.holders[1]]
    with pytest.raises(InvalidInput, match="not attested by every participant"):
        load_aggregates(world.client, outs[0])


def test_model_train_with_xp_adds_the_cross_platform_features(cli, tmp_path):
    out = tmp_path / "xp-card.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "5", "--with-xp", "--out", str(out))
    assert any(f.startswith("xp_") for f in ModelCard.load(out).feature_names)
