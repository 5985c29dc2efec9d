// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {IPayoutLedger} from "./interfaces/IPayoutLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title PayoutLedger
/// @notice What platforms owe and pay carriers per waybill, two-sided.
contract PayoutLedger is IPayoutLedger {
    /// @notice The governed dispute window of the SettlementLedger: one window for both legs of an order.
    bytes32 public constant DISPUTE_WINDOW = keccak256("settlementLedger.disputeWindow");
    uint256 private constant DEFAULT_DISPUTE_WINDOW = 7 days;
    uint256 private constant MIN_DISPUTE_WINDOW = 1 days;
    uint256 private constant MAX_DISPUTE_WINDOW = 90 days;
    /// @notice The largest payout: 10^12 fen, the SettlementLedger's MAX_AMOUNT.
    uint256 public constant MAX_AMOUNT = 1e12;
    /// @notice The earliest delivery or due date: 2000-01-01T00:00:00Z (the SettlementLedger's).
    uint64 public constant EARLIEST_DATE = 946_684_800;
    /// @notice The latest due date: 2099-12-31T23:59:59Z (the SettlementLedger's).
    uint64 public constant LATEST_DATE = 4_102_444_799;

    IConsortium private immutable _consortium;

    mapping(bytes32 payoutId => PayoutState) private _states;

    /// @dev Who is calling, read from the consortium once per call.
    struct Caller {
        bytes32 orgId;
        bool platform; // holds the PLATFORM role
        bool carrier; // holds the CARRIER role
    }

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc IPayoutLedger
    function record(Payout[] calldata records, bytes32[] calldata referenceHashes) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        if (records.length != referenceHashes.length) {
            revert PayoutLedgerLengthMismatch(records.length, referenceHashes.length);
        }
        Caller memory caller = _caller();
        if (!caller.platform) revert PayoutLedgerWrongRole(msg.sender, Roles.PLATFORM);
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            _checkNew(p, referenceHashes[i]);
            if (!_isPlatform(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            // a payout to nobody who can confirm or dispute it would become Paid by the window alone
            address carrier = _consortium.memberByOrg(p.carrier);
            if (carrier == address(0) || !_consortium.isActiveWithRole(carrier, Roles.CARRIER)) {
                revert PayoutLedgerCarrierNotMember(p.id, p.carrier);
            }
            PayoutState storage s = _states[p.id];
            // an existing id is skipped, not fatal: a rerun of a file is harmless
            if (s.status != Status.None) {
                emit PayoutSkipped(p.id, s.status, Status.Recorded);
                continue;
            }
            _states[p.id] =
                PayoutState({digest: _digest(p), status: Status.Recorded, since: uint40(block.timestamp), paidDate: 0});
            emit PayoutRecorded(
                p.id, p.platform, p.carrier, p.settlement, p.amount, p.deliveryDate, p.dueDate, p.evidence, msg.sender
            );
        }
    }

    /// @inheritdoc IPayoutLedger
    function confirm(Payout[] calldata records) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (!_isCarrier(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            if (!_tryTransition(p.id, s, Status.Confirmed)) continue;
            emit PayoutConfirmed(p.id, msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function pay(Payout[] calldata records, uint64[] calldata paidDates) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        if (records.length != paidDates.length) revert PayoutLedgerLengthMismatch(records.length, paidDates.length);
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (!_isPlatform(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            uint64 paidDate = paidDates[i] == 0 ? uint64(block.timestamp) : paidDates[i];
            // never before the payout was recorded, never in the future: no backdating
            if (paidDate < s.since || paidDate > block.timestamp) revert PayoutLedgerBadPaidDate(p.id, paidDate);
            if (!_tryTransition(p.id, s, Status.PaymentDeclared)) continue;
            s.since = uint40(block.timestamp);
            s.paidDate = uint40(paidDate);
            emit PayoutPaymentDeclared(p.id, paidDate, msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function confirmReceipt(Payout[] calldata records) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (!_isCarrier(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            if (!_tryTransition(p.id, s, Status.Paid)) continue;
            emit PayoutPaid(p.id, uint64(s.paidDate), msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function finalizePayment(Payout[] calldata records) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        _caller();
        uint256 window = disputeWindow();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (s.status != Status.PaymentDeclared) {
                emit PayoutSkipped(p.id, s.status, Status.Paid);
                continue;
            }
            uint256 endsAt = uint256(s.since) + window;
            if (block.timestamp <= endsAt) revert PayoutLedgerDisputeWindowOpen(p.id, uint64(endsAt));
            _transition(p.id, s, Status.Paid);
            // no carrier vouched for the platform's date: the payout counts from its declaration's block time
            s.paidDate = s.since;
            emit PayoutPaid(p.id, uint64(s.paidDate), msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function markOverdue(Payout[] calldata records) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (!_isCarrier(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            if (block.timestamp <= p.dueDate) revert PayoutLedgerNotYetDue(p.id, p.dueDate);
            if (!_tryTransition(p.id, s, Status.Overdue)) continue;
            // the carrier says it is unpaid now: no payment declared later may be dated before this
            s.since = uint40(block.timestamp);
            emit PayoutOverdue(p.id, msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function dispute(Payout[] calldata records, bytes32 reasonHash) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            if (!_isPlatform(caller, p) && !_isCarrier(caller, p)) revert PayoutLedgerNotParty(p.id, msg.sender);
            if (!_tryTransition(p.id, s, Status.Disputed)) continue;
            emit PayoutDisputed(p.id, reasonHash, msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function resolve(Payout[] calldata records, bool defaulted) external {
        if (records.length == 0) revert PayoutLedgerEmptyBatch();
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) {
            revert PayoutLedgerWrongRole(msg.sender, Roles.COMMITTEE);
        }
        bytes32 orgId = _consortium.member(msg.sender).orgId;
        Status outcome = defaulted ? Status.Defaulted : Status.Resolved;
        for (uint256 i = 0; i < records.length; ++i) {
            Payout calldata p = records[i];
            PayoutState storage s = _load(p);
            // a committee member never judges its own payout
            if (orgId == p.platform || orgId == p.carrier) revert PayoutLedgerPartyCannotResolve(p.id, msg.sender);
            if (!_tryTransition(p.id, s, outcome)) continue;
            emit PayoutResolved(p.id, outcome, msg.sender);
        }
    }

    /// @inheritdoc IPayoutLedger
    function stateOf(bytes32 id) external view returns (PayoutState memory) {
        return _states[id];
    }

    /// @inheritdoc IPayoutLedger
    function statesOf(bytes32[] calldata ids) external view returns (PayoutState[] memory states) {
        states = new PayoutState[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            states[i] = _states[ids[i]];
        }
    }

    /// @inheritdoc IPayoutLedger
    function idOf(bytes32 platform, bytes32 referenceHash) external pure returns (bytes32) {
        return _id(platform, referenceHash);
    }

    /// @inheritdoc IPayoutLedger
    function digestOf(Payout calldata payout) external pure returns (bytes20) {
        return _digest(payout);
    }

    /// @inheritdoc IPayoutLedger
    function disputeWindow() public view returns (uint256) {
        uint256 window = _consortium.parameter(DISPUTE_WINDOW);
        if (window == 0) return DEFAULT_DISPUTE_WINDOW;
        if (window < MIN_DISPUTE_WINDOW) return MIN_DISPUTE_WINDOW;
        if (window > MAX_DISPUTE_WINDOW) return MAX_DISPUTE_WINDOW;
        return window;
    }

    /// @inheritdoc IPayoutLedger
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IPayoutLedger
    function predecessorsOf(Status to) public pure returns (uint256) {
        // one table, as the SettlementLedger's; creditshare/bindings/payout_ledger.py mirrors it
        if (to == Status.Confirmed) return _bit(Status.Recorded);
        if (to == Status.PaymentDeclared) return _bit(Status.Recorded) | _bit(Status.Confirmed) | _bit(Status.Overdue);
        if (to == Status.Paid) return _bit(Status.PaymentDeclared);
        if (to == Status.Overdue) return _bit(Status.Recorded) | _bit(Status.Confirmed);
        if (to == Status.Disputed) {
            return _bit(Status.Recorded) | _bit(Status.Confirmed) | _bit(Status.Overdue) | _bit(Status.PaymentDeclared);
        }
        if (to == Status.Resolved) return _bit(Status.Disputed);
        if (to == Status.Defaulted) return _bit(Status.Disputed) | _bit(Status.Overdue);
        return 0; // None and Recorded are never reached by a transition
    }

    function _caller() private view returns (Caller memory caller) {
        IConsortium.Member memory m = _consortium.member(msg.sender);
        if (!m.active) revert PayoutLedgerNotActiveMember(msg.sender);
        caller.orgId = m.orgId;
        caller.platform = _consortium.isActiveWithRole(msg.sender, Roles.PLATFORM);
        caller.carrier = _consortium.isActiveWithRole(msg.sender, Roles.CARRIER);
    }

    function _isPlatform(Caller memory caller, Payout calldata p) private pure returns (bool) {
        return caller.platform && caller.orgId == p.platform;
    }

    function _isCarrier(Caller memory caller, Payout calldata p) private pure returns (bool) {
        return caller.carrier && caller.orgId == p.carrier;
    }

    function _checkNew(Payout calldata p, bytes32 referenceHash) private view {
        if (p.id == bytes32(0)) revert PayoutLedgerZeroId();
        if (p.id != _id(p.platform, referenceHash)) revert PayoutLedgerRecordMismatch(p.id);
        if (p.amount == 0 || p.amount > MAX_AMOUNT) revert PayoutLedgerBadAmount(p.id, p.amount);
        // a delivery cannot be owed for before it happened: no delivery date in the future
        if (
            p.deliveryDate < EARLIEST_DATE || p.deliveryDate > block.timestamp || p.dueDate < p.deliveryDate
                || p.dueDate > LATEST_DATE
        ) {
            revert PayoutLedgerBadDates(p.id, p.deliveryDate, p.dueDate);
        }
        if (p.evidence == bytes32(0)) revert PayoutLedgerMissingEvidence(p.id);
        if (p.platform == bytes32(0) || p.carrier == bytes32(0)) revert PayoutLedgerMissingSubject(p.id);
        if (p.platform == p.carrier) revert PayoutLedgerSameParty(p.id, p.platform);
    }

    function _load(Payout calldata p) private view returns (PayoutState storage s) {
        s = _states[p.id];
        if (s.status == Status.None) revert PayoutLedgerUnknownPayout(p.id);
        if (s.digest != _digest(p)) revert PayoutLedgerRecordMismatch(p.id);
    }

    function _bit(Status status) private pure returns (uint256) {
        return 1 << uint8(status);
    }

    function _transition(bytes32 id, PayoutState storage s, Status to) private {
        Status from = s.status;
        if (predecessorsOf(to) & _bit(from) == 0) revert PayoutLedgerBadTransition(id, from, to);
        s.status = to;
    }

    /// @dev Like `_transition`, but a status the table does not allow is skipped and reported, not fatal.
    function _tryTransition(bytes32 id, PayoutState storage s, Status to) private returns (bool) {
        Status from = s.status;
        if (predecessorsOf(to) & _bit(from) == 0) {
            emit PayoutSkipped(id, from, to);
            return false;
        }
        s.status = to;
        return true;
    }

    function _digest(Payout calldata p) private pure returns (bytes20 digest) {
        // keccak256(abi.encode(p)) of eight static words, hashed in free memory without claiming it
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, p, 0x100)
            digest := and(keccak256(ptr, 0x100), not(sub(shl(96, 1), 1)))
        }
    }

    function _id(bytes32 platform, bytes32 referenceHash) private pure returns (bytes32 id) {
        assembly ("memory-safe") {
            mstore(0x00, platform)
            mstore(0x20, referenceHash)
            id := keccak256(0x00, 0x40)
        }
    }
}
