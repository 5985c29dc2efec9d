// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IScoreOracle} from "./interfaces/IScoreOracle.sol";
import {Parameters} from "./libraries/Parameters.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title ScoreOracle
/// @notice Scores signed by k of n oracle operators, one signature set per batch.
contract ScoreOracle is IScoreOracle, EIP712 {
    bytes32 private constant REPORT_TYPEHASH = keccak256(
        "ScoreReport(uint64 epoch,bytes32 modelHash,uint64 asOf,uint64 expiry,bytes32 entriesRoot)"
    );
    bytes32 private constant THRESHOLD_KEY = Parameters.ORACLE_THRESHOLD;
    uint64 private constant MAX_REPORT_TTL = 7 days;

    IConsortium private immutable _consortium;
    IModelRegistry private immutable _registry;

    mapping(bytes32 subject => StoredScore) private _scores;
    mapping(uint32 reportId => StoredReport) private _reports;
    // doubles as the replay guard: a digest is used once it maps to a report id
    mapping(bytes32 digest => uint32 reportId) private _reportIds;
    uint32 private _reportCount;

    /// @param consortium_ The Consortium (oracle set, lenders, the threshold parameter).
    /// @param registry_ The ModelRegistry (champion model).
    constructor(IConsortium consortium_, IModelRegistry registry_) EIP712("CreditShare ScoreOracle", "1") {
        if (address(consortium_) == address(0) || address(registry_) == address(0)) revert ScoreOracleZeroAddress();
        _consortium = consortium_;
        _registry = registry_;
    }

    /// @inheritdoc IScoreOracle
    function submit(ScoreReport calldata report, Entry[] calldata entries, bytes[] calldata signatures)
        external
        returns (uint32 reportId)
    {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.ORACLE)) revert ScoreOracleNotOracle(msg.sender);
        uint256 k = _consortium.parameter(THRESHOLD_KEY);
        if (k == 0) revert ScoreOracleThresholdUnset();
        // re-checked here: oracles suspended since k was set may leave k above n
        uint256 n = _consortium.activeMembersWithRole(Roles.ORACLE).length;
        if (k < Parameters.MIN_ORACLE_THRESHOLD || k > n) revert ScoreOracleBadThreshold(k, n);
        if (entries.length == 0) revert ScoreOracleEmptyReport();
        if (block.timestamp > report.expiry) revert ScoreOracleExpired(report.expiry, block.timestamp);
        if (report.expiry > block.timestamp + MAX_REPORT_TTL) {
            revert ScoreOracleExpiryTooFar(report.expiry, block.timestamp + MAX_REPORT_TTL);
        }
        if (report.asOf > block.timestamp) revert ScoreOracleAsOfInFuture(report.asOf, block.timestamp);
        // asOf <= block.timestamp <= expiry here: a score lands at most MAX_REPORT_TTL after its as-of time
        if (report.expiry - report.asOf > MAX_REPORT_TTL) revert ScoreOracleAsOfTooOld(report.asOf, report.expiry);
        // epochs are block numbers: a future epoch would freeze its subjects until that block
        if (report.epoch > block.number) revert ScoreOracleEpochInFuture(report.epoch, block.number);
        bytes32 digest = _digest(report);
        if (_reportIds[digest] != 0) revert ScoreOracleReportAlreadySubmitted(digest);
        if (!_registry.isChampion(report.modelHash)) revert ScoreOracleNotChampion(report.modelHash);
        bytes32 root = keccak256(abi.encode(entries));
        if (root != report.entriesRoot) revert ScoreOracleEntriesMismatch(report.entriesRoot, root);
        if (signatures.length < k) revert ScoreOracleTooFewSignatures(signatures.length, k);
        address[] memory signers = _checkSigners(digest, signatures);

        reportId = ++_reportCount;
        _reportIds[digest] = reportId;
        _reports[reportId] = StoredReport({modelHash: report.modelHash, epoch: report.epoch, asOf: report.asOf});
        _store(reportId, report.epoch, entries);
        emit ReportAccepted(
            digest, report.epoch, report.modelHash, reportId, report.asOf, entries.length, msg.sender, signers
        );
    }

    /// @inheritdoc IScoreOracle
    function requestRefresh(bytes32 subject) external {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.LENDER)) revert ScoreOracleNotLender(msg.sender);
        emit RefreshRequested(subject, msg.sender, _reports[_scores[subject].report].epoch);
    }

    /// @inheritdoc IScoreOracle
    function scoreOf(bytes32 subject) public view returns (Score memory) {
        StoredScore memory s = _scores[subject];
        StoredReport memory r = _reports[s.report];
        return Score({
            score: s.score,
            tier: s.tier,
            modelHash: r.modelHash,
            asOf: r.asOf,
            epoch: r.epoch,
            reasonsHash: bytes32(s.reasonsHash),
            report: s.report
        });
    }

    /// @inheritdoc IScoreOracle
    function scoresOf(bytes32[] calldata subjects) external view returns (Score[] memory scores) {
        scores = new Score[](subjects.length);
        for (uint256 i = 0; i < subjects.length; ++i) {
            scores[i] = scoreOf(subjects[i]);
        }
    }

    /// @inheritdoc IScoreOracle
    function reportOf(uint32 reportId) external view returns (StoredReport memory) {
        return _reports[reportId];
    }

    /// @inheritdoc IScoreOracle
    function reportDigest(ScoreReport calldata report) external view returns (bytes32) {
        return _digest(report);
    }

    /// @inheritdoc IScoreOracle
    function reportIdOf(bytes32 digest) external view returns (uint32) {
        return _reportIds[digest];
    }

    /// @inheritdoc IScoreOracle
    function isUsed(bytes32 digest) external view returns (bool) {
        return _reportIds[digest] != 0;
    }

    /// @inheritdoc IScoreOracle
    function reportCount() external view returns (uint32) {
        return _reportCount;
    }

    /// @inheritdoc IScoreOracle
    function threshold() external view returns (uint256) {
        return _consortium.parameter(THRESHOLD_KEY);
    }

    /// @inheritdoc IScoreOracle
    function maxReportTtl() external pure returns (uint64) {
        return MAX_REPORT_TTL;
    }

    /// @inheritdoc IScoreOracle
    function thresholdKey() external pure returns (bytes32) {
        return THRESHOLD_KEY;
    }

    /// @inheritdoc IScoreOracle
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }

    /// @inheritdoc IScoreOracle
    function modelRegistry() external view returns (IModelRegistry) {
        return _registry;
    }

    function _digest(ScoreReport calldata report) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    REPORT_TYPEHASH, report.epoch, report.modelHash, report.asOf, report.expiry, report.entriesRoot
                )
            )
        );
    }

    /// @dev Every signature must recover to an active oracle; ascending order makes a
    /// repeated signer adjacent, so distinctness costs one comparison per signature.
    function _checkSigners(bytes32 digest, bytes[] calldata signatures)
        private
        view
        returns (address[] memory signers)
    {
        signers = new address[](signatures.length);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert ScoreOracleBadSignature(i);
            if (!_consortium.isActiveWithRole(signer, Roles.ORACLE)) revert ScoreOracleSignerNotOracle(signer);
            if (signer == previous) revert ScoreOracleDuplicateSigner(signer);
            if (signer < previous) revert ScoreOracleSignersNotAscending(previous, signer);
            signers[i] = signer;
            previous = signer;
        }
    }

    function _store(uint32 reportId, uint64 epoch, Entry[] calldata entries) private {
        // subjects of one batch mostly share their previous report: remember its epoch
        uint32 lastReport = 0;
        uint64 lastEpoch = 0;
        for (uint256 i = 0; i < entries.length; ++i) {
            Entry calldata e = entries[i];
            StoredScore storage s = _scores[e.subject];
            uint32 previous = s.report;
            if (previous != lastReport) {
                lastReport = previous;
                lastEpoch = _reports[previous].epoch;
            }
            if (epoch <= lastEpoch) revert ScoreOracleStaleEpoch(e.subject, lastEpoch, epoch);
            _scores[e.subject] =
                StoredScore({score: e.score, tier: e.tier, report: reportId, reasonsHash: bytes25(e.reasonsHash)});
            emit ScoreUpdated(e.subject, e.score, e.tier, e.reasonsHash);
        }
    }
}
