// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IDataBus} from "./interfaces/IDataBus.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title DataBus
/// @notice Consent grants and the consent-checked access log.
contract DataBus is IDataBus {
    uint8 public constant SCOPE_SCORE = 1;
    uint8 public constant SCOPE_SETTLEMENTS = 2;
    uint8 public constant SCOPE_LIST = 4;
    uint8 private constant SCOPE_ALL = SCOPE_SCORE | SCOPE_SETTLEMENTS | SCOPE_LIST;
    /// @inheritdoc IDataBus
    // ~32k gas a subject: 200 fit a 30M block with room to spare
    uint256 public constant MAX_BATCH = 200;
    /// @inheritdoc IDataBus
    // two storage reads a record: a page stays far below an eth_call's gas cap
    uint256 public constant MAX_PAGE = 500;
    /// @inheritdoc IDataBus
    // the CLI's 100 years plus the day it rounds up to midnight UTC; a uint64 near its maximum is no
    // calendar date any reader can print
    uint64 public constant MAX_CONSENT_SECONDS = 36_501 days;

    /// @dev One slot per access: the lender and purpose live in the consent.
    struct AccessRecord {
        uint64 consentId;
        uint8 scope;
        uint64 at;
    }

    IConsortium private immutable _consortium;

    mapping(uint256 consentId => Consent) private _consents;
    mapping(bytes32 subject => mapping(address lender => mapping(bytes32 purpose => uint256 consentId))) private
        _current;
    mapping(bytes32 subject => uint256[] consentIds) private _consentsOf;
    mapping(bytes32 subject => AccessRecord[]) private _accesses;
    uint256 private _consentCount;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc IDataBus
    function grant(address lender, bytes32 purpose, uint8 scope, uint64 expiresAt)
        external
        returns (uint256 consentId)
    {
        IConsortium.Member memory m = _consortium.member(msg.sender);
        if (!m.active) revert DataBusNotActiveMember(msg.sender);
        if (!_consortium.isActiveWithRole(lender, Roles.LENDER)) revert DataBusNotLender(lender);
        if (scope == 0 || scope & ~SCOPE_ALL != 0) revert DataBusBadScope(scope);
        if (purpose == bytes32(0)) revert DataBusZeroPurpose();
        if (expiresAt <= block.timestamp) revert DataBusBadExpiry(expiresAt);
        if (expiresAt - block.timestamp > MAX_CONSENT_SECONDS) revert DataBusBadExpiry(expiresAt);
        consentId = ++_consentCount;
        _consents[consentId] = Consent({
            subject: m.orgId,
            lender: lender,
            purpose: purpose,
            scope: scope,
            grantedAt: uint64(block.timestamp),
            expiresAt: expiresAt,
            revoked: false,
            grantor: msg.sender
        });
        _current[m.orgId][lender][purpose] = consentId;
        _consentsOf[m.orgId].push(consentId);
        emit ConsentGranted(consentId, m.orgId, lender, purpose, scope, expiresAt, msg.sender);
    }

    /// @inheritdoc IDataBus
    function revoke(uint256 consentId) external {
        Consent storage c = _load(consentId);
        // the subject's registered member, suspended or not: withdrawing consent is never blocked
        if (_consortium.memberByOrg(c.subject) != msg.sender) revert DataBusNotSubject(consentId, msg.sender);
        if (c.revoked) revert DataBusAlreadyRevoked(consentId);
        c.revoked = true;
        emit ConsentRevoked(consentId, c.subject, msg.sender);
    }

    /// @inheritdoc IDataBus
    function access(bytes32 subject, uint8 scope, bytes32 purpose) external returns (uint256 consentId) {
        _checkLender(scope);
        consentId = _record(subject, scope, purpose);
    }

    /// @inheritdoc IDataBus
    function accessMany(bytes32[] calldata subjects, uint8 scope, bytes32 purpose)
        external
        returns (uint256[] memory consentIds)
    {
        if (subjects.length == 0) revert DataBusEmptyBatch();
        if (subjects.length > MAX_BATCH) revert DataBusBatchTooLarge(subjects.length, MAX_BATCH);
        // one membership check per batch: the consortium call dominates a single access
        _checkLender(scope);
        consentIds = new uint256[](subjects.length);
        for (uint256 i = 0; i < subjects.length; ++i) {
            consentIds[i] = _record(subjects[i], scope, purpose);
        }
    }

    /// @inheritdoc IDataBus
    function validConsent(bytes32 subject, address lender, bytes32 purpose, uint8 scope)
        external
        view
        returns (uint256 consentId)
    {
        if (!_consortium.isActiveWithRole(lender, Roles.LENDER)) return 0;
        consentId = _current[subject][lender][purpose];
        if (consentId == 0) return 0;
        Consent storage c = _consents[consentId];
        if (c.revoked || block.timestamp >= c.expiresAt || c.scope & scope != scope || scope == 0) return 0;
    }

    /// @inheritdoc IDataBus
    function consent(uint256 consentId) external view returns (Consent memory) {
        return _load(consentId);
    }

    /// @inheritdoc IDataBus
    function consentsOf(bytes32 subject) external view returns (uint256[] memory) {
        return _consentsOf[subject];
    }

    /// @inheritdoc IDataBus
    function accessesOf(bytes32 subject, uint256 offset, uint256 limit) external view returns (Access[] memory out) {
        if (_consortium.memberByOrg(subject) != msg.sender && !_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE))
        {
            revert DataBusNotAuthorised(msg.sender, subject);
        }
        if (limit == 0 || limit > MAX_PAGE) revert DataBusBadPageSize(limit, MAX_PAGE);
        AccessRecord[] storage log = _accesses[subject];
        uint256 end = log.length;
        if (offset >= end) return out;
        // offset < end here, so offset + limit cannot overflow past what matters
        if (end - offset > limit) end = offset + limit;
        out = new Access[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            AccessRecord memory r = log[i];
            Consent storage c = _consents[r.consentId];
            out[i - offset] = Access({lender: c.lender, purpose: c.purpose, consentId: r.consentId, scope: r.scope, at: r.at});
        }
    }

    /// @inheritdoc IDataBus
    function accessCount(bytes32 subject) external view returns (uint256) {
        return _accesses[subject].length;
    }

    /// @inheritdoc IDataBus
    function consentCount() external view returns (uint256) {
        return _consentCount;
    }

    /// @inheritdoc IDataBus
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    function _checkLender(uint8 scope) private view {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.LENDER)) revert DataBusWrongRole(msg.sender, Roles.LENDER);
        if (scope == 0 || scope & ~SCOPE_ALL != 0) revert DataBusBadScope(scope);
    }

    /// @dev Checks the caller's consent for `subject` and appends the access.
    function _record(bytes32 subject, uint8 scope, bytes32 purpose) private returns (uint256 consentId) {
        consentId = _current[subject][msg.sender][purpose];
        if (consentId == 0) revert DataBusNoConsent(subject, msg.sender, purpose);
        Consent storage c = _consents[consentId];
        if (c.revoked) revert DataBusConsentRevoked(consentId);
        if (block.timestamp >= c.expiresAt) revert DataBusConsentExpired(consentId, c.expiresAt);
        if (c.scope & scope != scope) revert DataBusScopeNotGranted(consentId, c.scope, scope);
        AccessRecord[] storage log = _accesses[subject];
        log.push(AccessRecord({consentId: uint64(consentId), scope: scope, at: uint64(block.timestamp)}));
        emit DataAccessed(subject, msg.sender, purpose, consentId, scope, log.length - 1);
    }

    function _load(uint256 consentId) private view returns (Consent storage c) {
        c = _consents[consentId];
        if (c.subject == bytes32(0)) revert DataBusUnknownConsent(consentId);
    }
}
