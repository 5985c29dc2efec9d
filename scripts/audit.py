#!/usr/bin/env python3
"""Static analysis of contracts/ with slither, checked against a triage file (`make audit`).

1. Writes a solc standard-JSON input listing every .sol file under contracts/, with the
   compiler settings of brownie-config.yaml (optimizer, evm version, remappings).
2. Runs slither on it (`--compile-force-framework solc-json`, the npm solc-js shim that
   `make setup` writes in .stamps/solcx, `--filter-paths node_modules`, `--json`).
3. Compares each finding with audit/slither-triage.json. A finding is keyed by
   detector + contract + function signature + element (the flagged expression, variable
   or the like: never a line number, so edits elsewhere in a file keep an excuse valid).
   An entry with "status": "excused" (the default) and a "reason" excuses the findings
   with its key; an entry with "status": "open" records a known real problem and does
   NOT excuse it. An entry without "element" matches any element of that function. A finding
   that flags several expressions of one function is excused only when each one is.

Exit status: 0 when every finding is excused; 1 when any is not (each one printed with
detector, impact, location and description, and a triage entry to start from); 2 when
slither or the compilation fails. Excuses that match no finding are reported as stale
(a warning). `--report-only` prints the same and exits 0 unless slither itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import NoReturn

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TRIAGE = ROOT / "audit" / "slither-triage.json"
DEFAULT_SLITHER = ROOT / ".venv-audit" / "bin" / "slither"
STATUSES = ("excused", "open")
ENTRY_KEYS = {"detector", "contract", "function", "element", "status", "reason"}
IMPACT_ORDER = {"High": 0, "Medium": 1, "Low": 2, "Informational": 3, "Optimization": 4}


def fail(message: str) -> NoReturn:
    """slither, the compilation or the triage file failed: exit 2 (1 means unexcused findings)."""
    sys.stderr.write(message + "\n")
    raise SystemExit(2)


def compiler_settings() -> dict:
    """The solc settings brownie compiles with (brownie-config.yaml)."""
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())["compiler"]
    solc = config["solc"]
    remappings = []
    for mapping in solc.get("remappings") or []:
        prefix, target = mapping.split("=", 1)
        # brownie maps "@openzeppelin=node_modules/@openzeppelin"; solc needs whole segments
        if not prefix.endswith("/"):
            prefix, target = prefix + "/", target.rstrip("/") + "/"
        remappings.append(f"{prefix}={target}")
    optimizer = solc.get("optimizer") or {"enabled": False, "runs": 200}
    return {
        "version": str(solc["version"]),
        "evmVersion": config["evm_version"],
        "optimizer": {"enabled": bool(optimizer["enabled"]), "runs": int(optimizer["runs"])},
        "remappings": remappings,
    }


def standard_json(contracts_dir: Path, settings: dict) -> dict:
    """A standard-JSON input with every .sol file under `contracts_dir`."""
    sources = sorted(contracts_dir.rglob("*.sol"))
    if not sources:
        fail(f"error: no .sol files under {contracts_dir}")

    def unit_name(path: Path) -> str:
        try:
            return path.relative_to(ROOT).as_posix()
        except ValueError:
            return path.as_posix()

    return {
        "language": "Solidity",
        "sources": {unit_name(p): {"urls": [unit_name(p)]} for p in sources},
        "settings": {
            "remappings": settings["remappings"],
            "optimizer": settings["optimizer"],
            "evmVersion": settings["evmVersion"],
            "outputSelection": {
                "*": {
                    "*": ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode"],
                    "": ["ast"],
                }
            },
        },
    }


def run_slither(slither: Path, solc: Path, input_json: dict, workdir: Path) -> dict:
    """Runs slither on the standard-JSON input; returns its --json output."""
    input_path = workdir / "standard-input.json"
    output_path = workdir / "slither.json"
    input_path.write_text(json.dumps(input_json, indent=1))
    cmd = [
        str(slither),
        str(input_path),
        "--compile-force-framework",
        "solc-json",
        "--solc",
        str(solc),
        "--filter-paths",
        "node_modules",
        "--json",
        str(output_path),
    ]
    # slither exits non-zero whenever it finds anything; its JSON says whether it ran
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if not output_path.exists():
        sys.stderr.write(proc.stdout + proc.stderr)
        fail(f"error: slither failed (exit {proc.returncode}) and wrote no report")
    report = json.loads(output_path.read_text())
    if not report.get("success"):
        sys.stderr.write(proc.stderr[-4000:])
    return report


def check_report(report: dict) -> None:
    if not report.get("success"):
        sys.stderr.write(str(report.get("error") or "") + "\n")
        fail("error: slither failed: the contracts did not compile or could not be analysed")


# a snapshot's paths (--rev) read "../../tmp/creditshare-audit-x/contracts/X.sol": show contracts/X.sol
_SNAPSHOT_PREFIX = re.compile(r"(?<![\w/.])[^\s()]*?/contracts/")


def _short(path: str) -> str:
    return _SNAPSHOT_PREFIX.sub("contracts/", path)


def _node_text(element: dict) -> str:
    return " ".join(str(element.get("name", "")).split())


def finding_keys(result: dict) -> list[dict]:
    """detector, contract, function, element of one slither result: no line numbers.

    A finding that flags several expressions of one function (e.g. two timestamp
    comparisons) gives one key per expression, each excused on its own: a new flagged
    expression in that function is then a new, unexcused key, and the old excuses stay.
    """
    elements = result.get("elements") or []
    base = {"detector": result["check"], "contract": "", "function": "", "element": ""}
    if not elements:
        return [base]
    first = elements[0]
    fields = first.get("type_specific_fields") or {}
    parent = fields.get("parent") or {}
    kind = first["type"]
    if kind == "contract":
        return [{**base, "contract": first["name"]}]
    if kind == "function":
        base.update(contract=parent.get("name", ""), function=fields.get("signature") or first["name"])
        nodes = [_node_text(e) for e in elements[1:] if e["type"] == "node" and _node_text(e)]
        return [{**base, "element": node} for node in dict.fromkeys(nodes)] or [base]
    if kind == "node":
        parent_fields = parent.get("type_specific_fields") or {}
        grand = parent_fields.get("parent") or {}
        function = parent_fields.get("signature") or parent.get("name", "")
        return [{**base, "contract": grand.get("name", ""), "function": function, "element": _node_text(first)}]
    # variable, event, struct, enum, modifier, pragma, ...
    contract = parent.get("name", "") if parent.get("type") == "contract" else ""
    return [{**base, "contract": contract, "element": f"{kind} {first['name']}"}]


def location(result: dict) -> str:
    for e in result.get("elements") or []:
        mapping = e.get("source_mapping") or {}
        lines = mapping.get("lines") or []
        if mapping.get("filename_relative"):
            span = f"#{lines[0]}-{lines[-1]}" if len(lines) > 1 else (f"#{lines[0]}" if lines else "")
            return _short(mapping["filename_relative"]) + span
    return "?"


def load_triage(path: Path) -> list[dict]:
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    entries = data.get("findings", [])
    problems, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"{path.name} entry {i} ({entry.get('detector')}, {entry.get('contract')}.{entry.get('function')})"
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        for required in ("detector", "contract", "function", "reason"):
            if not isinstance(entry.get(required), str):
                problems.append(f"{where}: '{required}' missing")
        if not str(entry.get("reason", "")).strip():
            problems.append(f"{where}: every entry needs a reason")
        if entry.get("status", "excused") not in STATUSES:
            problems.append(f"{where}: status must be one of {STATUSES}")
        key = (entry.get("detector"), entry.get("contract"), entry.get("function"), entry.get("element"))
        if key in seen:
            problems.append(f"{where}: duplicate key")
        seen.add(key)
    if problems:
        fail("error: bad triage file:\n  " + "\n  ".join(problems))
    return entries


def matches(entry: dict, key: dict) -> bool:
    return (
        entry["detector"] == key["detector"]
        and entry["contract"] == key["contract"]
        and entry["function"] == key["function"]
        and ("element" not in entry or entry["element"] == key["element"])
    )


def _git_snapshot(rev: str, workdir: Path) -> Path:
    """contracts/ as of a git revision, extracted under workdir (for a tree mid-edit)."""
    archive = subprocess.run(["git", "archive", rev, "contracts"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
    return workdir / "contracts"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triage", type=Path, default=DEFAULT_TRIAGE, help="the triage file (JSON)")
    parser.add_argument("--contracts", type=Path, default=ROOT / "contracts", help="folder of .sol files")
    parser.add_argument("--rev", help="analyse contracts/ as of this git revision instead of the working tree")
    parser.add_argument("--slither", type=Path, default=DEFAULT_SLITHER, help="the slither executable")
    parser.add_argument("--solc", type=Path, help="a solc that speaks --version and --standard-json")
    parser.add_argument("--report-only", action="store_true", help="print everything, exit 0 unless slither fails")
    parser.add_argument("--json-out", type=Path, help="also save slither's raw JSON report here")
    parser.add_argument("--from-json", type=Path, help="triage a report saved by --json-out instead of running slither")
    args = parser.parse_args(argv)

    settings = compiler_settings()
    solc = args.solc or Path(os.environ.get("SOLCX_BINARY_PATH", ROOT / ".stamps" / "solcx")) / (
        f"solc-v{settings['version']}"
    )
    for tool, hint in ((args.slither, "make audit installs it"), (solc, "make setup writes it")):
        if not (shutil.which(str(tool)) or Path(tool).exists()):
            fail(f"error: {tool} not found ({hint})")
    triage = load_triage(args.triage)

    source = args.from_json or args.rev or args.contracts
    if args.from_json:
        report = json.loads(args.from_json.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="creditshare-audit-") as tmp:
            workdir = Path(tmp)
            contracts = _git_snapshot(args.rev, workdir) if args.rev else args.contracts.resolve()
            report = run_slither(args.slither, solc, standard_json(contracts, settings), workdir)
        if args.json_out:
            args.json_out.write_text(json.dumps(report, indent=1))
    check_report(report)

    results = report.get("results", {}).get("detectors", [])
    version = subprocess.run([str(args.slither), "--version"], capture_output=True, text=True).stdout.strip()
    by_class = Counter((r["check"], r["impact"]) for r in results)
    print(f"slither {version}: {len(results)} finding(s) in {source}")
    for (check, impact), n in sorted(by_class.items(), key=lambda kv: (IMPACT_ORDER.get(kv[0][1], 9), kv[0][0])):
        print(f"  {impact:<13} {check:<28} {n}")

    used = [False] * len(triage)
    unexcused, open_known, excused = [], [], 0
    for result in results:
        missing, open_keys = [], []
        for key in finding_keys(result):
            hits = [i for i, entry in enumerate(triage) if matches(entry, key)]
            for i in hits:
                used[i] = True
            if not hits:
                missing.append(key)
            elif any(triage[i].get("status", "excused") == "open" for i in hits):
                open_keys.append(key)
        if missing:
            unexcused.append((result, missing))
        elif open_keys:
            open_known.append((result, open_keys))
        else:
            excused += 1

    def show(result: dict, keys: list[dict], label: str) -> None:
        what = f"{result['check']} ({result['impact']}, confidence {result['confidence']})"
        print(f"\n{label}: {what} at {location(result)}")
        for line in result["description"].strip().splitlines():
            print("    " + _SNAPSHOT_PREFIX.sub("contracts/", line.strip()))
        for key in keys:
            print("    key: " + json.dumps(key))

    for result, keys in open_known:
        show(result, keys, "OPEN (known, not excused)")
    for result, keys in unexcused:
        show(result, keys, "UNEXCUSED")
    stale = [entry for entry, hit in zip(triage, used) if not hit]
    for entry in stale:
        print(
            f"\nwarning: stale triage entry (matches no finding): {entry['detector']} "
            f"{entry['contract']}.{entry['function']} {entry.get('element', '(any element)')!r}"
        )

    failing = len(unexcused) + len(open_known)
    print(
        f"\n{len(results)} finding(s): {excused} excused, {len(open_known)} open (known), "
        f"{len(unexcused)} not in {args.triage.name}; {len(stale)} stale excuse(s)"
    )
    if failing and not args.report_only:
        print(f"audit failed: fix the finding(s) or triage them in {args.triage} (each with its reason)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
