// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./IConsortium.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/// @title IScoreOracle
/// @notice Credit scores brought on chain by k of n oracle operators. The oracle set is
/// the active members holding the ORACLE role in `Consortium`; k is the governed
/// parameter `keccak256("oracle.threshold")`. A report is EIP-712 typed data covering a
/// whole batch of subjects, so one signature set pays for every score in it.
/// @dev The signed message is
///
///     ScoreReport(uint64 epoch,bytes32 modelHash,uint64 asOf,uint64 expiry,bytes32 entriesRoot)
///
/// in the domain (name "CreditShare ScoreOracle", version "1", chainId, verifyingContract),
/// so a signature is bound to one chain, one contract, one epoch and an expiry.
///
/// `entriesRoot` is a plain hash commitment, `keccak256(abi.encode(entries))` over the
/// `Entry[]` in submission order: the submitter must pass every entry anyway, and a
/// flat hash costs one keccak over the calldata where a Merkle root would cost one per
/// entry. A lender checks one score by reading the batch from the `submit` calldata (or
/// the `ScoreUpdated` events of that transaction) and rehashing it.
///
/// Storage is one slot per subject: score, tier, the report id and the first 25 bytes of
/// the reason-code hash. Epoch, as-of time and model hash are stored once per report.
/// The full reason-code hash stays verifiable: it is in the signed entries and in the
/// `ScoreUpdated` event.
///
/// Epochs start at 1: a subject never scored has epoch 0, and a report's epoch must be
/// strictly greater than the stored epoch of each of its subjects, which also rejects a
/// subject listed twice in one report. Epochs are block numbers (the oracles score the
/// ledger as of block `epoch`), so an epoch may not exceed the submitting block's number:
/// an epoch near 2^64 would otherwise freeze its subjects for ever. A report may not
/// expire more than `maxReportTtl()` (7 days) after the submitting block's time, so a
/// signature set cannot be kept for later use indefinitely.
interface IScoreOracle {
    /// @notice One subject's score in a report. `reasonsHash` is keccak256 of the
    /// subject's reason codes, as the model card defines them.
    struct Entry {
        bytes32 subject;
        uint16 score;
        uint8 tier;
        bytes32 reasonsHash;
    }

    /// @notice The signed header of a batch of scores.
    struct ScoreReport {
        uint64 epoch;
        bytes32 modelHash;
        uint64 asOf;
        uint64 expiry;
        bytes32 entriesRoot;
    }

    /// @notice What the oracle stores per subject (one slot).
    struct StoredScore {
        uint16 score;
        uint8 tier;
        uint32 report;
        bytes25 reasonsHash;
    }

    /// @notice What the oracle stores per accepted report.
    struct StoredReport {
        bytes32 modelHash;
        uint64 epoch;
        uint64 asOf;
    }

    /// @notice A subject's latest score as `scoreOf` returns it. All zero for a subject
    /// never scored (`epoch == 0`). `reasonsHash` holds the first 25 bytes of the signed
    /// reason-code hash, the last 7 bytes are zero.
    struct Score {
        uint16 score;
        uint8 tier;
        bytes32 modelHash;
        uint64 asOf;
        uint64 epoch;
        bytes32 reasonsHash;
        uint32 report;
    }

    error ScoreOracleZeroAddress();
    error ScoreOracleNotOracle(address caller);
    error ScoreOracleNotLender(address caller);
    error ScoreOracleThresholdUnset();
    error ScoreOracleBadThreshold(uint256 threshold, uint256 activeOracles);
    error ScoreOracleEmptyReport();
    error ScoreOracleExpired(uint64 expiry, uint256 timestamp);
    error ScoreOracleExpiryTooFar(uint64 expiry, uint256 maxExpiry);
    error ScoreOracleEpochInFuture(uint64 epoch, uint256 blockNumber);
    error ScoreOracleAsOfInFuture(uint64 asOf, uint256 timestamp);
    error ScoreOracleAsOfTooOld(uint64 asOf, uint64 expiry);
    error ScoreOracleReportAlreadySubmitted(bytes32 digest);
    error ScoreOracleNotChampion(bytes32 modelHash);
    error ScoreOracleEntriesMismatch(bytes32 signed, bytes32 submitted);
    error ScoreOracleTooFewSignatures(uint256 signatures, uint256 threshold);
    error ScoreOracleBadSignature(uint256 index);
    error ScoreOracleSignerNotOracle(address signer);
    error ScoreOracleDuplicateSigner(address signer);
    error ScoreOracleSignersNotAscending(address previous, address signer);
    error ScoreOracleStaleEpoch(bytes32 subject, uint64 storedEpoch, uint64 epoch);

