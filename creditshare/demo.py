"""`creditshare demo`: the foundation end to end on the persistent local chain.

Every step runs the real `creditshare` command in a subprocess and prints it,
so the output doubles as a walk-through. Idempotent: a second run reuses the
keys, the deployment and the members, and submits only what is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from creditshare.chain import ChainClient
from creditshare.config import Settings
from creditshare.errors import CreditShareError
from creditshare.governance import Governance
from creditshare.ids import settlement_id, subject_id, to_hex
from creditshare.localchain import free_port
from creditshare.settlements import Ledger, Status, write_csv

console = Console()

PLATFORMS = [f"uscc:DEMOPLAT{i}" for i in range(1, 4)]
SHIPPERS = [f"uscc:DEMOSHIP{i:02d}" for i in range(1, 11)]
LENDERS = ["uscc:DEMOBANK1", "uscc:DEMOBANK2"]
COMMITTEE = ["uscc:DEMOCOMM1", "uscc:DEMOCOMM2", "uscc:DEMOCOMM3"]
ORACLES = [f"uscc:DEMOORACLE{i}" for i in range(1, 5)]
ORACLE_THRESHOLD = 3


def keystore_name(org: str) -> str:
    return org.split(":", 1)[1].lower()


class Runner:
    def __init__(self, settings: Settings) -> None:
        self.exe = str(Path(sys.executable).parent / "creditshare")
        password_file = settings.data_dir / "demo-password"
        if not password_file.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
        self.env = {**os.environ, "CREDITSHARE_NETWORK": "local", "CREDITSHARE_DATA_DIR": str(settings.data_dir),
                    "CREDITSHARE_PASSWORD_FILE": str(password_file)}
        self.env.pop("CREDITSHARE_PASSWORD", None)
        self.env.pop("CREDITSHARE_PRIVATE_KEY", None)

    def __call__(self, *args: str, show: bool = True, check: bool = True, json_out: bool = False) -> Any:
        argv = (["--json"] if json_out else []) + list(args)
        if show:
            console.print(f"[dim]$ creditshare {shlex.join(argv)}[/]")
        quiet = json_out or not show
        done = subprocess.run([self.exe, *argv], env=self.env, text=True,
                              stdout=subprocess.PIPE if quiet else None, stderr=None if show else subprocess.PIPE)
        if done.returncode != 0 and not show:
            console.print(done.stderr, end="", highlight=False)
        if check and done.returncode != 0:
            raise CreditShareError(f"`creditshare {shlex.join(argv)}` failed with exit code {done.returncode}")
        if json_out:
            return json.loads(done.stdout) if done.returncode == 0 else None
        return done.returncode


def _market(folder: Path, per_platform: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """A small synthetic freight market: each platform's settlements with evidence files."""
    rng = random.Random(seed)
    start = dt.date(2026, 1, 5)
    files: dict[str, list[dict[str, Any]]] = {}
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    for p, platform in enumerate(PLATFORMS):
        rows = []
        for i in range(per_platform):
            ref = f"{keystore_name(platform).upper()}-2026-{i:05d}"
            invoice = start + dt.timedelta(days=rng.randint(0, 300))
            doc = folder / "evidence" / f"{ref}.txt"
            waybill = f"waybill {ref}\nweight_kg {rng.randint(200, 30000)}\nsigned consignee\n"
            if not doc.exists():  # the same seed draws the same market on every run
                doc.write_text(waybill)
            rows.append({
                "reference": ref,
                "shipper": rng.choice(SHIPPERS),
                "platform": platform,
                "carrier": f"driver:D{rng.randint(1, 400):04d}",
                "amount_fen": rng.randint(20_000, 3_000_000),
                "invoice_date": invoice.isoformat(),
                "due_date": (invoice + dt.timedelta(days=rng.choice([30, 45, 60]))).isoformat(),
                "evidence": f"evidence/{ref}.txt",
            })
        files[platform] = rows
    return files


