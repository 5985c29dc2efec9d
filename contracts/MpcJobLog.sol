// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IMpcJobLog} from "./interfaces/IMpcJobLog.sol";

/// @title MpcJobLog
/// @notice Audit trail of multi-party computations between consortium members.
contract MpcJobLog is IMpcJobLog {
    /// @inheritdoc IMpcJobLog
    // the duplicate check is quadratic: 16 parties cost ~120 comparisons
    uint256 public constant MAX_PARTICIPANTS = 16;

    IConsortium private immutable _consortium;

    mapping(bytes32 jobId => Job) private _jobs;
    mapping(bytes32 jobId => mapping(address participant => bool)) private _attested;
    mapping(bytes32 jobId => uint256) private _attestations;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc IMpcJobLog
    function record(
        bytes32 labelHash,
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) external returns (bytes32 jobId) {
        if (!_consortium.isActive(msg.sender)) revert MpcJobLogNotActiveMember(msg.sender);
        if (labelHash == bytes32(0) || purposeHash == bytes32(0) || outputHash == bytes32(0)) revert MpcJobLogZeroHash();
        if (participants.length < 2) revert MpcJobLogTooFewParticipants(participants.length);
        if (participants.length > MAX_PARTICIPANTS) {
            revert MpcJobLogTooManyParticipants(participants.length, MAX_PARTICIPANTS);
        }
        if (participants.length != inputCommitments.length) {
            revert MpcJobLogLengthMismatch(participants.length, inputCommitments.length);
        }
        bytes32 digest = _digest(purposeHash, configHash, participants, inputCommitments, outputHash);
        jobId = _jobId(labelHash, digest);
        if (_jobs[jobId].recorder != address(0)) revert MpcJobLogAlreadyRecorded(jobId);
        bool callerTakesPart = false;
        for (uint256 i = 0; i < participants.length; ++i) {
            address p = participants[i];
            if (!_consortium.isActive(p)) revert MpcJobLogNotActiveMember(p);
            if (inputCommitments[i] == bytes32(0)) revert MpcJobLogZeroHash();
            for (uint256 j = 0; j < i; ++j) {
                if (participants[j] == p) revert MpcJobLogDuplicateParticipant(p);
            }
            if (p == msg.sender) callerTakesPart = true;
        }
        if (!callerTakesPart) revert MpcJobLogNotParticipant(jobId, msg.sender);
        Job storage j = _jobs[jobId];
        j.labelHash = labelHash;
        j.purposeHash = purposeHash;
        j.configHash = configHash;
        j.outputHash = outputHash;
        j.digest = digest;
        j.recorder = msg.sender;
        j.recordedAt = uint64(block.timestamp);
        j.participants = participants;
        j.inputCommitments = inputCommitments;
        _attested[jobId][msg.sender] = true;
        _attestations[jobId] = 1;
        emit JobRecorded(jobId, purposeHash, msg.sender, labelHash, digest, outputHash, participants);
        emit JobAttested(jobId, msg.sender, digest, 1);
    }

    /// @inheritdoc IMpcJobLog
    function attest(bytes32 jobId, bytes32 jobDigest) external {
        Job storage j = _jobs[jobId];
        if (j.recorder == address(0)) revert MpcJobLogUnknownJob(jobId);
        if (!_consortium.isActive(msg.sender)) revert MpcJobLogNotActiveMember(msg.sender);
        if (!_isParticipant(j, msg.sender)) revert MpcJobLogNotParticipant(jobId, msg.sender);
        if (_attested[jobId][msg.sender]) revert MpcJobLogAlreadyAttested(jobId, msg.sender);
        if (jobDigest != j.digest) revert MpcJobLogDigestMismatch(jobId, j.digest, jobDigest);
        _attested[jobId][msg.sender] = true;
        uint256 count = ++_attestations[jobId];
        emit JobAttested(jobId, msg.sender, jobDigest, count);
    }

    /// @inheritdoc IMpcJobLog
    function digestOf(
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) external pure returns (bytes32) {
        return _digest(purposeHash, configHash, participants, inputCommitments, outputHash);
    }

    /// @inheritdoc IMpcJobLog
    function jobIdOf(bytes32 labelHash, bytes32 digest) external pure returns (bytes32) {
        return _jobId(labelHash, digest);
    }

    /// @inheritdoc IMpcJobLog
    function job(bytes32 jobId) external view returns (Job memory) {
        if (_jobs[jobId].recorder == address(0)) revert MpcJobLogUnknownJob(jobId);
        return _jobs[jobId];
    }

    /// @inheritdoc IMpcJobLog
    function attestations(bytes32 jobId) external view returns (uint256) {
        return _attestations[jobId];
    }

    /// @inheritdoc IMpcJobLog
    function hasAttested(bytes32 jobId, address participant) external view returns (bool) {
        return _attested[jobId][participant];
    }

    function _digest(
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(purposeHash, configHash, participants, inputCommitments, outputHash));
    }

    function _jobId(bytes32 labelHash, bytes32 digest) private pure returns (bytes32) {
        return keccak256(abi.encode(labelHash, digest));
    }

    function _isParticipant(Job storage j, address account) private view returns (bool) {
        for (uint256 i = 0; i < j.participants.length; ++i) {
            if (j.participants[i] == account) return true;
        }
        return false;
    }
}
