// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {AccessControlEnumerable} from "@openzeppelin/contracts/access/extensions/AccessControlEnumerable.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {Parameters} from "./libraries/Parameters.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Consortium
/// @notice Member registry and committee governance of the CreditShare network.
contract Consortium is IConsortium, AccessControlEnumerable {
    /// @notice Governed parameter: seconds a proposal stays open.
    bytes32 public constant PROPOSAL_TTL = Parameters.PROPOSAL_TTL;
    /// @notice The most validators ever admitted: a Clique signer set is small, and the views loop over it.
    uint256 public constant MAX_VALIDATORS = 32;

    mapping(address account => Member) private _members;
    mapping(bytes32 orgId => address account) private _memberByOrg;
    mapping(bytes32 key => uint256) private _parameters;
    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(uint256 proposalId => mapping(address approver => bool)) private _approved;
    address[] private _memberList;
    mapping(address account => Validator) private _validators;
    mapping(address signer => address account) private _validatorBySigner;
    address[] private _validatorList;
    uint256 private _threshold;
    uint256 private _proposalCount;

    /// @param committee The founding committee members, admitted active with the COMMITTEE role.
    /// @param orgIds Their organisation ids, one per committee member.
    /// @param threshold_ Approvals a proposal needs (1..committee.length).
    /// @param proposalTtl Seconds a proposal stays open, within the bounds of `consortium.proposalTtl`.
    constructor(address[] memory committee, bytes32[] memory orgIds, uint256 threshold_, uint256 proposalTtl) {
        if (committee.length == 0 || committee.length != orgIds.length) revert ConsortiumBadBootstrap();
        _checkParameter(PROPOSAL_TTL, proposalTtl);
        if (threshold_ == 0 || threshold_ > committee.length) revert ConsortiumBadThreshold(threshold_, committee.length);
        _grantRole(Roles.GOVERNOR, address(this));
        _setRoleAdmin(DEFAULT_ADMIN_ROLE, Roles.GOVERNOR);
        bytes32[7] memory all =
            [Roles.SHIPPER, Roles.PLATFORM, Roles.CARRIER, Roles.LENDER, Roles.ORACLE, Roles.MAINTAINER, Roles.COMMITTEE];
        for (uint256 i = 0; i < all.length; ++i) {
            _setRoleAdmin(all[i], Roles.GOVERNOR);
        }
        bytes32[] memory committeeRole = new bytes32[](1);
        committeeRole[0] = Roles.COMMITTEE;
        for (uint256 i = 0; i < committee.length; ++i) {
            _checkNewMember(committee[i], orgIds[i]);
            _admit(committee[i], orgIds[i], committeeRole);
        }
        _threshold = threshold_;
        _parameters[PROPOSAL_TTL] = proposalTtl;
        emit ThresholdChanged(0, threshold_);
        emit ParameterChanged(PROPOSAL_TTL, 0, proposalTtl);
    }

    modifier onlyActiveCommittee() {
        if (!isActiveWithRole(msg.sender, Roles.COMMITTEE)) revert ConsortiumNotCommittee(msg.sender);
        _;
    }

    /// @inheritdoc IConsortium
    function propose(
        ProposalKind kind,
        address account,
        bytes32 orgId,
        bytes32[] calldata roles,
        bytes32 key,
        uint256 value
    ) external onlyActiveCommittee returns (uint256 proposalId) {
        _checkProposal(kind, account, orgId, roles, key, value);
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        p.kind = kind;
        p.account = account;
        p.orgId = orgId;
        p.roles = roles;
        p.key = key;
        p.value = value;
        p.proposer = msg.sender;
        p.deadline = uint64(block.timestamp + _parameters[PROPOSAL_TTL]);
        emit ProposalCreated(proposalId, kind, account, msg.sender, p.deadline);
        _approve(proposalId, p);
    }

    /// @inheritdoc IConsortium
    function approve(uint256 proposalId) external onlyActiveCommittee {
        Proposal storage p = _proposals[proposalId];
        if (p.proposer == address(0)) revert ConsortiumUnknownProposal(proposalId);
        _approve(proposalId, p);
    }

    /// @dev Roles are governed: a member cannot drop a role by itself, since that
    /// could leave the committee below its threshold.
    function renounceRole(bytes32, address) public pure override(AccessControl, IAccessControl) {
        revert ConsortiumRolesAreGoverned();
    }

    /// @inheritdoc IConsortium
    function isActive(address account) public view returns (bool) {
        return _members[account].active;
    }

    /// @inheritdoc IConsortium
    function isActiveWithRole(address account, bytes32 role) public view returns (bool) {
        return _members[account].active && hasRole(role, account);
    }

    /// @inheritdoc IConsortium
    function member(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortium
    function memberByOrg(bytes32 orgId) external view returns (address) {
        return _memberByOrg[orgId];
    }

    /// @inheritdoc IConsortium
    function rolesOf(address account) public view returns (bytes32[] memory held) {
        bytes32[7] memory all =
            [Roles.SHIPPER, Roles.PLATFORM, Roles.CARRIER, Roles.LENDER, Roles.ORACLE, Roles.MAINTAINER, Roles.COMMITTEE];
        held = new bytes32[](all.length);
        uint256 n = 0;
        for (uint256 i = 0; i < all.length; ++i) {
            if (hasRole(all[i], account)) held[n++] = all[i];
        }
        assembly ("memory-safe") {
            mstore(held, n)
        }
    }

    /// @inheritdoc IConsortium
    function members() external view returns (address[] memory) {
        return _memberList;
    }

    /// @inheritdoc IConsortium
    function activeMembersWithRole(bytes32 role) public view returns (address[] memory active) {
        address[] memory holders = getRoleMembers(role);
        active = new address[](holders.length);
        uint256 n = 0;
        for (uint256 i = 0; i < holders.length; ++i) {
            if (_members[holders[i]].active) active[n++] = holders[i];
        }
        assembly ("memory-safe") {
            mstore(active, n)
        }
    }

    /// @inheritdoc IConsortium
    function parameter(bytes32 key) external view returns (uint256) {
        return _parameters[key];
    }

    /// @inheritdoc IConsortium
    function parameterBounds(bytes32 key) external view returns (uint256 min, uint256 max) {
        bool known;
        (known, min, max) = Parameters.bounds(key, _activeOracles(key));
        if (!known) revert ConsortiumUnknownParameter(key);
    }

    /// @inheritdoc IConsortium
    function parameterKeys() external pure returns (bytes32[] memory) {
        return Parameters.keys();
    }

    /// @inheritdoc IConsortium
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IConsortium
    function activeCommitteeCount() public view returns (uint256) {
        return activeMembersWithRole(Roles.COMMITTEE).length;
    }

    /// @inheritdoc IConsortium
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IConsortium
    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        if (_proposals[proposalId].proposer == address(0)) revert ConsortiumUnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    /// @inheritdoc IConsortium
    function validatorCount() external view returns (uint256) {
        return _validatorList.length;
    }

    /// @inheritdoc IConsortium
    function validators(uint256 offset, uint256 limit) external view returns (Validator[] memory page) {
        uint256 total = _validatorList.length;
        uint256 end = offset >= total || limit >= total - offset ? total : offset + limit;
        uint256 n = offset >= total ? 0 : end - offset;
        page = new Validator[](n);
        for (uint256 i = 0; i < n; ++i) {
            page[i] = validator(_validatorList[offset + i]);
        }
    }

    /// @inheritdoc IConsortium
    function validator(address account) public view returns (Validator memory v) {
        v = _validators[account];
        if (!_members[account].active) v.active = false; // a suspended member's node does not seal
    }

    /// @inheritdoc IConsortium
    function validatorBySigner(address signer) external view returns (address) {
        return _validatorBySigner[signer];
    }

    function _approve(uint256 proposalId, Proposal storage p) private {
        if (p.executed) revert ConsortiumProposalAlreadyExecuted(proposalId);
        if (block.timestamp > p.deadline) revert ConsortiumProposalExpired(proposalId, p.deadline);
        if (_approved[proposalId][msg.sender]) revert ConsortiumAlreadyApproved(proposalId, msg.sender);
        _approved[proposalId][msg.sender] = true;
        p.approvers.push(msg.sender);
        // approvals of members suspended or removed from the committee since do not count
        uint256 approvals = 0;
        for (uint256 i = 0; i < p.approvers.length; ++i) {
            if (isActiveWithRole(p.approvers[i], Roles.COMMITTEE)) ++approvals;
        }
        emit ProposalApproved(proposalId, msg.sender, approvals);
        if (approvals >= _threshold) _execute(proposalId, p);
    }

    function _execute(uint256 proposalId, Proposal storage p) private {
        // re-checked at execution: the registry may have changed since the proposal was made
        _checkProposal(p.kind, p.account, p.orgId, p.roles, p.key, p.value);
        p.executed = true;
        ProposalKind kind = p.kind;
        address account = p.account;
        if (kind == ProposalKind.AdmitMember) {
            _admit(account, p.orgId, p.roles);
        } else if (kind == ProposalKind.SetRoles) {
            _setRoles(account, p.roles);
        } else if (kind == ProposalKind.Suspend) {
            _members[account].active = false;
            emit MemberSuspended(account);
        } else if (kind == ProposalKind.Reinstate) {
            _members[account].active = true;
            emit MemberReinstated(account);
        } else if (kind == ProposalKind.SetThreshold) {
            emit ThresholdChanged(_threshold, p.value);
            _threshold = p.value;
        } else if (kind == ProposalKind.SetParameter) {
            emit ParameterChanged(p.key, _parameters[p.key], p.value);
            _parameters[p.key] = p.value;
        } else {
            _executeValidator(kind, account, p);
        }
        _checkCommitteeQuorum();
        emit ProposalExecuted(proposalId, kind, account);
    }

    function _checkProposal(
        ProposalKind kind,
        address account,
        bytes32 orgId,
        bytes32[] memory roles,
        bytes32 key,
        uint256 value
    ) private view {
        if (kind == ProposalKind.AdmitMember) {
            _checkNewMember(account, orgId);
            _checkRoles(roles);
        } else if (kind == ProposalKind.SetRoles) {
            _checkExisting(account);
            _checkRoles(roles);
        } else if (kind == ProposalKind.Suspend) {
            _checkExisting(account);
            if (!_members[account].active) revert ConsortiumAlreadySuspended(account);
        } else if (kind == ProposalKind.Reinstate) {
            _checkExisting(account);
            if (_members[account].active) revert ConsortiumNotSuspended(account);
        } else if (kind == ProposalKind.SetThreshold) {
            uint256 committee = activeCommitteeCount();
            if (value == 0 || value > committee) revert ConsortiumBadThreshold(value, committee);
        } else if (kind == ProposalKind.SetParameter) {
            _checkParameter(key, value);
        } else {
            _checkValidatorProposal(kind, account, orgId, roles, value);
        }
    }

    function _checkValidatorProposal(
        ProposalKind kind,
        address account,
        bytes32 orgId,
        bytes32[] memory roles,
        uint256 value
    ) private view {
        if (kind == ProposalKind.AdmitValidator) {
            _checkNewValidator(account, orgId, roles, value);
            return;
        }
        Validator storage v = _validators[account];
        if (v.signer == address(0)) revert ConsortiumNotValidator(account);
        if (kind == ProposalKind.SuspendValidator && !v.active) revert ConsortiumValidatorAlreadySuspended(account);
        if (kind == ProposalKind.ReinstateValidator && v.active) revert ConsortiumValidatorNotSuspended(account);
    }

    /// @dev An organisation and roles name a new member, admitted by the same proposal; without them the
    /// validator is a member already (so at execution a non-zero orgId means "admit it first").
    function _checkNewValidator(address account, bytes32 orgId, bytes32[] memory roles, uint256 value)
        private
        view
    {
        if (orgId != bytes32(0) || roles.length != 0) {
            _checkNewMember(account, orgId);
            _checkRoles(roles);
        } else {
            _checkExisting(account);
            if (!_members[account].active) revert ConsortiumMemberNotActive(account);
        }
        if (value == 0 || value > type(uint160).max) revert ConsortiumBadSigner(value);
        address signer = address(uint160(value));
        address registered = _validators[account].signer;
        if (registered != address(0)) revert ConsortiumAlreadyValidator(account, registered);
        address holder = _validatorBySigner[signer];
        if (holder != address(0)) revert ConsortiumSignerAlreadyUsed(signer, holder);
        if (_validatorList.length >= MAX_VALIDATORS) revert ConsortiumTooManyValidators(MAX_VALIDATORS);
    }

    function _executeValidator(ProposalKind kind, address account, Proposal storage p) private {
        if (kind == ProposalKind.AdmitValidator) {
            if (p.orgId != bytes32(0)) _admit(account, p.orgId, p.roles); // a new organisation
            address signer = address(uint160(p.value));
            _validators[account] = Validator({member: account, signer: signer, active: true});
            _validatorBySigner[signer] = account;
            _validatorList.push(account);
            emit ValidatorAdmitted(account, signer);
        } else if (kind == ProposalKind.SuspendValidator) {
            _validators[account].active = false;
            emit ValidatorSuspended(account, _validators[account].signer);
        } else {
            _validators[account].active = true;
            emit ValidatorReinstated(account, _validators[account].signer);
        }
    }

    /// @dev The one check of a governed parameter (`Parameters.bounds`), at bootstrap, at
    /// proposal and at execution.
    function _checkParameter(bytes32 key, uint256 value) private view {
        (bool known, uint256 min, uint256 max) = Parameters.bounds(key, _activeOracles(key));
        if (!known) revert ConsortiumUnknownParameter(key);
        if (value < min || value > max) revert ConsortiumParameterOutOfBounds(key, value, min, max);
    }

    /// @dev The active oracle count bounds `oracle.threshold` only: other keys skip the loop.
    function _activeOracles(bytes32 key) private view returns (uint256) {
        return key == Parameters.ORACLE_THRESHOLD ? activeMembersWithRole(Roles.ORACLE).length : 0;
    }

    function _checkNewMember(address account, bytes32 orgId) private view {
        if (account == address(0)) revert ConsortiumZeroAddress();
        if (orgId == bytes32(0)) revert ConsortiumZeroOrgId();
        if (_members[account].admittedAt != 0) revert ConsortiumAlreadyMember(account);
        address holder = _memberByOrg[orgId];
        if (holder != address(0)) revert ConsortiumOrgAlreadyRegistered(orgId, holder);
    }

    function _checkExisting(address account) private view {
        if (_members[account].admittedAt == 0) revert ConsortiumNotMember(account);
    }

    function _checkRoles(bytes32[] memory roles) private pure {
        if (roles.length == 0) revert ConsortiumNoRoles();
        for (uint256 i = 0; i < roles.length; ++i) {
            if (!Roles.isMemberRole(roles[i])) revert ConsortiumUnknownRole(roles[i]);
        }
    }

    function _checkCommitteeQuorum() private view {
        uint256 committee = activeCommitteeCount();
        if (_threshold > committee) revert ConsortiumBadThreshold(_threshold, committee);
    }

    function _admit(address account, bytes32 orgId, bytes32[] memory roles) private {
        _members[account] = Member({orgId: orgId, active: true, admittedAt: uint64(block.timestamp)});
        _memberByOrg[orgId] = account;
        _memberList.push(account);
        for (uint256 i = 0; i < roles.length; ++i) {
            _grantRole(roles[i], account);
        }
        emit MemberAdmitted(account, orgId, roles);
    }

    function _setRoles(address account, bytes32[] memory roles) private {
        bytes32[] memory held = rolesOf(account);
        for (uint256 i = 0; i < held.length; ++i) {
            _revokeRole(held[i], account);
        }
        for (uint256 i = 0; i < roles.length; ++i) {
            _grantRole(roles[i], account);
        }
        emit MemberRolesChanged(account, roles);
    }
}