def run_demo(settings: Settings, per_platform: int = 2000) -> None:
    cs = Runner(settings)
    console.rule("[bold]1. The local chain")
    cs("chain", "start")

    console.rule("[bold]2. Keys (encrypted keystores; the password is in the data folder, mode 0600)")
    existing = {k["name"] for k in cs("keys", "list", json_out=True, show=False)}
    for org in COMMITTEE + PLATFORMS + SHIPPERS + LENDERS + ORACLES:
        if keystore_name(org) not in existing:
            cs("keys", "new", keystore_name(org), show=org == COMMITTEE[0])
    console.print(f"{len(COMMITTEE + PLATFORMS + SHIPPERS + LENDERS + ORACLES)} keystores ready")

    console.rule("[bold]3. Deploy the consortium (committee of 3, 2 approvals per proposal)")
    committee_args = [a for org in COMMITTEE for a in ("--committee", f"{keystore_name(org)}={org}")]
    cs("deploy", *committee_args, "--threshold", "2", "--account", keystore_name(COMMITTEE[0]))

    console.rule("[bold]4. Admit members through governance (propose + approve)")
    members = {m["org_id"] for m in cs("members", "list", json_out=True, show=False)}
    wanted = ([(o, "PLATFORM") for o in PLATFORMS] + [(o, "SHIPPER") for o in SHIPPERS]
              + [(o, "LENDER") for o in LENDERS] + [(o, "ORACLE") for o in ORACLES])
    for i, (org, role) in enumerate(wanted):
        if to_hex(subject_id(org)) in members:
            continue
        show = i == 0
        proposal = cs("members", "propose", "admit", "--member", keystore_name(org), "--org", org, "--role", role,
                      "--account", keystore_name(COMMITTEE[0]), json_out=True, show=show)
        cs("members", "approve", str(proposal["id"]), "--account", keystore_name(COMMITTEE[1]), show=show)
    cs("members", "list")

    console.rule(f"[bold]5. Platforms submit {per_platform * len(PLATFORMS):,} settlements from CSV")
    folder = settings.data_dir / "demo"
    market = _market(folder, per_platform)
    gas: list[int] = []
    for platform, rows in market.items():
        path = folder / f"{keystore_name(platform)}.csv"
        write_csv(path, rows)
        result = cs("settlements", "submit", str(path), "--account", keystore_name(platform), json_out=True)
        console.print(f"  {path.name}: submitted {result['submitted']}, already on chain {result['already_on_chain']},"
                      f" {result['gas_per_settlement']} gas each, {result['seconds']}s")
        if result["gas_per_settlement"]:
            gas.append(result["gas_per_settlement"])

    console.rule("[bold]6. Shippers confirm, pay (most on time, some late), platforms mark overdue, disputes")
    today = dt.date.today()
    rng = random.Random(11)
    by_shipper: dict[str, list[dict[str, Any]]] = {s: [] for s in SHIPPERS}
    for rows in market.values():
        for r in rows:
            by_shipper[r["shipper"]].append(r)
    for n, (shipper, rows) in enumerate(by_shipper.items()):
        show = n == 0
        path = folder / f"{keystore_name(shipper)}-all.csv"
        write_csv(path, rows)
        cs("settlements", "confirm", "--file", str(path), "--account", keystore_name(shipper), show=show)
        paid = []
        for r in rows:
            due = dt.date.fromisoformat(r["due_date"])
            roll = rng.random()
            if due >= today or roll < 0.06:
                continue  # not yet due, or unpaid: overdue below
            late = 0 if roll < 0.8 else rng.randint(1, 40)
            paid_day = min(due + dt.timedelta(days=late - rng.randint(0, 10) if late == 0 else late), today)
            paid_day = max(paid_day, dt.date.fromisoformat(r["invoice_date"]))
            paid.append({**r, "paid_date": paid_day.isoformat()})
        path = folder / f"{keystore_name(shipper)}-paid.csv"
        write_csv(path, paid)
        cs("settlements", "pay", "--file", str(path), "--account", keystore_name(shipper), show=show)
    ledger = Ledger(ChainClient(settings))
    for platform, rows in market.items():
        _mark_overdue(cs, ledger, folder, platform, rows, today)

    console.rule("[bold]7. Financing: a receivable pledged once; a second pledge is refused")
    first = market[PLATFORMS[0]]
    pledged = None
    for r in first:
        if dt.date.fromisoformat(r["due_date"]) >= today:
            pledged = to_hex(settlement_id(subject_id(r["platform"]), r["reference"]))
            break
    if pledged:
        info = cs("settlements", "show", pledged, json_out=True, show=False)
        if info["status"] == "Confirmed":
            cs("settlements", "pledge", pledged, "--lender", keystore_name(LENDERS[0]), "--account",
               keystore_name(PLATFORMS[0]))
        code = cs("settlements", "pledge", pledged, "--lender", keystore_name(LENDERS[1]), "--account",
                  keystore_name(PLATFORMS[0]), check=False)
        console.print(f"  second pledge exit code {code} (refused: double financing)")
        cs("settlements", "show", pledged)

    console.rule("[bold]8. Model factory: train a scorecard, register it, promote it by committee vote")
    card = _model_steps(cs, folder)

    console.rule(f"[bold]8b. {ORACLE_THRESHOLD} of {len(ORACLES)} oracles sign every shipper's score; a lender reads it")
    _oracle_steps(cs, ledger, folder, card, today)

    console.rule("[bold]9. Privacy computing: 3 platforms sum carriers' exposure by MPC, recorded on chain")
    _mpc_steps(cs, ledger, folder, market, today)

    console.rule("[bold]10. Summary")
    _summary(ledger, market, gas)
    console.print("The chain keeps running: try `creditshare settlements history uscc:DEMOSHIP01` "
                  "(with CREDITSHARE_PASSWORD_FILE=data/demo-password for signing commands); "
                  "`creditshare chain stop` ends it.")