    /// @notice One subject's score was stored. The epoch, model and as-of time are those
    /// of the `ReportAccepted` event emitted in the same transaction.
    event ScoreUpdated(bytes32 indexed subject, uint16 score, uint8 tier, bytes32 reasonsHash);

    /// @notice A report was accepted and its scores stored.
    event ReportAccepted(
        bytes32 indexed digest,
        uint64 indexed epoch,
        bytes32 indexed modelHash,
        uint32 report,
        uint64 asOf,
        uint256 entries,
        address submitter,
        address[] signers
    );

    /// @notice A lender asked the oracles to rescore `subject`; `epoch` is its stored
    /// epoch at the time, so the oracles can tell when the request has been answered.
    event RefreshRequested(bytes32 indexed subject, address indexed lender, uint64 epoch);

    /// @notice Stores the scores of a report signed by at least k distinct active oracles.
    /// @dev Callable by any active ORACLE member. Rejects, in this order: a caller that is
    /// not an active oracle, an unset threshold, a threshold below 2 or above the number of
    /// active oracles (`ScoreOracleBadThreshold`: oracles may have been suspended since k
    /// was set), an empty batch, an expired report (`block.timestamp > expiry`), an expiry
    /// more than `maxReportTtl()` past `block.timestamp`, an as-of time in the future, an
    /// as-of time more than `maxReportTtl()` before the expiry (`ScoreOracleAsOfTooOld`: with
    /// the expiry check, a score is never older than the TTL when it lands, so k signers
    /// cannot roll a subject back to an old state), an epoch above `block.number`, a report already
    /// submitted (same digest), a model hash that is not the champion, entries that do not
    /// hash to `entriesRoot`, fewer than k signatures, a malformed signature, a signer that
    /// is not an active oracle (this is also how a signature made for another chain id or
    /// another contract fails: it recovers to an unrelated address), signers not in
    /// strictly ascending address order (a repeated signer is reported as a duplicate), and
    /// an epoch not newer than a subject's stored epoch. Nothing is stored unless all pass.
    /// @param report The signed header.
    /// @param entries The batch, in the order it was hashed into `report.entriesRoot`.
    /// @param signatures 65-byte ECDSA signatures over `reportDigest(report)`, sorted by
    /// signer address, ascending.
    /// @return reportId The id of the stored report (ids start at 1).
    function submit(ScoreReport calldata report, Entry[] calldata entries, bytes[] calldata signatures)
        external
        returns (uint32 reportId);

    /// @notice Asks the oracles to rescore `subject`. Only active LENDER members.
    function requestRefresh(bytes32 subject) external;

    /// @notice The latest score of `subject` (all zero if it was never scored).
    function scoreOf(bytes32 subject) external view returns (Score memory);

    /// @notice The latest scores of `subjects`, in the same order.
    function scoresOf(bytes32[] calldata subjects) external view returns (Score[] memory);

    /// @notice The stored header of report `reportId` (all zero for an unknown id).
    function reportOf(uint32 reportId) external view returns (StoredReport memory);

    /// @notice The EIP-712 digest the oracles sign for `report`.
    function reportDigest(ScoreReport calldata report) external view returns (bytes32);

    /// @notice The report id under which `digest` was accepted (zero if never).
    function reportIdOf(bytes32 digest) external view returns (uint32);

    /// @notice True if a report with this digest has been accepted.
    function isUsed(bytes32 digest) external view returns (bool);

    /// @notice How many reports have been accepted (the latest report id).
    function reportCount() external view returns (uint32);

    /// @notice The signature threshold k: the governed parameter
    /// `keccak256("oracle.threshold")`. Zero means unset, and `submit` then reverts:
    /// no scores are accepted until the committee sets k.
    function threshold() external view returns (uint256);

    /// @notice The longest a report may stay valid: `submit` refuses an expiry later
    /// than `block.timestamp + maxReportTtl()` (7 days).
    function maxReportTtl() external pure returns (uint64);

    /// @notice The Consortium parameter key of the threshold, `keccak256("oracle.threshold")`.
    function thresholdKey() external pure returns (bytes32);

    /// @notice The Consortium that says who is an active oracle or lender.
    function consortium() external view returns (IConsortium);

    /// @notice The ModelRegistry that names the champion model.
    function modelRegistry() external view returns (IModelRegistry);
}
