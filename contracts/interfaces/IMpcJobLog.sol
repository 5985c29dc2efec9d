// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IMpcJobLog
/// @notice The on-chain audit trail of multi-party computations (MPC jobs and PSI runs) between data
/// holders: which members computed what, for which purpose, bound to a commitment of each party's input
/// and the hash of the revealed output. Raw inputs and outputs never come on chain.
/// @dev A job's terms are (purposeHash, configHash, participants, outputHash); its digest is
/// keccak256(abi.encode(purposeHash, configHash, participants, outputHash)) and its id
/// keccak256(abi.encode(labelHash, digest)), derived on chain, where `labelHash` is keccak256 of the
/// job's name in its config. Nobody chooses an id: a member who records first under another job's name
/// with other terms gets another id, and the real job is recorded beside it; recording the same terms
/// again is refused (it is the same job, which the others attest).
///
/// Input commitments are not part of the terms: each participant writes its own commitment, and only
/// its own, when it records or attests (the recorder cannot write anyone else's). So a wrong first
/// record cannot burn an honest job's id: other terms are another id, and the same terms are the honest
/// job, whose other commitments only their owners set.
///
/// A job counts only once it is fully attested (`isFullyAttested`): every listed participant has
/// recorded or attested it. Until then its output must not be used: one member alone cannot make a job
/// count by listing others who never ran it. Any one participant can keep a job from counting by not
/// attesting, as it could by not taking part.
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
        /// @dev participant i's own commitment; zero until participant i records or attests
        bytes32[] inputCommitments;
    }

    error MpcJobLogNotActiveMember(address account);
    error MpcJobLogNotParticipant(bytes32 jobId, address account);
    error MpcJobLogAlreadyRecorded(bytes32 jobId);
    error MpcJobLogUnknownJob(bytes32 jobId);
    error MpcJobLogTooFewParticipants(uint256 count);
    error MpcJobLogTooManyParticipants(uint256 count, uint256 max);
    error MpcJobLogDuplicateParticipant(address account);
    error MpcJobLogZeroHash();
    error MpcJobLogAlreadyAttested(bytes32 jobId, address participant);

    event JobRecorded(
        bytes32 indexed jobId,
        bytes32 indexed purposeHash,
        address indexed recorder,
        bytes32 labelHash,
        bytes32 digest,
        bytes32 outputHash,
        address[] participants
    );
    /// @dev emitted for the recorder too; `attestations` counts the recorder
    event JobAttested(
        bytes32 indexed jobId, address indexed participant, bytes32 inputCommitment, uint256 attestations
    );
    event JobFullyAttested(bytes32 indexed jobId, bytes32 outputHash);

    /// @notice Records a finished job's terms with the caller's own input commitment and returns the
    /// derived id. The caller must be an active member and one of `participants`; every participant must
    /// be an active member, 2..`MAX_PARTICIPANTS` of them, each once; `labelHash`, `purposeHash`,
    /// `outputHash` and `inputCommitment` are not zero. The recorder's attestation counts at once.
    function record(
        bytes32 labelHash,
        bytes32 purposeHash,
        bytes32 configHash,
        address[] calldata participants,
        bytes32 outputHash,
        bytes32 inputCommitment
    ) external returns (bytes32 jobId);

    /// @notice A participant endorses a recorded job's terms (bound by `jobId`) and writes its own,
    /// non-zero input commitment. Callers check the whole record, the others' commitments included,
    /// against their own copy before attesting.
    function attest(bytes32 jobId, bytes32 inputCommitment) external;

    /// @notice The digest of a job's terms (see the contract notes).
    function digestOf(bytes32 purposeHash, bytes32 configHash, address[] calldata participants, bytes32 outputHash)
        external
        pure
        returns (bytes32);

    /// @notice The id of the job named `labelHash` with terms digest `digest`.
    function jobIdOf(bytes32 labelHash, bytes32 digest) external pure returns (bytes32);

    /// @notice Most participants in a job.
    function MAX_PARTICIPANTS() external view returns (uint256);

    /// @notice A recorded job (reverts for an unknown job).
    function job(bytes32 jobId) external view returns (Job memory);

    /// @notice How many participants have attested a job (the recorder included).
    function attestations(bytes32 jobId) external view returns (uint256);

    /// @notice Whether `participant` has attested `jobId`.
    function hasAttested(bytes32 jobId, address participant) external view returns (bool);

    /// @notice Whether every listed participant has attested `jobId` (false for an unknown job): only
    /// then may its output be used.
    function isFullyAttested(bytes32 jobId) external view returns (bool);
}
