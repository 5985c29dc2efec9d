// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title ModelRegistry
/// @notice Registered scoring models and the committee-approved champion.
contract ModelRegistry is IModelRegistry {
    uint256 private constant MAX_BPS = 10_000;
    string private constant SET_TAG = "CreditShare champion set";
    /// @inheritdoc IModelRegistry
    // long enough for a committee spread over time zones, short enough that a vote is about today's card
    uint256 public constant APPROVAL_TTL = 7 days;

    IConsortium private immutable _consortium;
    mapping(bytes32 modelHash => Model) private _models;
    // a ballot is one (model, action, round); a new round starts at every status change
    mapping(bytes32 ballot => address[] approvers) private _approvers;
    mapping(bytes32 ballot => mapping(address approver => uint64 approvedAt)) private _approvedAt;
    bytes32[] private _modelList;
    mapping(SubjectRole role => bytes32 modelHash) private _champions;
    // every champion set there was, so a report scored under an older set still verifies
    mapping(bytes32 set => bytes32[3] champions) private _sets;
    bytes32 private _championSet;

    /// @param consortium_ The Consortium contract (members, roles, threshold).
    constructor(IConsortium consortium_) {
        if (address(consortium_) == address(0)) revert ModelRegistryZeroConsortium();
        _consortium = consortium_;
    }

    modifier onlyActiveCommittee() {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) revert ModelRegistryNotCommittee(msg.sender);
        _;
    }

    /// @inheritdoc IModelRegistry
    function register(bytes32 modelHash, uint32 version, uint16 aucBps, uint16 ksBps, bytes32 cardDigest)
        external
    {
        _register(modelHash, version, aucBps, ksBps, cardDigest, SubjectRole.Shipper);
    }

    /// @inheritdoc IModelRegistry
    function registerForRole(
        bytes32 modelHash,
        uint32 version,
        uint16 aucBps,
        uint16 ksBps,
        bytes32 cardDigest,
        SubjectRole role
    ) external {
        _register(modelHash, version, aucBps, ksBps, cardDigest, role);
    }

    function _register(
        bytes32 modelHash,
        uint32 version,
        uint16 aucBps,
        uint16 ksBps,
        bytes32 cardDigest,
        SubjectRole role
    ) private {
        if (
            !_consortium.isActiveWithRole(msg.sender, Roles.MAINTAINER)
                && !_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)
        ) revert ModelRegistryNotRegistrar(msg.sender);
        if (modelHash == bytes32(0)) revert ModelRegistryZeroHash();
        if (cardDigest == bytes32(0)) revert ModelRegistryZeroCardDigest();
        if (version == 0) revert ModelRegistryZeroVersion();
        if (aucBps > MAX_BPS) revert ModelRegistryBadMetric(aucBps);
        if (ksBps > MAX_BPS) revert ModelRegistryBadMetric(ksBps);
        Status was = _models[modelHash].status;
        if (was != Status.None && was != Status.Withdrawn) revert ModelRegistryAlreadyRegistered(modelHash);
        // a withdrawn hash keeps its round, so approvals given before the withdrawal never count again
        uint256 round = _models[modelHash].round;
        _models[modelHash] = Model({
            version: version,
            aucBps: aucBps,
            ksBps: ksBps,
            status: Status.Registered,
            registeredAt: uint64(block.timestamp),
            promotedAt: 0,
            registrant: msg.sender,
            cardDigest: cardDigest,
            round: round,
            role: role
        });
        if (was == Status.None) _modelList.push(modelHash);
        emit ModelRegistered(modelHash, version, msg.sender, cardDigest, aucBps, ksBps);
    }

    /// @inheritdoc IModelRegistry
    function approvePromotion(bytes32 modelHash) external onlyActiveCommittee {
        _promote(modelHash, _known(modelHash));
    }

    /// @inheritdoc IModelRegistry
    function approvePromotionAs(bytes32 modelHash, SubjectRole role) external onlyActiveCommittee {
        Model storage m = _known(modelHash);
        if (m.role != role) revert ModelRegistryWrongRole(modelHash, m.role, role);
        _promote(modelHash, m);
    }

    function _promote(bytes32 modelHash, Model storage m) private {
        if (m.status != Status.Registered) revert ModelRegistryWrongStatus(modelHash, m.status);
        if (_vote(modelHash, m, Action.Promote)) {
            SubjectRole role = m.role;
            bytes32 previous = _champions[role];
            if (previous != bytes32(0)) {
                Model storage old = _models[previous];
                old.status = Status.Registered;
                ++old.round;
            }
            m.status = Status.Champion;
            m.promotedAt = uint64(block.timestamp);
            ++m.round;
            _setChampion(role, previous, modelHash);
        }
    }

    function _setChampion(SubjectRole role, bytes32 previous, bytes32 current) private {
        _champions[role] = current;
        bytes32[3] memory all = [
            _champions[SubjectRole.Shipper], _champions[SubjectRole.Carrier], _champions[SubjectRole.Platform]
        ];
        bytes32 set;
        if (all[0] != bytes32(0) || all[1] != bytes32(0) || all[2] != bytes32(0)) {
            // tagged, so a set hash is never a card's hash (keccak256 of a card's canonical JSON)
            set = keccak256(abi.encode(SET_TAG, all[0], all[1], all[2]));
            _sets[set] = all;
        }
        _championSet = set;
        if (role == SubjectRole.Shipper) emit ChampionChanged(previous, current);
        emit RoleChampionChanged(role, previous, current, set);
    }

    /// @inheritdoc IModelRegistry
    function approveRetirement(bytes32 modelHash) external onlyActiveCommittee {
        Model storage m = _known(modelHash);
        if (m.status != Status.Registered && m.status != Status.Champion) {
            revert ModelRegistryWrongStatus(modelHash, m.status);
        }
        if (_vote(modelHash, m, Action.Retire)) {
            bool wasChampion = m.status == Status.Champion;
            m.status = Status.Retired;
            ++m.round;
            emit ModelRetired(modelHash, wasChampion);
            if (wasChampion) _setChampion(m.role, modelHash, bytes32(0));
        }
    }

    /// @inheritdoc IModelRegistry
    function approveWithdrawal(bytes32 modelHash) external onlyActiveCommittee {
        Model storage m = _known(modelHash);
        if (m.status != Status.Registered) revert ModelRegistryWrongStatus(modelHash, m.status);
        if (_vote(modelHash, m, Action.Withdraw)) {
            m.status = Status.Withdrawn;
            ++m.round;
            emit RegistrationWithdrawn(modelHash, m.registrant, m.cardDigest);
        }
    }

    /// @inheritdoc IModelRegistry
    function champion() external view returns (bytes32) {
        return _champions[SubjectRole.Shipper];
    }

    /// @inheritdoc IModelRegistry
    function championOf(SubjectRole role) external view returns (bytes32) {
        return _champions[role];
    }

    /// @inheritdoc IModelRegistry
    function championSet() external view returns (bytes32) {
        return _championSet;
    }

    /// @inheritdoc IModelRegistry
    function championSetMembers(bytes32 set) external view returns (bytes32[3] memory members) {
        members = _sets[set];
        if (members[0] == bytes32(0) && members[1] == bytes32(0) && members[2] == bytes32(0)) {
            revert ModelRegistryUnknownChampionSet(set);
        }
    }

    /// @inheritdoc IModelRegistry
    function isChampion(bytes32 modelHash) external view returns (bool) {
        if (modelHash == bytes32(0)) return false;
        return _models[modelHash].status == Status.Champion || modelHash == _championSet;
    }

    /// @inheritdoc IModelRegistry
    function model(bytes32 modelHash) external view returns (Model memory) {
        return _known(modelHash);
    }

    /// @inheritdoc IModelRegistry
    function models() external view returns (bytes32[] memory) {
        return _modelList;
    }

    /// @inheritdoc IModelRegistry
    function approvals(bytes32 modelHash, Action action) external view returns (uint256) {
        Model storage m = _known(modelHash);
        return _count(_ballot(modelHash, action, m.round));
    }

    /// @inheritdoc IModelRegistry
    function hasApproved(bytes32 modelHash, Action action, address approver) external view returns (bool) {
        Model storage m = _known(modelHash);
        return _fresh(_approvedAt[_ballot(modelHash, action, m.round)][approver]);
    }

    /// @inheritdoc IModelRegistry
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }

    function _known(bytes32 modelHash) private view returns (Model storage m) {
        m = _models[modelHash];
        if (m.status == Status.None) revert ModelRegistryUnknownModel(modelHash);
        // a withdrawn registration stays readable (who squatted, with what digest); its actions revert on status
    }

    /// @dev Records the caller's approval; true when approvals reach the threshold.
    function _vote(bytes32 modelHash, Model storage m, Action action) private returns (bool) {
        bytes32 ballot = _ballot(modelHash, action, m.round);
        uint64 before = _approvedAt[ballot][msg.sender];
        if (_fresh(before)) revert ModelRegistryAlreadyApproved(modelHash, action, msg.sender);
        _approvedAt[ballot][msg.sender] = uint64(block.timestamp);
        // an expired approval renewed: the approver is listed once, with its new time
        if (before == 0) _approvers[ballot].push(msg.sender);
        uint256 count = _count(ballot);
        emit ActionApproved(modelHash, action, msg.sender, count);
        return count >= _consortium.threshold();
    }

    /// @dev approvals of members suspended or removed from the committee since, or older than the TTL, do not
    /// count; the loop is bounded by the committee members who ever approved this ballot, each listed once
    function _count(bytes32 ballot) private view returns (uint256 n) {
        address[] storage approvers = _approvers[ballot];
        for (uint256 i = 0; i < approvers.length; ++i) {
            address a = approvers[i];
            if (_fresh(_approvedAt[ballot][a]) && _consortium.isActiveWithRole(a, Roles.COMMITTEE)) ++n;
        }
    }

    function _fresh(uint64 approvedAt) private view returns (bool) {
        return approvedAt != 0 && block.timestamp < approvedAt + APPROVAL_TTL;
    }

    function _ballot(bytes32 modelHash, Action action, uint256 round) private pure returns (bytes32) {
        return keccak256(abi.encode(modelHash, action, round));
    }
}
