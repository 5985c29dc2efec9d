"""`creditshare demo`: a year of a freight market end to end on the persistent local chain.

Every step that a member would run is the real `creditshare` command in a
subprocess, printed before it runs, so the output doubles as a walk-through.
Where one step repeats for a hundred shippers, the first shipper runs the
command and the others run the same library calls in this process (a command
costs about two seconds of Python start-up; the calls and transactions are the
same). Idempotent: a second run reuses the keys, the deployment, the members
and the market, and sends only what is missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import secrets
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from creditshare.bindings.consortium import Consortium, ProposalKind, parameter_key
from creditshare.bindings.settlement_ledger import SettlementLedger, Status
from creditshare.core import localchain
from creditshare.core.chain import ChainClient
from creditshare.core.config import Settings
from creditshare.core.errors import CreditShareError
from creditshare.core.ids import settlement_id, subject_id, to_hex
from creditshare.core.keys import load_account
from creditshare.core.localchain import free_ports
from creditshare.core.roles import NAMES as ROLE_NAMES
from creditshare.demo import freight, replay
from creditshare.demo.market import PLATFORMS, DemoMarket, build_market, carrier_org, keystore_name, shipper_org
from creditshare.domain import evidence
from creditshare.domain.settlements import (
    InvalidSettlementFile,
    parse_csv,
    plan_lifecycle,
    store_documents,
    write_csv,
)
from oracle import scores
from oracle.provenance import accepted_reports
from scoring.model_card import TIERS, ModelCard

console = Console()

LENDERS = [f"uscc:DEMOBANK{i}" for i in range(1, 4)]
COMMITTEE = [f"uscc:DEMOCOMM{i}" for i in range(1, 4)]
ORACLES = [f"uscc:DEMOORACLE{i}" for i in range(1, 5)]
MAINTAINERS = [f"uscc:DEMOLIST{i}" for i in range(1, 3)]
ORACLE_THRESHOLD = 3
# the oracles' round window on a real (Clique) network, in blocks; 1 on Anvil, which mines only on demand
ROUND_BLOCKS_NETWORK = 10
# demo keystores use a light scrypt cost (N=2^12, as geth's --lightkdf) so that ~620 of them are made and
# unlocked in seconds; `creditshare keys new` defaults to 2^18
DEMO_SCRYPT_N = "4096"
DISPUTE_REASON = "shipper in distress / amount contested"
# the demo's chain starts this long before today, so that the year before today is replayed in chain time
GENESIS_DAYS_BACK = 372
# the population the demo's cards are trained on (`model train --population`, recorded in the card's training
# entry): every subject with history, those already in default included, as the oracles score them
TRAINING_POPULATION = "all"
# the synthetic draws the demo's cards are trained on: shippers of the freight-demo market, then a role market
# of that profile for carriers and platforms (scoring.synthetic.role_market)
SHIPPER_TRAINING_DRAW = ("--synthetic", "2500", "--market", "freight-demo", "--seed", "1")
ROLE_TRAINING_DRAW = ("--synthetic", "600", "--market", "freight-demo", "--seed", "1")


class Runner:
    """Runs `creditshare` commands with the demo's data folder, network and password file."""

    def __init__(self, settings: Settings) -> None:
        self.exe = str(Path(sys.executable).parent / "creditshare")
        self.password_file = settings.data_dir / "demo-password"
        if not self.password_file.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        self.env = {
            **os.environ,
            "CREDITSHARE_NETWORK": "consortium" if settings.network.name == "consortium" else "local",
            "CREDITSHARE_DATA_DIR": str(settings.data_dir),
            "CREDITSHARE_PASSWORD_FILE": str(self.password_file),
            "CREDITSHARE_SCRYPT_N": DEMO_SCRYPT_N,
        }
        for name in ("CREDITSHARE_PASSWORD", "CREDITSHARE_PRIVATE_KEY", "CREDITSHARE_ACCOUNT"):
            self.env.pop(name, None)
        if settings.network.name == "consortium":  # `make demo-network`: the geth network in the data folder
            self.env["CREDITSHARE_RPC_URL"] = ""

    def __call__(self, *args: str, show: bool = True, check: bool = True, json_out: bool = False) -> Any:
        argv = (["--json"] if json_out else []) + list(args)
        if show:
            console.print(f"[dim]$ creditshare {shlex.join(argv)}[/]")
        quiet = json_out or not show
        done = subprocess.run(
            [self.exe, *argv],
            env=self.env,
            text=True,
            stdout=subprocess.PIPE if quiet else None,
            stderr=None if show else subprocess.PIPE,
        )
        if done.returncode != 0 and not show:
            console.print(done.stderr, end="", highlight=False)
        if check and done.returncode != 0:
            raise CreditShareError(f"`creditshare {shlex.join(argv)}` failed with exit code {done.returncode}")
        if json_out:  # a command may print its JSON and exit non-zero (`model monitor`: 4 when drifted)
            try:
                return json.loads(done.stdout)
            except ValueError:
                return None
        return done.returncode


