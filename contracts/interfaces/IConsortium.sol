// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IConsortium
/// @notice The member registry and the committee's m-of-n governance of the
/// CreditShare consortium. Every other CreditShare contract asks it who is an
/// active member and which roles a member holds.
/// @dev Roles are OpenZeppelin AccessControl roles (see `Roles`). Their admin is
/// held by the Consortium contract itself: roles change only when a committee
/// proposal is executed, never by a direct grant.
interface IConsortium {
    /// @notice What a proposal does when it reaches the approval threshold.
    enum ProposalKind {
        AdmitMember, // admit `account` for organisation `orgId` with `roles`
        SetRoles, // replace the roles of `account` by `roles`
        Suspend, // suspend `account`: it keeps its roles but is not active
        Reinstate, // make a suspended `account` active again
        SetThreshold, // set the committee approval threshold to `value`
        SetParameter, // set governed parameter `key` to `value`
        AdmitValidator, // `account` runs a node sealing as Clique signer `address(uint160(value))`
        SuspendValidator, // the signer of validator `account` stops sealing
        ReinstateValidator // the signer of suspended validator `account` seals again
    }

    /// @notice A registered member. `orgId` is the keccak256 subject id of the
    /// organisation (e.g. of its unified social credit code).
    struct Member {
        bytes32 orgId;
        bool active;
        uint64 admittedAt;
    }

    /// @notice A validator: member `member` runs a node of the network that seals
    /// blocks as Clique signer `signer`. `active` is false when the validator or its
    /// member is suspended: then the signer must not seal (`creditshare network sync`
    /// votes it out of the Clique signer set).
    struct Validator {
        address member;
        address signer;
        bool active;
    }

    /// @notice A committee proposal. It executes on the approval that reaches
    /// the threshold, counting only approvers that are still active committee
    /// members, and cannot be approved after `deadline`.
    struct Proposal {
        ProposalKind kind;
        address account;
        bytes32 orgId;
        bytes32[] roles;
        bytes32 key;
        uint256 value;
        address proposer;
        uint64 deadline;
        bool executed;
        address[] approvers;
    }

    error ConsortiumNotCommittee(address caller);
    error ConsortiumUnknownProposal(uint256 proposalId);
    error ConsortiumProposalExpired(uint256 proposalId, uint64 deadline);
    error ConsortiumProposalAlreadyExecuted(uint256 proposalId);
    error ConsortiumAlreadyApproved(uint256 proposalId, address approver);
    error ConsortiumAlreadyMember(address account);
    error ConsortiumOrgAlreadyRegistered(bytes32 orgId, address member);
    error ConsortiumNotMember(address account);
    error ConsortiumZeroAddress();
    error ConsortiumZeroOrgId();
    error ConsortiumUnknownRole(bytes32 role);
    error ConsortiumNoRoles();
    error ConsortiumAlreadySuspended(address account);
    error ConsortiumNotSuspended(address account);
    error ConsortiumBadThreshold(uint256 threshold, uint256 activeCommittee);
    error ConsortiumUnknownParameter(bytes32 key);
    error ConsortiumParameterOutOfBounds(bytes32 key, uint256 value, uint256 min, uint256 max);
    error ConsortiumRolesAreGoverned();
    error ConsortiumBadBootstrap();
    error ConsortiumBadSigner(uint256 value);
    error ConsortiumAlreadyValidator(address account, address signer);
    error ConsortiumSignerAlreadyUsed(address signer, address validator);
    error ConsortiumNotValidator(address account);
    error ConsortiumValidatorAlreadySuspended(address account);
    error ConsortiumValidatorNotSuspended(address account);
    error ConsortiumMemberNotActive(address account);
    error ConsortiumTooManyValidators(uint256 max);

    event ProposalCreated(
        uint256 indexed proposalId, ProposalKind kind, address indexed account, address indexed proposer, uint64 deadline
    );
    event ProposalApproved(uint256 indexed proposalId, address indexed approver, uint256 approvals);
    event ProposalExecuted(uint256 indexed proposalId, ProposalKind kind, address indexed account);
    event MemberAdmitted(address indexed account, bytes32 indexed orgId, bytes32[] roles);
    event MemberRolesChanged(address indexed account, bytes32[] roles);
    event MemberSuspended(address indexed account);
    event MemberReinstated(address indexed account);
    event ThresholdChanged(uint256 oldThreshold, uint256 newThreshold);
    event ParameterChanged(bytes32 indexed key, uint256 oldValue, uint256 newValue);
    event ValidatorAdmitted(address indexed account, address indexed signer);
    event ValidatorSuspended(address indexed account, address indexed signer);
    event ValidatorReinstated(address indexed account, address indexed signer);

