// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title SettlementLedger
/// @notice Freight settlement records and their lifecycle.
contract SettlementLedger is ISettlementLedger {
    IConsortium private immutable _consortium;

    mapping(bytes32 settlementId => SettlementState) private _states;
    mapping(bytes32 settlementId => address lender) private _lenders;
    mapping(bytes32 evidence => bytes32 settlementId) private _financedEvidence;

    /// @dev Who is calling, read from the consortium once per call.
    struct Caller {
        bytes32 orgId;
        bool shipper; // holds the SHIPPER role
        bool platform; // holds the PLATFORM role
    }

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc ISettlementLedger
    function submit(Settlement[] calldata records) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        Caller memory caller = _caller();
        if (!caller.shipper && !caller.platform) revert SettlementLedgerWrongRole(msg.sender, Roles.PLATFORM);
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            _checkNew(r);
            bool byShipper = _isShipperSide(caller, r);
            if (!byShipper && !_isPlatformSide(caller, r)) revert SettlementLedgerNotParty(r.id, msg.sender);
            // one slot per settlement: the rest of the record lives in the event
            _states[r.id] = SettlementState({
                digest: _digest(r), status: Status.Invoiced, submittedByShipper: byShipper, paidDate: 0
            });
            emit SettlementSubmitted(
                r.id, r.shipper, r.carrier, r.platform, r.amount, r.invoiceDate, r.dueDate, r.evidence, msg.sender
            );
        }
    }

    /// @inheritdoc ISettlementLedger
    function confirm(Settlement[] calldata records) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            // the counterparty confirms: never the side that submitted
            bool allowed = s.submittedByShipper ? _isPlatformSide(caller, r) : _isShipperSide(caller, r);
            if (!allowed) revert SettlementLedgerNotParty(r.id, msg.sender);
            _transition(r.id, s, Status.Confirmed);
            emit SettlementConfirmed(r.id, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function pledge(Settlement calldata record, address lender) external {
        Caller memory caller = _caller();
        SettlementState storage s = _load(record);
        if (!_isPlatformSide(caller, record)) revert SettlementLedgerNotParty(record.id, msg.sender);
        address existing = _lenders[record.id];
        if (existing != address(0)) revert SettlementLedgerAlreadyFinanced(record.id, existing);
        bytes32 financed = _financedEvidence[record.evidence];
        if (financed != bytes32(0)) revert SettlementLedgerEvidenceAlreadyFinanced(record.evidence, financed);
        if (!_consortium.isActiveWithRole(lender, Roles.LENDER)) revert SettlementLedgerNotLender(lender);
        _transition(record.id, s, Status.Financed);
        _lenders[record.id] = lender;
        _financedEvidence[record.evidence] = record.id;
        emit SettlementPledged(record.id, lender, record.evidence, msg.sender);
    }

    /// @inheritdoc ISettlementLedger
    function pay(Settlement[] calldata records, uint64[] calldata paidDates) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        if (records.length != paidDates.length) revert SettlementLedgerLengthMismatch(records.length, paidDates.length);
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            if (!_isShipperSide(caller, r)) revert SettlementLedgerNotParty(r.id, msg.sender);
            uint64 paidDate = paidDates[i];
            if (paidDate < r.invoiceDate || paidDate > block.timestamp) revert SettlementLedgerBadPaidDate(r.id, paidDate);
            _transition(r.id, s, Status.Paid);
            s.paidDate = uint40(paidDate);
            emit SettlementPaid(r.id, paidDate, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function markOverdue(Settlement[] calldata records) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            if (!_isPlatformSide(caller, r)) revert SettlementLedgerNotParty(r.id, msg.sender);
            if (block.timestamp <= r.dueDate) revert SettlementLedgerNotYetDue(r.id, r.dueDate);
            _transition(r.id, s, Status.Overdue);
            emit SettlementOverdue(r.id, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function dispute(Settlement[] calldata records, bytes32 reasonHash) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            if (!_isShipperSide(caller, r) && !_isPlatformSide(caller, r)) {
                revert SettlementLedgerNotParty(r.id, msg.sender);
            }
            _transition(r.id, s, Status.Disputed);
            emit SettlementDisputed(r.id, reasonHash, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function resolve(Settlement[] calldata records, bool defaulted) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) {
            revert SettlementLedgerWrongRole(msg.sender, Roles.COMMITTEE);
        }
        Status outcome = defaulted ? Status.Defaulted : Status.Resolved;
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            // an Overdue settlement can only be closed as a default; Resolved needs a dispute (see the table)
            _transition(r.id, s, outcome);
            emit SettlementResolved(r.id, outcome, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function stateOf(bytes32 id) external view returns (SettlementState memory) {
        return _states[id];
    }

    /// @inheritdoc ISettlementLedger
    function statesOf(bytes32[] calldata ids) external view returns (SettlementState[] memory states) {
        states = new SettlementState[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            states[i] = _states[ids[i]];
        }
    }

    /// @inheritdoc ISettlementLedger
    function lenderOf(bytes32 id) external view returns (address) {
        return _lenders[id];
    }

    /// @inheritdoc ISettlementLedger
    function financedByEvidence(bytes32 evidence) external view returns (bytes32) {
        return _financedEvidence[evidence];
    }

    /// @inheritdoc ISettlementLedger
    function digestOf(Settlement calldata record) external pure returns (bytes25) {
        return _digest(record);
    }

    /// @inheritdoc ISettlementLedger
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    function _caller() private view returns (Caller memory caller) {
        IConsortium.Member memory m = _consortium.member(msg.sender);
        if (!m.active) revert SettlementLedgerNotActiveMember(msg.sender);
        caller.orgId = m.orgId;
        caller.shipper = _consortium.isActiveWithRole(msg.sender, Roles.SHIPPER);
        caller.platform = _consortium.isActiveWithRole(msg.sender, Roles.PLATFORM);
    }

    function _isShipperSide(Caller memory caller, Settlement calldata r) private pure returns (bool) {
        return caller.shipper && caller.orgId == r.shipper;
    }

    function _isPlatformSide(Caller memory caller, Settlement calldata r) private pure returns (bool) {
        return caller.platform && caller.orgId == r.platform;
    }

    function _checkNew(Settlement calldata r) private view {
        if (r.id == bytes32(0)) revert SettlementLedgerZeroId();
        if (_states[r.id].status != Status.None) revert SettlementLedgerAlreadyExists(r.id);
        if (r.amount == 0 || r.amount > type(uint96).max) revert SettlementLedgerBadAmount(r.id, r.amount);
        if (r.invoiceDate == 0 || r.dueDate < r.invoiceDate || r.dueDate > type(uint40).max) {
            revert SettlementLedgerBadDates(r.id, r.invoiceDate, r.dueDate);
        }
        if (r.evidence == bytes32(0)) revert SettlementLedgerMissingEvidence(r.id);
        if (r.shipper == bytes32(0) || r.platform == bytes32(0) || r.carrier == bytes32(0)) {
            revert SettlementLedgerMissingSubject(r.id);
        }
    }

    function _load(Settlement calldata r) private view returns (SettlementState storage s) {
        s = _states[r.id];
        if (s.status == Status.None) revert SettlementLedgerUnknownSettlement(r.id);
        if (s.digest != _digest(r)) revert SettlementLedgerRecordMismatch(r.id);
    }

    /// @inheritdoc ISettlementLedger
    function predecessorsOf(Status to) public pure returns (uint256) {
        // the lifecycle as one table (as OpenZeppelin's Governor validates proposal states by bitmap);
        // creditshare/bindings/settlement_ledger.py mirrors it and a test compares the two
        if (to == Status.Confirmed) return _bit(Status.Invoiced);
        if (to == Status.Financed) return _bit(Status.Confirmed);
        if (to == Status.Paid) return _bit(Status.Confirmed) | _bit(Status.Financed) | _bit(Status.Overdue);
        if (to == Status.Overdue) return _bit(Status.Confirmed) | _bit(Status.Financed);
        if (to == Status.Disputed) {
            return _bit(Status.Invoiced) | _bit(Status.Confirmed) | _bit(Status.Financed) | _bit(Status.Overdue);
        }
        if (to == Status.Resolved) return _bit(Status.Disputed);
        if (to == Status.Defaulted) return _bit(Status.Disputed) | _bit(Status.Overdue);
        return 0; // None and Invoiced are never reached by a transition
    }

    function _bit(Status status) private pure returns (uint256) {
        return 1 << uint8(status);
    }

    /// @dev Moves `s` to `to` if the table allows its current status as a predecessor.
    function _transition(bytes32 id, SettlementState storage s, Status to) private {
        Status from = s.status;
        if (predecessorsOf(to) & _bit(from) == 0) revert SettlementLedgerBadTransition(id, from, to);
        s.status = to;
    }

    function _digest(Settlement calldata r) private pure returns (bytes25) {
        return bytes25(keccak256(abi.encode(r)));
    }
}
