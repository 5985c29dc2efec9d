// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./IConsortium.sol";

/// @title IModelRegistry
/// @notice The register of scoring models and the committee's choice of the one
/// champion. A model is named by its hash: keccak256 of the canonical bytes of
/// its model card (see `scoring/model_card.py`). The oracle accepts score
/// reports only for the champion's hash.
/// @dev Who may do what:
/// - register: an active MAINTAINER or COMMITTEE member (model builders). Registering
///   has no effect on scores, so one member's word is enough.
/// - promote to champion, retire, withdraw: approvals of `consortium.threshold()` distinct
///   active COMMITTEE members. Approvals are counted when each one arrives, and only those
///   of members who are still active committee members, given less than `APPROVAL_TTL`
///   ago, count: a stale approval does not wait to be completed months later. An
///   approver whose approval expired may approve again.
///
/// Squatting: a registration is bound to its registrant and its card digest, and the
/// hash is keccak256 of the canonical card, which holds the metrics. A member who copies
/// a real model's hash from the mempool and registers it first with false metrics or a
/// false digest holds the record under its own address (shown in `ModelRegistered` and
/// `model`); the committee withdraws such a registration (`approveWithdrawal`, Registered
/// models only) and the hash may then be registered again by its real builder. Clients
/// compare an existing registration's registrant, metrics and digest with their card
/// and refuse one that differs.
///
/// Lifecycle: Registered -> Champion (promotion; the previous champion goes back to
/// Registered, so that a rollback is one more promotion) -> Registered ...;
/// Registered or Champion -> Retired (final; retiring the champion leaves no champion,
/// which stops on-chain scoring until a new promotion); Registered -> Withdrawn (the
/// record is void; the hash may be registered again). Every status change opens a new
/// round of approvals: approvals given before it do not carry over.
///
/// Roles (#17): every model scores one kind of subject (`SubjectRole`: shipper, carrier or
/// platform), fixed at registration (`register` registers a shipper model, as before), and
/// the registry holds one champion per role. Promoting a model replaces only its role's
/// champion. `champion()` is the shipper champion (what it always was). Oracles score every
/// role in one report: its model hash is then `championSet()`, a hash of the three
/// champions that `isChampion` accepts and `championSetMembers` opens, so a verifier finds
/// the model of each entry from its subject's role.
interface IModelRegistry {
    enum Status {
        None,
        Registered,
        Champion,
        Retired,
        Withdrawn
    }

    enum Action {
        Promote,
        Retire,
        Withdraw
    }

    /// @notice The kind of subject a model scores.
    enum SubjectRole {
        Shipper,
        Carrier,
        Platform
    }

    /// @notice A registered model. Metrics are holdout figures in basis points
    /// (10000 = 1.0); `cardDigest` is the sha2-256 digest inside the card's CIDv1.
    struct Model {
        uint32 version;
        uint16 aucBps;
        uint16 ksBps;
        Status status;
        uint64 registeredAt;
        uint64 promotedAt;
        address registrant;
        bytes32 cardDigest;
        uint256 round;
        SubjectRole role;
    }

    error ModelRegistryZeroConsortium();
    error ModelRegistryNotRegistrar(address caller);
    error ModelRegistryNotCommittee(address caller);
    error ModelRegistryZeroHash();
    error ModelRegistryZeroCardDigest();
    error ModelRegistryZeroVersion();
    error ModelRegistryBadMetric(uint256 valueBps);
    error ModelRegistryAlreadyRegistered(bytes32 modelHash);
    error ModelRegistryUnknownModel(bytes32 modelHash);
    error ModelRegistryWrongStatus(bytes32 modelHash, Status status);
    error ModelRegistryAlreadyApproved(bytes32 modelHash, Action action, address approver);
    error ModelRegistryWrongRole(bytes32 modelHash, SubjectRole registered, SubjectRole asked);
    error ModelRegistryUnknownChampionSet(bytes32 championSet);

