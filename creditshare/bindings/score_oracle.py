"""The ScoreOracle contract: k-of-n signed score reports in, stored scores and their events out.

Mirrors contracts/interfaces/IScoreOracle.sol. Reports and entries go in as the
ABI tuples of its `ScoreReport` and `Entry` structs (oracle.report builds and
signs them); stored scores come back as `Score`. Event reads return raw logs
(ChainClient.logs), decoded by their callers: at 10^5 events web3's log
formatting is the slow part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from creditshare.core.chain import ChainClient, encode_call, event_topic
from creditshare.core.ids import to_hex

SCORE_CHUNK = 500  # subjects per scoresOf call
MAX_REPORT_TTL = 7 * 86_400  # ScoreOracle.maxReportTtl(): latest expiry past the submitting block's time


class Score(NamedTuple):
    """A subject's latest score as `scoreOf` returns it (all zero, epoch 0, if never scored)."""

    score: int
    tier: int
    model_hash: bytes
    as_of: int
    epoch: int
    reasons_hash: bytes  # the first 25 bytes of the signed reason-code hash, then 7 zero bytes
    report: int

    @classmethod
    def from_tuple(cls, raw: Sequence[Any]) -> Score:
        score, tier, model_hash, as_of, epoch, reasons, report = raw
        return cls(int(score), int(tier), bytes(model_hash), int(as_of), int(epoch), bytes(reasons), int(report))

    @property
    def scored(self) -> bool:
        return self.epoch != 0


class ScoreOracle:
    """The ScoreOracle contract: one method per function of IScoreOracle, plus its event logs."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("ScoreOracle")

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # -- writes ---------------------------------------------------------------------------------------------

    def submit(
        self,
        report: tuple[Any, ...],
        entries: Sequence[tuple[Any, ...]],
        signatures: Sequence[bytes],
        account: LocalAccount,
        what: str = "submitting the score report",
    ) -> TxReceipt:
        """Sends `submit(report, entries, signatures)`; signatures must be ordered by signer address."""
        call = encode_call(self.contract, "submit", report, list(entries), list(signatures))
        return self.client.transact(call, account, what)

    def request_refresh(self, subject: bytes, account: LocalAccount) -> TxReceipt:
        return self.client.transact(
            encode_call(self.contract, "requestRefresh", subject), account, "requesting a score refresh"
        )

    # -- reads ----------------------------------------------------------------------------------------------

    def score_of(self, subject: bytes, block: int | None = None) -> Score:
        (raw,) = self.client.call(self.contract, "scoreOf", subject, block=block)
        return Score.from_tuple(raw)

    def scores_of(self, subjects: Sequence[bytes], block: int | None = None, chunk: int = SCORE_CHUNK) -> list[Score]:
        """The stored scores of `subjects`, in order, in calls of `chunk` subjects (as of `block` if given)."""
        out: list[Score] = []
        for start in range(0, len(subjects), chunk):
            (raw,) = self.client.call(self.contract, "scoresOf", list(subjects[start : start + chunk]), block=block)
            out.extend(Score.from_tuple(r) for r in raw)
        return out

    def is_used(self, digest: bytes) -> bool:
        return bool(self.client.call(self.contract, "isUsed", digest)[0])

    def report_count(self) -> int:
        return int(self.client.call(self.contract, "reportCount")[0])

    def threshold(self) -> int:
        """k: the signatures a report needs (the governed `oracle.threshold`)."""
        return int(self.client.call(self.contract, "threshold")[0])

    def max_report_ttl(self) -> int:
        """The contract's cap on a report's expiry past the submitting block's time (MAX_REPORT_TTL)."""
        return int(self.client.call(self.contract, "maxReportTtl")[0])

    # -- events (raw logs, oldest first) --------------------------------------------------------------------

    def report_accepted_logs(self) -> list[dict[str, Any]]:
        return self.client.logs(self.address, [event_topic(self.contract, "ReportAccepted")])

    def score_updated_logs(self, subjects: Sequence[bytes] | None = None) -> list[dict[str, Any]]:
        topics: list[Any] = [event_topic(self.contract, "ScoreUpdated")]
        if subjects is not None:
            topics.append([to_hex(s) for s in subjects])
        return self.client.logs(self.address, topics)

    def refresh_requested_logs(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        return self.client.logs(self.address, [event_topic(self.contract, "RefreshRequested")], from_block, to_block)
