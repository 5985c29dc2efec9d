"""Privacy computing between data holders: MPyC parties over TCP and private set intersection.

Public entry points:
- `run_party` / `python -m privacy.party`: one holder's party of an MPC job;
- `load_config`, `MpcConfig`: the job config every party holds a copy of;
- `features_by_subject`, `subject_features`: revealed aggregates → oracle features;
- `woe_iv`, `bin_stats`: federated bin counts → WOE/IV for the model factory;
- `job_record`: the record of a job for the chain;
- `psi_intersect`, `psi_serve`, `psi_query`: private set intersection of subject ids.
"""

from typing import Any

from privacy.config import MpcConfig, load_config, parse_config
from privacy.features import OUTPUT_FEATURES, features_by_subject, subject_features
from privacy.inputs import CROSS_FEATURES
from privacy.record import job_record
from scoring.woe import BinStats, bin_stats, woe_iv

# privacy.party and privacy.psi are also run as `python -m ...`; loading them
# lazily keeps runpy from finding them half-imported.
_LAZY = {
    "PartyResult": "privacy.party",
    "run_party": "privacy.party",
    "psi_intersect": "privacy.psi",
    "psi_query": "privacy.psi",
    "psi_serve": "privacy.psi",
    "PsiIdentity": "privacy.psi",
    "PsiLimits": "privacy.psi",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'privacy' has no attribute {name!r}")


__all__ = [
    "CROSS_FEATURES",
    "OUTPUT_FEATURES",
    "BinStats",
    "MpcConfig",
    "PartyResult",
    "PsiIdentity",
    "PsiLimits",
    "bin_stats",
    "features_by_subject",
    "job_record",
    "load_config",
    "parse_config",
    "psi_intersect",
    "psi_query",
    "psi_serve",
    "run_party",
    "subject_features",
    "woe_iv",
]