    event ModelRegistered(
        bytes32 indexed modelHash,
        uint32 version,
        address indexed registrant,
        bytes32 cardDigest,
        uint16 aucBps,
        uint16 ksBps
    );
    event ActionApproved(bytes32 indexed modelHash, Action indexed action, address indexed approver, uint256 approvals);
    /// @notice The shipper champion changed (the one champion of before roles).
    event ChampionChanged(bytes32 indexed previous, bytes32 indexed champion);
    /// @notice The champion of `role` changed; `championSet` is the new `championSet()`.
    event RoleChampionChanged(
        SubjectRole indexed role, bytes32 indexed previous, bytes32 indexed champion, bytes32 championSet
    );
    event ModelRetired(bytes32 indexed modelHash, bool wasChampion);
    event RegistrationWithdrawn(bytes32 indexed modelHash, address indexed registrant, bytes32 cardDigest);

    /// @notice Registers a model. Only active MAINTAINER or COMMITTEE members; the
    /// hash must be new or withdrawn. The caller becomes the registrant.
    /// @param modelHash keccak256 of the model card's canonical bytes (not zero).
    /// @param version The card's version (not zero).
    /// @param aucBps Holdout AUC in basis points (at most 10000).
    /// @param ksBps Holdout KS in basis points (at most 10000).
    /// @param cardDigest sha2-256 digest of the card file, as in its CIDv1 (not zero).
    function register(bytes32 modelHash, uint32 version, uint16 aucBps, uint16 ksBps, bytes32 cardDigest) external;

    /// @notice `register` for a model that scores subjects of `role`.
    function registerForRole(
        bytes32 modelHash,
        uint32 version,
        uint16 aucBps,
        uint16 ksBps,
        bytes32 cardDigest,
        SubjectRole role
    ) external;

    /// @notice Approves promoting a Registered model to champion; promotes it on the
    /// approval that reaches the threshold. Only active COMMITTEE members, once per round.
    function approvePromotion(bytes32 modelHash) external;

    /// @notice `approvePromotion` of a model as the champion of `role`: reverts
    /// `ModelRegistryWrongRole` unless the model was registered for `role`.
    function approvePromotionAs(bytes32 modelHash, SubjectRole role) external;

    /// @notice Approves retiring a Registered or Champion model; retires it on the
    /// approval that reaches the threshold. Only active COMMITTEE members, once per round.
    function approveRetirement(bytes32 modelHash) external;

    /// @notice Approves withdrawing a Registered model's registration (e.g. a squatted
    /// hash with false metrics); withdraws it on the approval that reaches the
    /// threshold. Only active COMMITTEE members, once per round.
    function approveWithdrawal(bytes32 modelHash) external;

    /// @notice How long an approval counts, in seconds.
    function APPROVAL_TTL() external view returns (uint256);

    /// @notice The shipper champion's hash (zero if there is none).
    function champion() external view returns (bytes32);

    /// @notice The champion of `role` (zero if there is none).
    function championOf(SubjectRole role) external view returns (bytes32);

    /// @notice keccak256(abi.encode("CreditShare champion set", shipper, carrier, platform champions));
    /// zero when no role has a champion.
    function championSet() external view returns (bytes32);

    /// @notice The champions (shipper, carrier, platform) a champion set hash stands for; reverts
    /// `ModelRegistryUnknownChampionSet` for a hash that was never the champion set.
    function championSetMembers(bytes32 set) external view returns (bytes32[3] memory);

    /// @notice True if `modelHash` is the champion of its role or the current champion set
    /// (false for the zero hash).
    function isChampion(bytes32 modelHash) external view returns (bool);

    /// @notice The record of a model (reverts for an unknown hash).
    function model(bytes32 modelHash) external view returns (Model memory);

    /// @notice Every registered hash, in order of first registration (withdrawn ones
    /// included, each once).
    function models() external view returns (bytes32[] memory);

    /// @notice Approvals of `action` on `modelHash` in its current round, counting only
    /// approvers who are active committee members now and approved less than
    /// `APPROVAL_TTL` ago.
    function approvals(bytes32 modelHash, Action action) external view returns (uint256);

    /// @notice True if `approver` approved `action` on `modelHash` in its current round
    /// less than `APPROVAL_TTL` ago.
    function hasApproved(bytes32 modelHash, Action action, address approver) external view returns (bool);

    /// @notice The Consortium that says who is a member and what the threshold is.
    function consortium() external view returns (IConsortium);
}
