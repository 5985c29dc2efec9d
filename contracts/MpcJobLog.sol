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
    // set by the last attestation: a flag, so that readers compare no counts
    mapping(bytes32 jobId => bool) private _fullyAttested;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc IMpcJobLog
    function record(
        bytes32 labelHash,
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32 outputHash,
        bytes32 inputCommitment
    ) external returns (bytes32 jobId) {
        if (!_consortium.isActive(msg.sender)) revert MpcJobLogNotActiveMember(msg.sender);
        if (labelHash == bytes32(0) || purposeHash == bytes32(0) || outputHash == bytes32(0)) revert MpcJobLogZeroHash();
        if (participants.length < 2) revert MpcJobLogTooFewParticipants(participants.length);
        if (participants.length > MAX_PARTICIPANTS) {
            revert MpcJobLogTooManyParticipants(participants.length, MAX_PARTICIPANTS);
        }
        bytes32 digest = _digest(purposeHash, configHash, participants, outputHash);
        jobId = _jobId(labelHash, digest);
        if (_jobs[jobId].recorder != address(0)) revert MpcJobLogAlreadyRecorded(jobId);
        uint256 callerIndex = type(uint256).max;
        for (uint256 i = 0; i < participants.length; ++i) {
            address p = participants[i];
            if (!_consortium.isActive(p)) revert MpcJobLogNotActiveMember(p);
            for (uint256 j = 0; j < i; ++j) {
                if (participants[j] == p) revert MpcJobLogDuplicateParticipant(p);
            }
            if (p == msg.sender) callerIndex = i;
        }
        if (callerIndex == type(uint256).max) revert MpcJobLogNotParticipant(jobId, msg.sender);
        if (inputCommitment == bytes32(0)) revert MpcJobLogZeroHash();
        Job storage j = _jobs[jobId];
        j.labelHash = labelHash;
        j.purposeHash = purposeHash;
        j.configHash = configHash;
        j.outputHash = outputHash;
        j.digest = digest;
        j.recorder = msg.sender;
        j.recordedAt = uint64(block.timestamp);
        j.participants = participants;
        // only the recorder's own slot: every other commitment is written by its owner (attest)
        j.inputCommitments = new bytes32[](participants.length);
        j.inputCommitments[callerIndex] = inputCommitment;
        _attested[jobId][msg.sender] = true;
        _attestations[jobId] = 1;
        emit JobRecorded(jobId, purposeHash, msg.sender, labelHash, digest, outputHash, participants);
        emit JobAttested(jobId, msg.sender, inputCommitment, 1);
    }

    /// @inheritdoc IMpcJobLog
    function attest(bytes32 jobId, bytes32 inputCommitment) external {
        Job storage j = _jobs[jobId];
        if (j.recorder == address(0)) revert MpcJobLogUnknownJob(jobId);
        if (!_consortium.isActive(msg.sender)) revert MpcJobLogNotActiveMember(msg.sender);
        uint256 index = _indexOf(j, msg.sender);
        if (index == type(uint256).max) revert MpcJobLogNotParticipant(jobId, msg.sender);
        if (_attested[jobId][msg.sender]) revert MpcJobLogAlreadyAttested(jobId, msg.sender);
        if (inputCommitment == bytes32(0)) revert MpcJobLogZeroHash();
        j.inputCommitments[index] = inputCommitment;
        _attested[jobId][msg.sender] = true;
        uint256 count = ++_attestations[jobId];
        emit JobAttested(jobId, msg.sender, inputCommitment, count);
        if (count == j.participants.length) {
            _fullyAttested[jobId] = true;
            emit JobFullyAttested(jobId, j.outputHash);
        }
    }

    /// @inheritdoc IMpcJobLog
    function digestOf(bytes32 purposeHash, bytes32 configHash, address[] calldata participants, bytes32 outputHash)
        external
        pure
        returns (bytes32)
    {
        return _digest(purposeHash, configHash, participants, outputHash);
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

    /// @inheritdoc IMpcJobLog
    function isFullyAttested(bytes32 jobId) external view returns (bool) {
        return _fullyAttested[jobId];
    }

    function _digest(bytes32 purposeHash, bytes32 configHash, address[] calldata participants, bytes32 outputHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(purposeHash, configHash, participants, outputHash));
    }

    function _jobId(bytes32 labelHash, bytes32 digest) private pure returns (bytes32) {
        return keccak256(abi.encode(labelHash, digest));
    }

    function _indexOf(Job storage j, address account) private view returns (uint256) {
        for (uint256 i = 0; i < j.participants.length; ++i) {
            if (j.participants[i] == account) return i;
        }
        return type(uint256).max;
    }
}