class Demo:
    def __init__(self, settings: Settings, shippers: int, carriers: int, seed: int) -> None:
        self.settings = settings
        self.cs = Runner(settings)
        self.folder = settings.data_dir / "demo"
        self.today = dt.datetime.now(dt.UTC).date()
        self.n_shippers, self.n_carriers, self.seed = shippers, carriers, seed
        self.shippers = [shipper_org(i) for i in range(1, shippers + 1)]
        self.carriers = [carrier_org(i) for i in range(1, carriers + 1)]
        self.gas: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.console = console
        self.role_cards: list[Path] = []

    @property
    def client(self) -> ChainClient:
        return ChainClient(self.settings)

    @property
    def network_label(self) -> str:
        """The network the demo runs on, as the report names it."""
        net = self.settings.network
        if net.name == "consortium":
            where = "IPFS (a Kubo node per member)" if evidence.backend() == "ipfs" else "the data folder"
            return (
                f"a {net.name} network of geth Clique signers (chain id {net.chain_id}, {net.rpc_url}); "
                f"evidence on {where}"
            )
        return f"the {net.name} chain (chain id {net.chain_id})"

    def account(self, org: str) -> Any:
        os.environ["CREDITSHARE_PASSWORD_FILE"] = str(self.cs.password_file)  # in-process signing
        return load_account(self.settings.keystore_dir, keystore_name(org))

    # -- steps ------------------------------------------------------------------------------

    def chain_and_keys(self) -> None:
        cs = self.cs
        if self.settings.network.name == "local":
            console.rule(
                "[bold]1. The local chain (a new one starts a year back: the demo replays the year in chain time)"
            )
            cs("chain", "start", "--genesis", (self.today - dt.timedelta(days=GENESIS_DAYS_BACK)).isoformat())
        else:  # a real network cannot travel in time: the year's actions are sent at its current time
            console.rule(f"[bold]1. The network: {self.network_label}")
            cs("network", "status")
        everyone = COMMITTEE + PLATFORMS + self.shippers + LENDERS + ORACLES + MAINTAINERS + self.carriers
        console.rule(f"[bold]2. Keys: {len(everyone)} encrypted keystores (password in data/demo-password, mode 0600)")
        existing = {k["name"] for k in cs("keys", "list", json_out=True, show=False)}
        missing = [keystore_name(o) for o in everyone if keystore_name(o) not in existing]
        if missing:
            console.print(f"[dim]$ creditshare keys new {' '.join(missing[:3])} … ({len(missing)} names)[/]")
            cs("keys", "new", *missing, show=False)
        console.print(f"{len(everyone)} keystores ready")

    def consortium(self) -> None:
        cs = self.cs
        console.rule("[bold]3. Deploy the consortium (committee of 3, 2 approvals per proposal)")
        committee_args = [a for org in COMMITTEE for a in ("--committee", f"{keystore_name(org)}={org}")]
        cs("deploy", *committee_args, "--threshold", "2", "--account", keystore_name(COMMITTEE[0]))

        console.rule("[bold]4. Admit the members through governance (committee member 1 proposes, member 2 approves)")
        wanted = (
            [(o, "PLATFORM") for o in PLATFORMS]
            + [(o, "SHIPPER") for o in self.shippers]
            + [(o, "LENDER") for o in LENDERS]
            + [(o, "ORACLE") for o in ORACLES]
            + [(o, "MAINTAINER") for o in MAINTAINERS]
            + [(o, "CARRIER") for o in self.carriers]
        )
        path = self.folder / "members.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("member,org,roles\n" + "".join(f"{keystore_name(o)},{o},{r}\n" for o, r in wanted))
        opened = cs(
            "members", "propose", "admit", "--file", str(path), "--account", keystore_name(COMMITTEE[0]), json_out=True
        )
        pending = [str(o["proposal"]) for o in opened if o["proposal"] is not None]
        if pending:
            console.print(
                f"[dim]$ creditshare members approve {' '.join(pending[:3])} … ({len(pending)} ids) "
                f"--account {keystore_name(COMMITTEE[1])}[/]"
            )
            cs("members", "approve", *pending, "--account", keystore_name(COMMITTEE[1]), show=False)
        gov = Consortium(self.client)
        by_role = {r: len(gov.active_members_with_role(r)) for r in ROLE_NAMES}
        console.print("active members by role: " + ", ".join(f"{r} {n}" for r, n in by_role.items()))
        self.counts["members"] = gov.member_count()

    def settlements(self) -> DemoMarket:
        """A year of the market replayed in chain time (creditshare.demo.replay): at each step (the 1st and the
        16th of every month, then the start of today) the chain's clock moves to the step and everything dated
        before it is done, so invoices are confirmed, paid and closed at their own dates."""
        market = build_market(self.folder, self.n_shippers, self.n_carriers, self.seed, self.today)
        as_of = replay.seconds(self.today.isoformat())
        plan = replay.actions(market)
        schedule = replay.steps(min(replay.seconds(r["invoice_date"]) for r in market.all_rows), as_of)
        console.rule(
            f"[bold]5-6. A year of {market.count():,} settlements replayed in chain time ({len(schedule)} steps): "
            "platforms submit from CSV, shippers confirm and declare payments, platforms confirm receipt, mark "
            "overdue and dispute; the committee closes defaults"
        )
        for platform, rows in market.rows.items():
            write_csv(self.folder / f"{keystore_name(platform)}.csv", rows)
        self.csv_rows = {r.reference: r for p in PLATFORMS for r in parse_csv(self.folder / f"{keystore_name(p)}.csv")}
        self.records = {ref: r.settlement for ref, r in self.csv_rows.items()}
        self.row_of = {r["reference"]: r for r in market.all_rows}
        self.market_paid = market.paid
        self.counts["settlements"] = market.count()
        now = localchain.chain_time(self.settings)
        pending = [at for at in schedule if at > now]
        done: set[tuple[str, str]] = set()
        shown: set[str] = set()
        gas: dict[str, list[int]] = {}
        # a chain already past a step cannot go back: what is dated before its clock is done at its current time
        runs: list[int | None] = [*([None] if len(pending) < len(schedule) else []), *pending]
        for at in runs:
            if at is not None:
                localchain.travel_to(self.settings, at)  # refused on anything but a local development chain
            cutoff = at if at is not None else min(localchain.chain_time(self.settings), as_of)
            counts = self._replay_step(plan, cutoff, done, shown, gas)
            line = "; ".join(f"{k} {v:,}" for k, v in counts.items()).replace("; already on", ", already on")
            console.print(f"  {replay.day_of(cutoff)}: {line}", soft_wrap=True)
            sent = sum(v for k, v in counts.items() if k != "already on chain")
            if at is None and sent:
                console.print(
                    f"[yellow]  {sent:,} actions were dated before this chain's clock and were sent at its current "
                    "time, so their payments are dated today: to replay the year in chain time, start from a new "
                    "chain (`creditshare chain stop`, then remove data/local-chain).[/]"
                )
        wall = int(time.time())
        if localchain.chain_time(self.settings) < wall - 60:  # the oracles' leader turns follow the wall clock
            localchain.travel_to(self.settings, wall)
        for phase, name in (("submit", "submit"), ("confirm", "confirm"), ("pay", "pay")):
            if gas.get(phase):
                self.gas[f"{name} settlement"] = sum(gas[phase]) // len(gas[phase])
        return market

    def _replay_step(
        self,
        plan: list[replay.Action],
        cutoff: int,
        done: set[tuple[str, str]],
        shown: set[str],
        gas: dict[str, list[int]],
    ) -> dict[str, int]:
        """Every action dated before `cutoff` not done yet, phase by phase; returns what was done."""
        due = replay.due_by(plan, cutoff, done)
        ledger = SettlementLedger(self.client)
        counts: dict[str, int] = {}
        labels = {
            "submit": "submitted",
            "confirm": "confirmed",
            "pay": "payments declared",
            "confirm-payment": "receipts confirmed",
            "overdue": "overdue",
            "dispute": "disputed",
            "resolve-default": "defaulted",
        }
        for phase in replay.PHASES:
            acts = due[phase]
            sent, already = self._phase(ledger, phase, [a.reference for a in acts], shown, gas) if acts else (0, 0)
            counts[labels[phase]] = sent
            if phase == "submit":
                counts["already on chain"] = already
            done.update((phase, a.reference) for a in acts)
        return counts

    def _actor(self, phase: str, reference: str) -> str:
        who = replay.ACTOR[phase]
        return COMMITTEE[0] if who == "committee" else str(self.row_of[reference][who])

    def _phase(
        self, ledger: SettlementLedger, phase: str, refs: list[str], shown: set[str], gas: dict[str, list[int]]
    ) -> tuple[int, int]:
        """One phase for `refs`: what is not done yet is sent by each actor with its own key (the first actor of
        the demo's first such phase through the `creditshare settlements` command); returns (sent, already)."""
        records = [self.records[r] for r in refs]
        states = ledger.states([r.id for r in records])
        if phase == "submit":
            todo = [i for i, st in enumerate(states) if st.status == Status.NONE]
        else:
            lifecycle = plan_lifecycle({"overdue": "markOverdue"}.get(phase, phase), records, states)
            if lifecycle.errors:
                raise InvalidSettlementFile(Path(f"<{phase}: {len(refs)} settlements>"), lifecycle.errors)
            todo = lifecycle.todo
        groups: dict[str, list[int]] = {}
        for i in todo:
            groups.setdefault(self._actor(phase, refs[i]), []).append(i)
        if not groups:
            return 0, len(refs)
        actors = list(groups)
        if phase not in shown:  # the walk-through: the first actor runs the real command
            shown.add(phase)
            self._phase_cli(
                phase, actors[0], [refs[i] for i in groups[actors[0]]], [states[i] for i in groups[actors[0]]], gas
            )
            actors = actors[1:]

        def one(actor: str) -> None:  # each actor signs with its own key and nonces, on its own client
            idx = groups[actor]
            own = SettlementLedger(self.client)
            chosen = [records[i] for i in idx]
            account = self.account(actor)
            if phase == "submit":  # each waybill goes to the evidence store (folder or IPFS) before its record
                store_documents(
                    self.settings.evidence_dir,
                    self.folder / f"{keystore_name(actor)}.csv",
                    [self.csv_rows[refs[i]] for i in idx],
                )
                receipts = own.submit(chosen, account)
            elif phase == "confirm":
                receipts = own.confirm(chosen, account)
            elif phase == "pay":
                dates = [replay.paid_date(replay.seconds(self.market_paid[refs[i]]), states[i].since) for i in idx]
                receipts = own.pay(chosen, dates, account)
            elif phase == "confirm-payment":
                receipts = own.confirm_payment(chosen, account)
            elif phase == "overdue":
                receipts = own.mark_overdue(chosen, account)
            elif phase == "dispute":
                receipts = own.dispute(chosen, keccak(text=DISPUTE_REASON), account)
            else:
                receipts = own.resolve(chosen, True, account)
            with self.lock:
                self._gas_per_record(gas, phase, receipts, len(chosen))

        if replay.ACTOR[phase] == "shipper":
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(one, actors))
        else:
            for actor in actors:
                one(actor)
        return len(todo), len(refs) - len(todo)

    @staticmethod
    def _gas_per_record(gas: dict[str, list[int]], phase: str, receipts: list[Any], n: int) -> None:
        if receipts and n:
            gas.setdefault(phase, []).append(sum(int(r["gasUsed"]) for r in receipts) // n)

    def _phase_cli(self, phase: str, actor: str, refs: list[str], states: list[Any], gas: dict[str, list[int]]) -> None:
        """The phase for one actor through `creditshare settlements ...`, from a CSV of its rows."""
        name = keystore_name(actor)
        path = self.folder / f"replay-{phase}-{name}.csv"
        rows = [self.row_of[r] for r in refs]
        if phase == "pay":  # the market's paid date, or the block time if the invoice was confirmed after it
            rows = [
                {
                    **row,
                    "paid_date": self.market_paid[row["reference"]]
                    if replay.seconds(self.market_paid[row["reference"]]) >= st.since
                    else "",
                }
                for row, st in zip(rows, states, strict=True)
            ]
        write_csv(path, rows)
        if phase == "submit":
            result = self.cs("settlements", "submit", str(path), "--account", name, json_out=True)
            if result["gas_per_settlement"]:
                gas.setdefault(phase, []).append(int(result["gas_per_settlement"]))
            return
        command = {"overdue": "overdue", "resolve-default": "resolve"}.get(phase, phase)
        extra = {"dispute": ["--reason", DISPUTE_REASON], "resolve-default": ["--defaulted"]}.get(phase, [])
        self.cs("settlements", command, "--file", str(path), *extra, "--account", name)

    def financing(self, market: DemoMarket) -> None:
        cs = self.cs
        console.rule("[bold]7. Financing: a receivable pledged once; a second pledge is refused")
        rows = market.rows[PLATFORMS[0]]
        candidates = [r for r in rows if market.final[r["reference"]] in ("Confirmed", "Financed")]
        if not candidates:
            return
        pledged = to_hex(settlement_id(subject_id(PLATFORMS[0]), candidates[-1]["reference"]))
        info = cs("settlements", "show", pledged, json_out=True, show=False)
        if info["status"] == "Confirmed":
            cs(
                "settlements",
                "pledge",
                pledged,
                "--lender",
                keystore_name(LENDERS[0]),
                "--account",
                keystore_name(PLATFORMS[0]),
            )
        code = cs(
            "settlements",
            "pledge",
            pledged,
            "--lender",
            keystore_name(LENDERS[1]),
            "--account",
            keystore_name(PLATFORMS[0]),
            check=False,
        )
        console.print(f"  second pledge exit code {code} (refused: double financing)")

    def payouts_and_trips(self, market: DemoMarket) -> freight.FreightPlan:
        console.rule(
            "[bold]7b. The second leg: platforms record and pay what they owe carriers (some late, some unpaid, one "
            f"disputed), carriers confirm; {ORACLE_THRESHOLD} oracles check the trip logs (one fabricated, one reused, "
            "one missing)"
        )
        return freight.play(self, market)

    def model(self) -> Path:
        """Freight settlements with default labels have no public source: the scorecard is trained on a bigger
        draw of the same synthetic market (around the same date), then registered and promoted by two votes.

        The training population is the one the demo's oracles score: every shipper with an invoice by the
        training date, those already in default included and labelled bad (`model train --population all`; with
        only the shippers not yet in default, the card's score buckets had no place for the demo's defaulted
        shippers: the demo's report showed PSI 0.289, drifted). Trained by `model train`, as an operator would."""
        cs = self.cs
        console.rule(
            "[bold]8. Model factory: train a scorecard per role (shippers, carriers, platforms), register each, "
            "promote each as its role's champion by committee vote"
        )
        card = self.folder / "card.json"
        trained = self._train_unless_current(card, SHIPPER_TRAINING_DRAW)
        if trained is not None:
            console.print(
                f"  shipper card {card.name}: `model train` on a seeded draw of the freight-demo market (2,500 "
                f"shippers, seed 1, as of {self.today}; population: every shipper with history, defaulted ones "
                f"included): hash {trained['model_hash'][:18]}…, {trained['rows']} shippers ({trained['defaults']} "
                f"in default), holdout AUC {trained['auc']}"
            )
        cs("model", "register", str(card), "--account", keystore_name(COMMITTEE[0]))
        shown = cs("model", "show", json_out=True, show=False)

        if shown["champion"] != ModelCard.load(card).model_hash:
            cs(
                "model",
                "promote",
                str(card),
                "--synthetic",
                "1000",
                "--market",
                "freight-demo",
                "--seed",
                "2",
                "--as-of",
                self.today.isoformat(),
                "--account",
                keystore_name(COMMITTEE[0]),
            )
            cs("model", "promote", str(card), "--skip-drift-check", "--account", keystore_name(COMMITTEE[1]))
        self.role_cards = [self._role_card(role) for role in ("carrier", "platform")]
        cs("model", "show")
        return card

    def _train_unless_current(self, card: Path, draw: Sequence[str]) -> dict[str, Any] | None:
        """`model train *draw` into `card` (the next version), unless the card there was trained on the demo's
        population already; model train's --json result, or None when the card is kept."""
        old = ModelCard.load(card) if card.exists() else None
        if old is not None and old.training.get("population") == TRAINING_POPULATION:
            return None
        trained: dict[str, Any] = self.cs(
            "model",
            "train",
            *draw,
            "--as-of",
            self.today.isoformat(),
            "--population",
            TRAINING_POPULATION,
            "--version",
            str(1 if old is None else old.version + 1),
            "--out",
            str(card),
            json_out=True,
        )
        return trained

    def _role_card(self, role: str) -> Path:
        """A card for carriers or platforms (their settlement and party features: payouts, trips), trained by
        `model train --role` on a role market of the freight-demo profile (scoring.synthetic.role_market: carriers
        whose disputes and implausible trips rise before they fail, platforms that pay late before they default),
        registered and promoted as that role's champion.
        (The PSI check at promotion is the shipper card's: these are promoted with --skip-drift-check.)"""
        cs = self.cs
        card = self.folder / f"card-{role}.json"
        trained = self._train_unless_current(card, ("--role", role, *ROLE_TRAINING_DRAW))
        if trained is not None:
            console.print(
                f"  {role} card {card.name}: hash {trained['model_hash'][:18]}…, {trained['rows']} {role}s "
                f"({trained['defaults']} in default), holdout AUC {trained['auc']}"
            )
        cs("model", "register", str(card), "--account", keystore_name(COMMITTEE[0]), show=role == "carrier")
        shown = cs("model", "show", json_out=True, show=False)
        if shown["champions"].get(role) != ModelCard.load(card).model_hash:
            for i, member in enumerate(COMMITTEE[:2]):
                cs(
                    "model",
                    "promote",
                    str(card),
                    "--skip-drift-check",
                    "--account",
                    keystore_name(member),
                    show=role == "carrier" and i == 0,
                )
        return card

    def oracles(self, card: Path) -> None:
        """The 4 oracle daemons (`oracle run --once`) score every shipper with new events: a rotating leader
        gathers 3 of 4 signatures over its peers' HTTP endpoints, each peer recomputing the batch itself."""
        cs = self.cs
        console.rule(
            f"[bold]9. {len(ORACLES)} oracle daemons: {ORACLE_THRESHOLD} of {len(ORACLES)} sign every party's score "
            "(shippers, carriers and platforms, each with its role's champion)"
        )
        self._parameters({"oracle.threshold": ORACLE_THRESHOLD})
        addresses = {k["name"]: k["address"] for k in cs("keys", "list", json_out=True, show=False)}
        config = self.folder / "oracles.json"
        ports = free_ports(len(ORACLES))
        config.write_text(
            json.dumps(
                {
                    "oracles": [
                        {
                            "id": i,
                            "name": keystore_name(o),
                            "keystore": keystore_name(o),
                            "address": addresses[keystore_name(o)],
                            "host": "127.0.0.1",
                            "port": port,
                        }
                        for i, (o, port) in enumerate(zip(ORACLES, ports, strict=True), start=1)
                    ],
                    "round": {
                        "confirmations": 0,
                        "poll_seconds": 0.5,
                        "leader_timeout_seconds": 60,
                        "report_ttl_seconds": 3600,
                        "batch": 500,
                        "request_timeout_seconds": 180,
                        # on a Clique network a block comes every period, empty or not: with windows of one block
                        # the leader and the round would change with every block (oracle/config.py)
                        "round_blocks": ROUND_BLOCKS_NETWORK if self.settings.network.name == "consortium" else 1,
                    },
                },
                indent=1,
            )
            + "\n"
        )
        procs = []
        for i in range(1, len(ORACLES) + 1):
            argv = [
                "oracle",
                "run",
                "--id",
                str(i),
                "--config",
                str(config),
                "--card",
                str(card),
                *[a for extra in self.role_cards for a in ("--card", str(extra))],
                "--once",
                "--timeout",
                "900",
            ]
            if i == 1:
                console.print(f"[dim]$ creditshare {shlex.join(argv)}   (and oracles 2, 3, 4, each on its own node)[/]")
            procs.append(
                subprocess.Popen(
                    [cs.exe, *argv], env=cs.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
            )
        failed = []
        with _reaped(procs):
            for i, proc in enumerate(procs, start=1):
                out, _ = proc.communicate(timeout=1200)
                if proc.returncode != 0:
                    failed.append(f"oracle {i}: {out.strip()[-500:]}")
                elif i == 1:
                    console.print("\n".join("  " + line for line in out.strip().splitlines()[-4:]), highlight=False)
        if failed:
            raise CreditShareError("oracle daemons failed:\n" + "\n".join(failed))
        cs("oracle", "status", "--config", str(config))
        # without --card: each score's card is fetched from the evidence store by the registry's digest
        cs("score", "show", *self.shippers[:2], self.carriers[0], PLATFORMS[0])
        self._score_gas()

    def _score_gas(self) -> None:
        """Gas per committed score, from the receipts of the reports that hold the shippers' latest scores."""
        client = self.client
        stored = scores.scores(client, [subject_id(s) for s in self.shippers])
        per_report = Counter(item["report"] for item in stored if item.get("scored"))
        accepted = accepted_reports(client)
        gas = entries = 0
        for report_id, n in per_report.items():
            if report_id in accepted:
                gas += int(client.wait_receipt(bytes.fromhex(accepted[report_id].tx[2:]))["gasUsed"])
                entries += n
        if entries:
            self.gas["score (per subject, 3 signatures per batch)"] = gas // entries

    def mpc(self, market: DemoMarket) -> None:
        """Each platform inputs its own per-carrier exposure; only the sums (and the worst days past due) come out."""
        cs = self.cs
        console.rule("[bold]10. Privacy computing: 3 platforms sum carriers' exposure by MPC, recorded on chain")
        ledger = SettlementLedger(self.client)
        carriers = sorted({to_hex(subject_id(r["carrier"])) for r in market.all_rows})
        addresses = {k["name"]: k["address"] for k in cs("keys", "list", json_out=True, show=False)}
        ports = free_ports(len(PLATFORMS))
        job = self.folder / "mpc-job.json"
        job.write_text(
            json.dumps(
                {
                    "job_id": f"demo-carrier-exposure-{self.today.isoformat()}",
                    "computation": "cross_platform_features",
                    "purpose": "cross-platform carrier exposure for the nightly score batch",
                    "parties": [
                        {
                            "name": keystore_name(p),
                            "host": "127.0.0.1",
                            "port": port,
                            "member": addresses[keystore_name(p)],
                        }
                        for p, port in zip(PLATFORMS, ports, strict=True)
                    ],
                    "subjects": carriers,
                    "timeouts": {"connect_s": 60, "job_s": 600},
                },
                indent=2,
            )
        )
        today = self.today
        procs = []
        for pid, platform in enumerate(PLATFORMS):
            rows = market.rows[platform]
            states = ledger.states([settlement_id(subject_id(platform), r["reference"]) for r in rows])
            exposure: dict[str, list[int]] = {}
            for r, st in zip(rows, states, strict=True):
                v = exposure.setdefault(to_hex(subject_id(r["carrier"])), [0, 0, 0, 1, 0])
                due = dt.date.fromisoformat(r["due_date"])
                if st.status != Status.PAID:
                    v[0] += r["amount_fen"]
                if st.status in (Status.OVERDUE, Status.DEFAULTED):
                    v[1] += r["amount_fen"]
                    v[4] = max(v[4], (today - due).days)
                v[2] += st.status == Status.DEFAULTED
            inputs = self.folder / f"mpc-inputs-{pid}.json"
            inputs.write_text(json.dumps({"subjects": exposure}))
            out = self.folder / f"mpc-out-{pid}.json"
            argv = [
                "--json",
                "mpc",
                "party",
                "--config",
                str(job),
                "--id",
                str(pid),
                "--inputs",
                str(inputs),
                "--output",
                str(out),
            ]
            if pid == 0:
                console.print(
                    f"[dim]$ creditshare {shlex.join(argv[1:])}   (and parties 1, 2 on the other platforms)[/]"
                )
            procs.append(
                subprocess.Popen([cs.exe, *argv], env=cs.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        with _reaped(procs):
            for proc in procs:
                _, err = proc.communicate(timeout=900)
                if proc.returncode != 0:
                    raise CreditShareError(f"an MPC party failed: {err.strip()}")
        for pid, platform in enumerate(PLATFORMS):
            cs(
                "mpc",
                "record",
                str(self.folder / f"mpc-out-{pid}.json"),
                "--account",
                keystore_name(platform),
                show=pid == 0,
            )
        revealed = json.loads((self.folder / "mpc-out-0.json").read_text())["revealed"]
        top = sorted(revealed["subjects"].items(), key=lambda kv: -kv[1][0])[:5]
        table = Table(title=f"Cross-platform exposure (revealed sums), top 5 of {len(carriers)} carriers")
        for name in ("carrier", *revealed["features"]):
            table.add_column(name)
        for subject, values in top:
            table.add_row(subject[:14] + "…", *[f"{v:,}" for v in values])
        console.print(table)

    def _parameters(self, wanted: dict[str, int]) -> None:
        """Governed parameters: committee member 1 proposes, member 2 approves (the first through the CLI)."""
        gov = Consortium(self.client)
        first = True
        for name, value in wanted.items():
            if gov.parameter(name) == value:
                continue
            if first:
                proposal = self.cs(
                    "members",
                    "propose",
                    "set-parameter",
                    "--parameter",
                    name,
                    "--value",
                    str(value),
                    "--account",
                    keystore_name(COMMITTEE[0]),
                    json_out=True,
                )
                self.cs("members", "approve", str(proposal["id"]), "--account", keystore_name(COMMITTEE[1]))
                first = False
            else:
                pid = gov.propose(
                    self.account(COMMITTEE[0]), ProposalKind.SET_PARAMETER, key=parameter_key(name), value=value
                )
                gov.approve(self.account(COMMITTEE[1]), pid)
        console.print("  " + ", ".join(f"{k} = {gov.parameter(k):,}" for k in wanted))

    def credit_list(self, market: DemoMarket) -> None:
        cs = self.cs
        console.rule(
            "[bold]11. Shared credit list: maintainers post bad payers; with the subject's consent and a logged "
            "list read, a lender pays to view; the fee goes to the maintainers"
        )
        self._parameters(
            {
                "creditList.entryTtl": 180 * 86_400,
                "creditList.minStake": 50_000,
                "creditList.contestDeposit": 20_000,
                "creditList.viewFee": 1_000,
                "creditList.reciprocityWindow": 90 * 86_400,
                "creditList.reciprocityDiscountBps": 5_000,
            }
        )
        for org, amount in ((MAINTAINERS[0], 1_000_000), (MAINTAINERS[1], 1_000_000), (LENDERS[0], 100_000)):
            cs(
                "token",
                "mint",
                keystore_name(org),
                str(amount),
                "--top-up",
                "--account",
                keystore_name(COMMITTEE[0]),
                show=org == MAINTAINERS[0],
            )
        # the worst payers by defaulted amount (by overdue amount in a market without defaults)
        defaulted: dict[str, list[dict[str, Any]]] = {}
        for r in market.select("Defaulted") or market.select("Overdue"):
            defaulted.setdefault(r["shipper"], []).append(r)
        worst = sorted(defaulted, key=lambda s: -sum(r["amount_fen"] for r in defaulted[s]))[:4]
        if not worst:
            console.print("  no defaults or overdue invoices in this market: nothing to post")
            return
        details = self.folder / "list-details"
        details.mkdir(exist_ok=True)
        for m, maintainer in enumerate(MAINTAINERS):
            lines = ["subject,category,amount_fen,period_from,period_to,settlements,evidence,details,stake_fen"]
            for shipper in worst[m::2] if len(worst) > 1 else worst:
                rows = defaulted[shipper]
                detail = details / f"{keystore_name(shipper)}-{m}.json"
                detail.write_text(
                    json.dumps(
                        {
                            "shipper": shipper,
                            "invoices": [r["reference"] for r in rows[:20]],
                            "unpaid_fen": sum(r["amount_fen"] for r in rows),
                            "note": "unpaid invoices past due; see the settlement ids",
                        },
                        indent=1,
                    )
                )
                period = (min(r["invoice_date"] for r in rows), max(r["due_date"] for r in rows))
                ids = ";".join(to_hex(settlement_id(subject_id(r["platform"]), r["reference"])) for r in rows[:5])
                lines.append(
                    f"{shipper},payment-default,{sum(r['amount_fen'] for r in rows)},{period[0]},"
                    f"{min(period[1], self.today.isoformat())},{ids},evidence/{rows[0]['reference']}.txt,"
                    f"list-details/{detail.name},50000"
                )
            path = self.folder / f"list-{keystore_name(maintainer)}.csv"
            path.write_text("\n".join(lines) + "\n")
            cs("list", "post", str(path), "--account", keystore_name(maintainer), show=m == 0)
        subject = worst[0]
        lender = keystore_name(LENDERS[0])
        # sealed list details are released only to a viewer with a consented, logged, list-scope read: the
        # subject consents first, the lender records its access, then it pays to view
        self._grant_consent(subject, lender)
        cs("consent", "access", subject, "--purpose", "receivable-financing", "--scope", "list", "--account", lender)
        viewed = cs("list", "view", subject, "--account", lender, json_out=True)
        console.print(
            f"  {keystore_name(LENDERS[0])} viewed {subject}: entries {viewed.get('entry_ids')}, "
            f"fee {viewed.get('fee_fen')} fen"
        )
        if viewed.get("gas_used"):
            self.gas["credit list view (paid)"] = int(viewed["gas_used"])
        for maintainer in MAINTAINERS:
            cs("list", "release", "--account", keystore_name(maintainer), show=maintainer == MAINTAINERS[0])
        entry_ids = viewed.get("entry_ids") or [
            e["id"] for e in cs("list", "show", subject, json_out=True, show=False).get("entries", [])
        ]
        if entry_ids:
            cs("list", "decrypt", str(entry_ids[0]), "--account", keystore_name(LENDERS[0]))
        cs("list", "show", subject)
        cs("list", "withdraw", "--account", keystore_name(MAINTAINERS[0]))

    def _grant_consent(self, subject: str, lender: str, show: bool = True) -> None:
        """`subject` grants `lender` 30 days of score and list reads for receivable financing."""
        self.cs(
            "consent",
            "grant",
            "--lender",
            lender,
            "--purpose",
            "receivable-financing",
            "--scope",
            "score,list",
            "--days",
            "30",
            "--account",
            keystore_name(subject),
            show=show,
        )

    def consents(self) -> None:
        cs = self.cs
        console.rule(
            "[bold]12. Data bus: shippers grant a lender consent; the lender reads scores through it; "
            "every read is logged"
        )
        lender = keystore_name(LENDERS[0])
        granting = self.shippers[:5]
        for i, shipper in enumerate(granting):
            self._grant_consent(shipper, lender, show=i == 0)
        cs(
            "consent",
            "access",
            *granting,
            "--purpose",
            "receivable-financing",
            "--scope",
            "score,list",
            "--account",
            lender,
        )
        code = cs(
            "consent",
            "access",
            self.shippers[-1],
            "--purpose",
            "receivable-financing",
            "--account",
            lender,
            check=False,
            show=True,
        )
        console.print(f"  a read without consent: exit code {code} (refused, nothing logged)")
        cs("audit", self.shippers[0], "--as", keystore_name(self.shippers[0]))

    def report(self, card: Path) -> None:
        cs = self.cs
        console.rule("[bold]13. The lender's view: one subject in the terminal, everything in an HTML report")
        (self.folder / "gas.json").write_text(json.dumps(self.gas, indent=1) + "\n")
        cs("report", self.shippers[0], "--card", str(card))
        out = self.folder / "report"
        cs(
            "report",
            "--html",
            str(out),
            "--card",
            str(card),
            "--synthetic",
            "1000",
            "--seed",
            "3",
            "--market",
            "freight-demo",
            "--as-of",
            self.today.isoformat(),
            "--gas",
            str(self.folder / "gas.json"),
        )
        if self.settings.network.name != "local":  # the report names the network it was read from
            page = out / "index.html"
            banner = f'<p class="network"><strong>Network:</strong> {html.escape(self.network_label)}</p>'
            page.write_text(page.read_text(encoding="utf-8").replace("<body>", f"<body>{banner}", 1), encoding="utf-8")
        console.print(f"  open {out / 'index.html'}")

    def summary(self, market: DemoMarket, card: Path, trips: freight.FreightPlan) -> None:
        console.rule("[bold]Summary")
        ledger = SettlementLedger(self.client)
        ids = [settlement_id(subject_id(r["platform"]), r["reference"]) for r in market.all_rows]
        counts = Counter(s.status.label for s in ledger.states(ids))
        table = Table(title="Settlements on chain by status")
        table.add_column("status")
        table.add_column("count", justify="right")
        for label, n in sorted(counts.items()):
            table.add_row(label, f"{n:,}")
        console.print(table)
        self._tiers(market, ledger)
        self._parties()
        freight.summary(self, trips)
        gas = Table(title="Gas per operation")
        gas.add_column("operation")
        gas.add_column("gas", justify="right")
        for name, used in self.gas.items():
            gas.add_row(name, f"{used:,}")
        console.print(gas)
        self._drift(card)
        (self.folder / "gas.json").write_text(json.dumps(self.gas, indent=1) + "\n")

    def _drift(self, card: Path) -> None:
        """PSI of the champion on the population it scores here (the chain's shippers as of today), as
        `creditshare model monitor` and the HTML report's drift plot compute it."""
        drift = self.cs(
            "model",
            "monitor",
            str(card),
            "--settlements",
            "chain",
            "--as-of",
            self.today.isoformat(),
            json_out=True,
            check=False,
        )
        if not drift:
            console.print("[yellow]  drift: `creditshare model monitor` gave no figure[/]")
            return
        self.counts["psi"] = drift["psi"]
        console.print(
            f"Champion drift on the {drift['n']} shippers it scores here: PSI {drift['psi']:.3f} ({drift['status']}; "
            f"watch from {drift['thresholds']['watch']}, drifted from {drift['thresholds']['drift']})"
        )

    def _parties(self) -> None:
        """Every party of the chain with a verified score on chain: shippers, carriers and platforms by tier."""
        table = Table(title="Scores on chain by role and tier (every party of the chain)")
        for c in ("role", "parties", "scored", *TIERS):
            table.add_column(c, justify="right")
        for role, orgs in (("shipper", self.shippers), ("carrier", self.carriers), ("platform", PLATFORMS)):
            stored = scores.scores(self.client, [subject_id(o) for o in orgs])
            tiers = Counter(i["tier"] for i in stored if i.get("scored"))
            self.counts[f"{role}s scored"] = sum(tiers.values())
            table.add_row(role, str(len(orgs)), str(sum(tiers.values())), *(str(tiers.get(t, 0)) for t in TIERS))
        console.print(table)

    def _tiers(self, market: DemoMarket, ledger: SettlementLedger) -> None:
        subjects = [subject_id(s) for s in self.shippers]
        stored = scores.scores(self.client, subjects)
        defaulted = {r["shipper"] for r in market.all_rows if market.final[r["reference"]] == "Defaulted"}
        by_tier: dict[str, list[bool]] = {}
        for org, item in zip(self.shippers, stored, strict=True):
            if item.get("scored"):
                by_tier.setdefault(item["tier"], []).append(org in defaulted)
        table = Table(title="Shippers by tier (scores on chain) and the share that defaulted")
        for c in ("tier", "shippers", "defaulted", "default rate"):
            table.add_column(c, justify="right")
        for tier in TIERS:
            flags = by_tier.get(tier, [])
            rate = f"{100 * sum(flags) / len(flags):.0f}%" if flags else "-"
            table.add_row(tier, str(len(flags)), str(sum(flags)), rate)
        console.print(table)


@contextlib.contextmanager
def _reaped(procs: list[subprocess.Popen[str]]) -> Any:
    """On the way out (a failure or a timeout included), no started process is left running."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def run_demo(settings: Settings, shippers: int = 100, carriers: int = 500, seed: int = 7) -> None:
    demo = Demo(settings, shippers, carriers, seed)
    timings: dict[str, float] = {}

    def step(name: str, fn: Any, *args: Any) -> Any:
        started = time.monotonic()
        result = fn(*args)
        timings[name] = time.monotonic() - started
        console.print(f"[dim]  ({name}: {timings[name]:.0f} s)[/]")
        return result

    step("chain and keys", demo.chain_and_keys)
    step("consortium", demo.consortium)
    market = step("settlements", demo.settlements)
    step("financing", demo.financing, market)
    played = step("payouts and trips", demo.payouts_and_trips, market)
    card = step("model", demo.model)
    step("oracles", demo.oracles, card)
    step("mpc", demo.mpc, market)
    step("credit list", demo.credit_list, market)
    step("consents", demo.consents)
    step("summary", demo.summary, market, card, played)
    step("report", demo.report, card)
    (demo.folder / "timings.json").write_text(json.dumps({k: round(v, 1) for k, v in timings.items()}, indent=1) + "\n")
    console.print(
        f"demo done in {time.monotonic() - demo.started:.0f} s. The chain keeps running: try "
        "`creditshare report uscc:DEMOSHIP001` or `creditshare settlements history uscc:DEMOSHIP001` "
        "(signing commands need CREDITSHARE_PASSWORD_FILE=data/demo-password); the HTML report is "
        f"{demo.folder / 'report' / 'index.html'}; "
        + (
            "`creditshare chain stop` ends the chain."
            if settings.network.name == "local"
            else f"`creditshare --data-dir {settings.data_dir} network down` stops the network."
        )
    )
    console.print(
        "Open a lender's console: `make serve` (then http://127.0.0.1:8080/), or "
        f"`CREDITSHARE_PASSWORD_FILE={demo.cs.password_file} creditshare serve --account {keystore_name(LENDERS[0])}`; "
        "its API token is written to the data folder's console/ on first start, the schema is at /api/openapi.json."
    )
