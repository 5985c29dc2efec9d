"""Options several commands share, declared once as `Annotated` types.

Use them as ``account: Account = None`` or ``dry_run: DryRun = False``. Where the
help says whose account signs, the variant's name says it too (``CommitteeAccount``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ACCOUNT_HELP = "Keystore name of the signing account (or set CREDITSHARE_PRIVATE_KEY)."

#: --account: the keystore of the account that signs (any member's)
Account = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP)]
#: --account that must be a COMMITTEE member's
CommitteeAccount = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP + " A COMMITTEE member.")]
#: --account of the maintainer of credit-list entries
MaintainerAccount = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP + " The maintainer.")]
#: --account of the viewer who paid for credit-list entries
ViewerAccount = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP + " The paying viewer.")]
#: --account of the member whose organisation is the subject
SubjectMemberAccount = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP + " The subject's member.")]
#: --account of a LENDER member
LenderAccount = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP + " The LENDER.")]
#: --account of an oracle operator
OracleAccount = Annotated[
    str | None, typer.Option("--account", help="Keystore name of this oracle operator's account.")
]
#: --account of a participant of an MPC job
ParticipantAccount = Annotated[
    str | None, typer.Option("--account", help="Keystore name of this participant's account.")
]

#: the largest integer a uint256 argument holds: an integer option or argument that goes on chain is bounded by it
#: (typer's min/max), so a larger one is a usage error instead of an encoding failure after the checks
UINT256_MAX = 2**256 - 1

DRY_RUN_HELP = "Validate and show what would be sent; send nothing."

#: --dry-run: validate and report, send no transaction
DryRun = Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)]

# The population a model is trained, evaluated or monitored on (`model ...`; `report --html` shares --market).
SETTLEMENTS_HELP = (
    "`chain` to read the ledger, or a settlement history CSV with columns settlement_id, shipper, "
    "platform, carrier, amount, invoice_date, due_date, paid_date, status, status_date (unix seconds; "
    "paid_date 0 = unpaid)."
)

#: --settlements FILE or `chain`
Settlements = Annotated[Path | None, typer.Option("--settlements", help=SETTLEMENTS_HELP)]
#: the most shippers --synthetic draws: a larger market does not fit in memory (10^9 would not fail, it would swap)
MAX_SYNTHETIC = 1_000_000
#: --synthetic N: a seeded synthetic market of N shippers
Synthetic = Annotated[
    int | None,
    typer.Option(
        "--synthetic",
        min=100,
        max=MAX_SYNTHETIC,
        help="Use a seeded synthetic freight market of this many shippers instead of a file.",
    ),
]
#: --seed of the synthetic market
Seed = Annotated[int, typer.Option("--seed", min=0, help="Seed of the synthetic market (0 or more).")]
#: --market: the synthetic market's profile
Market = Annotated[
    str,
    typer.Option(
        "--market",
        help="Profile of the synthetic market: `standard` (small shippers, two years) or `freight-demo` "
        "(busier shippers, one year: the market `creditshare demo` plays).",
    ),
]
#: --as-of: the population's date
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The training population's date, YYYY-MM-DD (with --synthetic: the date the market is drawn "
        "around, so that its season matches).",
    ),
]

#: --evidence-root: the folder a settlement CSV's `evidence` paths are confined to (default: the CSV's folder)
EvidenceRoot = Annotated[
    Path | None,
    typer.Option(
        "--evidence-root",
        help="Folder the CSV's evidence paths are resolved in and may not leave (default: the CSV's own folder).",
        file_okay=False,
        dir_okay=True,
        exists=True,
    ),
]