    /// @notice Opens a proposal and counts the proposer's approval. Only active
    /// committee members may propose. The proposal's arguments are checked when
    /// it is created, so that a proposal that could never execute is refused, and
    /// again when it executes, since the registry may have changed in between.
    /// @dev Bounds: SET_THRESHOLD takes 1..`activeCommitteeCount()`
    /// (`ConsortiumBadThreshold`). SET_PARAMETER takes only the keys of
    /// `parameterKeys()`, each within `parameterBounds(key)` (inclusive):
    /// `consortium.proposalTtl` 1 hour..90 days; `creditList.entryTtl` and
    /// `creditList.reciprocityWindow` 0..3650 days (a zero entry TTL turns posting
    /// off); `creditList.minStake`, `creditList.contestDeposit` and
    /// `creditList.viewFee` 0..2^128-1; `creditList.reciprocityDiscountBps`
    /// 0..10000; `creditList.maxLivePerMaintainer` 1..8,
    /// `creditList.maxMaintainersPerSubject` 1..32, `creditList.contestTimeout` 1..365
    /// days (never set, these three take CreditList's defaults); `oracle.threshold`
    /// 2..the number of active ORACLE members. A value
    /// out of range reverts `ConsortiumParameterOutOfBounds`. An unknown key (a
    /// misspelt name, the zero key) reverts `ConsortiumUnknownParameter`: no
    /// contract reads it, so setting it could only hide a typo. A new governed
    /// parameter is added to `Parameters` (and its Python mirror) first.
    /// ADMIT_VALIDATOR registers member `account` as a validator whose node seals as
    /// Clique signer `address(uint160(value))`: with `orgId` and `roles` empty, an
    /// active member already (`ConsortiumNotMember`, `ConsortiumMemberNotActive`); with
    /// them, a new organisation admitted by the same proposal, checked as ADMIT_MEMBER. Refused: a zero signer
    /// or a value wider than 160 bits (`ConsortiumBadSigner`), a member that is a
    /// validator already (`ConsortiumAlreadyValidator`), a signer any validator ever
    /// registered (`ConsortiumSignerAlreadyUsed`: a signer is never reused, so a
    /// suspended one cannot come back under another name), more than
    /// `MAX_VALIDATORS` validators (`ConsortiumTooManyValidators`).
    /// SUSPEND_VALIDATOR / REINSTATE_VALIDATOR take a validator's member address
    /// (`ConsortiumNotValidator`), active resp. suspended
    /// (`ConsortiumValidatorAlreadySuspended`, `ConsortiumValidatorNotSuspended`).
    /// @return proposalId The new proposal's id (ids start at 1).
    function propose(
        ProposalKind kind,
        address account,
        bytes32 orgId,
        bytes32[] calldata roles,
        bytes32 key,
        uint256 value
    ) external returns (uint256 proposalId);

    /// @notice Approves an open, unexpired proposal; executes it when the
    /// approvals of active committee members reach the threshold. Only active
    /// committee members may approve, each once.
    function approve(uint256 proposalId) external;

    /// @notice True if `account` is a member and not suspended.
    function isActive(address account) external view returns (bool);

    /// @notice True if `account` is an active member holding `role`.
    function isActiveWithRole(address account, bytes32 role) external view returns (bool);

    /// @notice The member record of `account` (zero if not a member).
    function member(address account) external view returns (Member memory);

    /// @notice The address registered for organisation `orgId` (zero if none).
    function memberByOrg(bytes32 orgId) external view returns (address);

    /// @notice The member roles `account` holds.
    function rolesOf(address account) external view returns (bytes32[] memory);

    /// @notice All member addresses in order of admission.
    function members() external view returns (address[] memory);

    /// @notice The active members holding `role`.
    function activeMembersWithRole(bytes32 role) external view returns (address[] memory);

    /// @notice A governed parameter (zero if never set).
    function parameter(bytes32 key) external view returns (uint256);

    /// @notice The inclusive range a SET_PARAMETER proposal may give `key` now (for
    /// `oracle.threshold` the maximum is the current number of active oracles).
    /// Reverts `ConsortiumUnknownParameter` for a key that is not governed.
    function parameterBounds(bytes32 key) external view returns (uint256 min, uint256 max);

    /// @notice The keys of every governed parameter.
    function parameterKeys() external pure returns (bytes32[] memory);

    /// @notice The number of committee approvals a proposal needs.
    function threshold() external view returns (uint256);

    /// @notice The number of active committee members.
    function activeCommitteeCount() external view returns (uint256);

    /// @notice How many proposals have been made.
    function proposalCount() external view returns (uint256);

    /// @notice A proposal by id.
    function proposal(uint256 proposalId) external view returns (Proposal memory);

    /// @notice How many validators were ever admitted (suspended ones included); at most `MAX_VALIDATORS`.
    function validatorCount() external view returns (uint256);

    /// @notice Validators `offset`.. in order of admission, at most `limit` of them (an offset past the
    /// end gives an empty list). `active` is false if the validator or its member is suspended.
    function validators(uint256 offset, uint256 limit) external view returns (Validator[] memory);

    /// @notice The validator record of member `account` (all zero if it is not a validator).
    function validator(address account) external view returns (Validator memory);

    /// @notice The member that registered Clique signer `signer` (zero if none).
    function validatorBySigner(address signer) external view returns (address);
}
