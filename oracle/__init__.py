"""The CreditShare score oracle: reports, signing, quorum and submission to ScoreOracle."""

from oracle.report import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    REPORT_TYPE,
    THRESHOLD_KEY,
    Entry,
    InvalidReport,
    InvalidSignature,
    ScoreReport,
    entries_root,
    order_signatures,
    reasons_hash,
    recover_signer,
    report_digest,
    sign_report,
    typed_data,
)

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "REPORT_TYPE",
    "THRESHOLD_KEY",
    "Entry",
    "InvalidReport",
    "InvalidSignature",
    "ScoreReport",
    "entries_root",
    "order_signatures",
    "reasons_hash",
    "recover_signer",
    "report_digest",
    "sign_report",
    "typed_data",
]
