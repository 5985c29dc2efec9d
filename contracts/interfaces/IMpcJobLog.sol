// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IMpcJobLog
/// @notice The on-chain audit trail of multi-party computations between data
/// holders: which members computed what, for which purpose, bound to a
/// commitment of each party's input and the hash of the revealed output.
/// Raw inputs and outputs never come on chain.
/// @dev One participant records a job; every other participant attests that it
/// received the same output (the same output hash). A job is fully attested
/// when every participant has done so.
interface IMpcJobLog {
    struct Job {
        bytes32 purposeHash;
        bytes32 configHash;
        bytes32 outputHash;
        address recorder;
        uint64 recordedAt;
        address[] participants;
        bytes32[] inputCommitments;
    }

    error MpcJobLogNotActiveMember(address account);
    error MpcJobLogNotParticipant(bytes32 jobId, address account);
    error MpcJobLogAlreadyRecorded(bytes32 jobId);
    error MpcJobLogUnknownJob(bytes32 jobId);
    error MpcJobLogTooFewParticipants(uint256 count);
    error MpcJobLogLengthMismatch(uint256 participants, uint256 commitments);
    error MpcJobLogDuplicateParticipant(address account);
    error MpcJobLogZeroHash();
    error MpcJobLogAlreadyAttested(bytes32 jobId, address participant);
    error MpcJobLogOutputMismatch(bytes32 jobId, bytes32 recorded, bytes32 attested);

    event JobRecorded(
        bytes32 indexed jobId, bytes32 indexed purposeHash, address indexed recorder, bytes32 outputHash,
        address[] participants
    );
    event JobAttested(bytes32 indexed jobId, address indexed participant, uint256 attestations);

    /// @notice Records a finished job. The caller must be an active member and
    /// one of `participants`; every participant must be an active member, at
    /// least two, each once, with one input commitment each. The recorder's
    /// attestation counts at once.
    function record(
        bytes32 jobId,
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) external;

    /// @notice A participant confirms that it received the recorded output.
    /// Reverts if its output hash differs from the recorded one.
    function attest(bytes32 jobId, bytes32 outputHash) external;

    /// @notice A recorded job (reverts for an unknown job).
    function job(bytes32 jobId) external view returns (Job memory);

    /// @notice How many participants have attested a job (the recorder included).
    function attestations(bytes32 jobId) external view returns (uint256);

    /// @notice Whether `participant` has attested `jobId`.
    function hasAttested(bytes32 jobId, address participant) external view returns (bool);
}
