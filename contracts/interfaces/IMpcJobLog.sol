// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IMpcJobLog
/// @notice The on-chain audit trail of multi-party computations between data
/// holders: which members computed what, for which purpose, bound to a
/// commitment of each party's input and the hash of the revealed output.
/// Raw inputs and outputs never come on chain.
/// @dev A job's digest is keccak256(abi.encode(purposeHash, configHash,
/// participants, inputCommitments, outputHash)): the whole record. Its id is
/// derived on chain, keccak256(abi.encode(labelHash, digest)), where
/// `labelHash` is keccak256 of the job's name in its config. Nobody chooses an
/// id: a member who records first under another job's name with other data
/// gets another id, and the real job is recorded beside it; recording the
/// same content twice is refused (it is the same job).
///
/// One participant records a job; every other participant attests the whole
/// digest it computed from its own copy of the record (not only the output
/// hash), so an attestation endorses exactly what the attester saw. A job is
/// fully attested when every participant has done so.
interface IMpcJobLog {
    struct Job {
        bytes32 labelHash;
        bytes32 purposeHash;
        bytes32 configHash;
        bytes32 outputHash;
        bytes32 digest;
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
    error MpcJobLogTooManyParticipants(uint256 count, uint256 max);
    error MpcJobLogLengthMismatch(uint256 participants, uint256 commitments);
    error MpcJobLogDuplicateParticipant(address account);
    error MpcJobLogZeroHash();
    error MpcJobLogAlreadyAttested(bytes32 jobId, address participant);
    error MpcJobLogDigestMismatch(bytes32 jobId, bytes32 recorded, bytes32 attested);

    event JobRecorded(
        bytes32 indexed jobId,
        bytes32 indexed purposeHash,
        address indexed recorder,
        bytes32 labelHash,
        bytes32 digest,
        bytes32 outputHash,
        address[] participants
    );
    event JobAttested(bytes32 indexed jobId, address indexed participant, bytes32 digest, uint256 attestations);

    /// @notice Records a finished job and returns its derived id. The caller
    /// must be an active member and one of `participants`; every participant
    /// must be an active member, 2..`MAX_PARTICIPANTS` of them, each once, with
    /// one non-zero input commitment each; `labelHash`, `purposeHash` and
    /// `outputHash` are not zero. The recorder's attestation counts at once.
    function record(
        bytes32 labelHash,
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) external returns (bytes32 jobId);

    /// @notice A participant endorses the whole recorded job: `jobDigest` is the
    /// digest it computed from its own record (`digestOf`). Reverts if it
    /// differs from the recorded digest.
    function attest(bytes32 jobId, bytes32 jobDigest) external;

    /// @notice The digest of a job record (see the contract notes).
    function digestOf(
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32[] calldata inputCommitments,
        bytes32 outputHash
    ) external pure returns (bytes32);

    /// @notice The id of the job named `labelHash` with digest `digest`.
    function jobIdOf(bytes32 labelHash, bytes32 digest) external pure returns (bytes32);

    /// @notice Most participants in a job.
    function MAX_PARTICIPANTS() external view returns (uint256);

    /// @notice A recorded job (reverts for an unknown job).
    function job(bytes32 jobId) external view returns (Job memory);

    /// @notice How many participants have attested a job (the recorder included).
    function attestations(bytes32 jobId) external view returns (uint256);

    /// @notice Whether `participant` has attested `jobId`.
    function hasAttested(bytes32 jobId, address participant) external view returns (bool);
}