def _mark_overdue(cs: Runner, ledger: Ledger, folder: Path, platform: str, rows: list[dict[str, Any]],
                  today: dt.date) -> None:
    """The platform marks its confirmed, unpaid settlements past due as Overdue; a tenth of them go to a
    dispute that the committee closes as Defaulted."""
    ids = [settlement_id(subject_id(platform), r["reference"]) for r in rows]
    states = ledger.states(ids)
    due = [r for r, s in zip(rows, states, strict=True)
           if s.status == Status.CONFIRMED and dt.date.fromisoformat(r["due_date"]) < today]
    if not due:
        return
    name = keystore_name(platform)
    overdue = folder / f"{name}-overdue.csv"
    write_csv(overdue, due)
    cs("settlements", "overdue", "--file", str(overdue), "--account", name, show=False)
    disputed = folder / f"{name}-disputed.csv"
    write_csv(disputed, due[: max(1, len(due) // 10)])
    cs("settlements", "dispute", "--file", str(disputed), "--reason", "amount contested", "--account", name,
       show=False)
    cs("settlements", "resolve", "--file", str(disputed), "--defaulted", "--account", keystore_name(COMMITTEE[0]),
       show=False)


def _model_steps(cs: Runner, folder: Path) -> Path:
    """Freight settlement data with labels has no public source: the scorecard is trained on the seeded
    synthetic market of scoring/, then registered and promoted on chain."""
    card = folder / "card.json"
    trained = cs("model", "train", "--synthetic", "5000", "--seed", "1", "--out", str(card), json_out=True)
    console.print(f"  card {card.name}: hash {trained['model_hash'][:18]}…, holdout AUC {trained['auc']}")
    cs("model", "register", str(card), "--account", keystore_name(COMMITTEE[0]))
    shown = cs("model", "show", json_out=True, show=False)
    if shown["champion"] != trained["model_hash"]:
        cs("model", "promote", str(card), "--synthetic", "5000", "--seed", "2", "--account",
           keystore_name(COMMITTEE[0]))
        cs("model", "promote", str(card), "--skip-drift-check", "--account", keystore_name(COMMITTEE[1]))
    cs("model", "show")
    return card


def _oracle_steps(cs: Runner, ledger: Ledger, folder: Path, card: Path, today: dt.date) -> None:
    key = "oracle.threshold"
    if Governance(ledger.client).parameter(key) != ORACLE_THRESHOLD:
        proposal = cs("members", "propose", "set-parameter", "--parameter", key, "--value", str(ORACLE_THRESHOLD),
                      "--account", keystore_name(COMMITTEE[0]), json_out=True)
        cs("members", "approve", str(proposal["id"]), "--account", keystore_name(COMMITTEE[1]))
    # one epoch per day: a second run on the same day finds the scores stored and skips
    epoch = int(today.strftime("%Y%m%d"))
    out_dir = folder / f"reports-{epoch}"
    stored = cs("score", "show", SHIPPERS[0], json_out=True, show=False)
    if stored and stored[0].get("epoch") == epoch:
        console.print(f"  scores of epoch {epoch} are on chain already")
    else:
        reports = cs("oracle", "propose", "--card", str(card), "--as-of", today.isoformat(), "--epoch", str(epoch),
                     "--out-dir", str(out_dir), json_out=True)
        for i, oracle in enumerate(ORACLES[:ORACLE_THRESHOLD]):
            cs("oracle", "sign", *reports, "--card", str(card), "--account", keystore_name(oracle), show=i == 0)
        cs("oracle", "submit", *reports, "--account", keystore_name(ORACLES[0]))
    cs("score", "show", *SHIPPERS[:5])


def _mpc_steps(cs: Runner, ledger: Ledger, folder: Path, market: dict[str, list[dict[str, Any]]],
               today: dt.date) -> None:
    """Each platform inputs its own per-carrier exposure; only the sums (and the worst days past due) come out."""
    carriers = sorted({to_hex(subject_id(r["carrier"])) for rows in market.values() for r in rows})
    members = {m["org_id"]: m["address"] for m in cs("members", "list", json_out=True, show=False)}
    ports = [free_port() for _ in PLATFORMS]
    job = folder / "mpc-job.json"
    job.write_text(json.dumps({
        "job_id": f"demo-carrier-exposure-{today.isoformat()}", "computation": "cross_platform_features",
        "purpose": "cross-platform carrier exposure for the nightly score batch",
        "parties": [{"name": keystore_name(p), "host": "127.0.0.1", "port": port,
                     "member": members[to_hex(subject_id(p))]} for p, port in zip(PLATFORMS, ports, strict=True)],
        "subjects": carriers, "timeouts": {"connect_s": 60, "job_s": 600},
    }, indent=2))
    procs = []
    for pid, platform in enumerate(PLATFORMS):
        rows = market[platform]
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
        inputs = folder / f"mpc-inputs-{pid}.json"
        inputs.write_text(json.dumps({"subjects": exposure}))
        out = folder / f"mpc-out-{pid}.json"
        argv = ["--json", "mpc", "party", "--config", str(job), "--id", str(pid), "--inputs", str(inputs),
                "--output", str(out)]
        if pid == 0:
            console.print(f"[dim]$ creditshare {shlex.join(argv[1:])}   (and parties 1, 2 on the other platforms)[/]")
        procs.append(subprocess.Popen([cs.exe, *argv], env=cs.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise CreditShareError(f"an MPC party failed: {err.strip()}")
    for pid, platform in enumerate(PLATFORMS):
        cs("mpc", "record", str(folder / f"mpc-out-{pid}.json"), "--account", keystore_name(platform), show=pid == 0)
    revealed = json.loads((folder / "mpc-out-0.json").read_text())["revealed"]
    top = sorted(revealed["subjects"].items(), key=lambda kv: -kv[1][0])[:5]
    table = Table(title=f"Cross-platform exposure (revealed sums), top 5 of {len(carriers)} carriers")
    for name in ("carrier", *revealed["features"]):
        table.add_column(name)
    for subject, values in top:
        table.add_row(subject[:14] + "…", *[f"{v:,}" for v in values])
    console.print(table)


def _summary(ledger: Ledger, market: dict[str, list[dict[str, Any]]], gas: list[int]) -> None:
    ids = [settlement_id(subject_id(r["platform"]), r["reference"]) for rows in market.values() for r in rows]
    counts = Counter(s.status.label for s in ledger.states(ids))
    table = Table(title="Settlements on chain by status")
    table.add_column("status")
    table.add_column("count", justify="right")
    for label, n in sorted(counts.items()):
        table.add_row(label, f"{n:,}")
    console.print(table)
    if gas:
        console.print(f"gas per submitted settlement: {sum(gas) // len(gas):,}")
