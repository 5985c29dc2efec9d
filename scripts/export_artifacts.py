"""Copies what the client needs of brownie's build (abi, bytecode) into the package.

    python scripts/export_artifacts.py [BUILD_CONTRACTS_DIR] [PACKAGE_ARTIFACTS_DIR]

Run by `make compile` after `brownie compile`. The folder it writes
(creditshare/core/artifacts/, generated, not in git) is package data of
`creditshare`, so `creditshare.core.chain.artifact()` works wherever the
package is installed, without the project's build/ folder. The folder is
replaced as a whole, so a contract removed from contracts/ disappears too.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("contractName", "sourcePath", "abi", "bytecode", "deployedBytecode")


def export(build: Path, target: Path) -> int:
    sources = sorted(build.glob("*.json"))
    if not sources:
        raise SystemExit(f"no compiled contracts in {build}; run `brownie compile` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for source in sources:
            data = json.loads(source.read_text(encoding="utf-8"))
            out = {key: data[key] for key in KEYS if key in data}
            out["compiler"] = {k: v for k, v in data.get("compiler", {}).items() if k in ("version", "evm_version")}
            (staging / source.name).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        old = target.with_name(f".{target.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(sources)


def main(argv: list[str]) -> None:
    build = Path(argv[0]) if argv else ROOT / "build" / "contracts"
    target = Path(argv[1]) if len(argv) > 1 else ROOT / "creditshare" / "core" / "artifacts"
    count = export(build, target)
    print(f"{count} contract artifacts (abi, bytecode) in {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
