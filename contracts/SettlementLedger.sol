// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title SettlementLedger
/// @notice Freight settlement records and their lifecycle.
contract SettlementLedger is ISettlementLedger {
    /// @notice Governed parameter: seconds a declared payment stays open to dispute.
    bytes32 public constant DISPUTE_WINDOW = keccak256("settlementLedger.disputeWindow");
    uint256 private constant DEFAULT_DISPUTE_WINDOW = 7 days;
    uint256 private constant MIN_DISPUTE_WINDOW = 1 days;
    uint256 private constant MAX_DISPUTE_WINDOW = 90 days;
    /// @notice The largest amount of one settlement: 10^12 fen (ten billion yuan), far above any freight
    /// invoice; sums over millions of them still fit the int64 columns of every off-chain reader.
    uint256 public constant MAX_AMOUNT = 1e12;
    /// @notice The earliest invoice or due date: 2000-01-01T00:00:00Z.
    uint64 public constant EARLIEST_DATE = 946_684_800;
    /// @notice The latest invoice or due date: 2099-12-31T23:59:59Z.
    uint64 public constant LATEST_DATE = 4_102_444_799;

    IConsortium private immutable _consortium;

    mapping(bytes32 settlementId => SettlementState) private _states;
    mapping(bytes32 settlementId => address lender) private _lenders;
    mapping(bytes32 evidence => bytes32 settlementId) private _financedEvidence;
    mapping(bytes32 fingerprint => bytes32 settlementId) private _financedFingerprint;

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
    function submit(Settlement[] calldata records, bytes32[] calldata referenceHashes) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        if (records.length != referenceHashes.length) {
            revert SettlementLedgerLengthMismatch(records.length, referenceHashes.length);
        }
        Caller memory caller = _caller();
        if (!caller.shipper && !caller.platform) revert SettlementLedgerWrongRole(msg.sender, Roles.PLATFORM);
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            _checkNew(r, referenceHashes[i]);
            bool byShipper = _isShipperSide(caller, r);
            if (!byShipper && !_isPlatformSide(caller, r)) revert SettlementLedgerNotParty(r.id, msg.sender);
            SettlementState storage s = _states[r.id];
            // an existing id is skipped, not fatal: nobody can revert a platform's batch by claiming one id first
            if (s.status != Status.None) {
                emit SettlementSkipped(r.id, s.status, Status.Invoiced);
                continue;
            }
            // one slot per settlement: the rest of the record lives in the event
            _states[r.id] = SettlementState({
                digest: _digest(r), status: Status.Invoiced, submittedByShipper: byShipper, since: 0, paidDate: 0
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
            // (submit made shipper and platform distinct subjects, so the confirmer's organisation never is the
            // submitter's)
            bool allowed = s.submittedByShipper ? _isPlatformSide(caller, r) : _isShipperSide(caller, r);
            if (!allowed) revert SettlementLedgerNotParty(r.id, msg.sender);
            if (!_tryTransition(r.id, s, Status.Confirmed)) continue;
            s.since = uint40(block.timestamp);
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
        bytes32 fingerprint = _fingerprint(record);
        bytes32 live = _financedFingerprint[fingerprint];
        if (live != bytes32(0)) revert SettlementLedgerFingerprintAlreadyFinanced(fingerprint, live);
        if (!_consortium.isActiveWithRole(lender, Roles.LENDER)) revert SettlementLedgerNotLender(lender);
        _transition(record.id, s, Status.Financed);
        _lenders[record.id] = lender;
        _financedEvidence[record.evidence] = record.id;
        // paid for here, not at submit: a receivable that is never pledged costs no fingerprint slot
        _financedFingerprint[fingerprint] = record.id;
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
            uint64 paidDate = paidDates[i] == 0 ? uint64(block.timestamp) : paidDates[i];
            // never before the counterparty confirmed the invoice, never in the future
            if (paidDate < s.since || paidDate > block.timestamp) revert SettlementLedgerBadPaidDate(r.id, paidDate);
            if (!_tryTransition(r.id, s, Status.PaymentDeclared)) continue;
            s.since = uint40(block.timestamp);
            s.paidDate = uint40(paidDate);
            emit SettlementPaymentDeclared(r.id, paidDate, msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function confirmPayment(Settlement[] calldata records) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        Caller memory caller = _caller();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            // the payee confirms receipt: the lender once the receivable is financed, else the platform
            address lender = _lenders[r.id];
            bool payee = lender != address(0) ? lender == msg.sender : _isPlatformSide(caller, r);
            if (!payee) revert SettlementLedgerNotPayee(r.id, msg.sender);
            if (!_tryTransition(r.id, s, Status.Paid)) continue;
            _release(r);
            emit SettlementPaid(r.id, uint64(s.paidDate), msg.sender);
        }
    }

    /// @inheritdoc ISettlementLedger
    function finalizePayment(Settlement[] calldata records) external {
        if (records.length == 0) revert SettlementLedgerEmptyBatch();
        uint256 window = disputeWindow();
        for (uint256 i = 0; i < records.length; ++i) {
            Settlement calldata r = records[i];
            SettlementState storage s = _load(r);
            if (s.status != Status.PaymentDeclared) {
                emit SettlementSkipped(r.id, s.status, Status.Paid);
                continue;
            }
            uint256 endsAt = uint256(s.since) + window;
            if (block.timestamp <= endsAt) revert SettlementLedgerDisputeWindowOpen(r.id, uint64(endsAt));
            _transition(r.id, s, Status.Paid);
            // no payee vouched for the payer's date: the payment counts from its declaration's block time
            s.paidDate = s.since;
            _release(r);
            emit SettlementPaid(r.id, uint64(s.paidDate), msg.sender);
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
            if (!_tryTransition(r.id, s, Status.Overdue)) continue;
            // the payee says it is unpaid now: no payment declared later may be dated before this
            s.since = uint40(block.timestamp);
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
            bool party = _isShipperSide(caller, r) || _isPlatformSide(caller, r);
            // the lender of a financed receivable is a payee too: it may dispute a declared payment
            if (!party && _lenders[r.id] != msg.sender) revert SettlementLedgerNotParty(r.id, msg.sender);
            if (!_tryTransition(r.id, s, Status.Disputed)) continue;
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
            if (!_tryTransition(r.id, s, outcome)) continue;
            if (outcome == Status.Resolved) _release(r);
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
    function financedByFingerprint(bytes32 fingerprint) external view returns (bytes32) {
        return _financedFingerprint[fingerprint];
    }

    /// @inheritdoc ISettlementLedger
    function fingerprintOf(Settlement calldata record) external pure returns (bytes32) {
        return _fingerprint(record);
    }

    /// @inheritdoc ISettlementLedger
    function idOf(bytes32 platform, bytes32 referenceHash) external pure returns (bytes32) {
        return _id(platform, referenceHash);
    }

    /// @inheritdoc ISettlementLedger
    function disputeWindow() public view returns (uint256) {
        uint256 window = _consortium.parameter(DISPUTE_WINDOW);
        if (window == 0) return DEFAULT_DISPUTE_WINDOW;
        if (window < MIN_DISPUTE_WINDOW) return MIN_DISPUTE_WINDOW;
        if (window > MAX_DISPUTE_WINDOW) return MAX_DISPUTE_WINDOW;
        return window;
    }

    /// @inheritdoc ISettlementLedger
    function digestOf(Settlement calldata record) external pure returns (bytes20) {
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

    function _checkNew(Settlement calldata r, bytes32 referenceHash) private pure {
        if (r.id == bytes32(0)) revert SettlementLedgerZeroId();
        // the id is derived, not chosen: keccak256(abi.encode(platform, referenceHash))
        if (r.id != _id(r.platform, referenceHash)) revert SettlementLedgerRecordMismatch(r.id);
        // bounded to what every off-chain reader holds in int64 (sums included) and datetime64
        if (r.amount == 0 || r.amount > MAX_AMOUNT) revert SettlementLedgerBadAmount(r.id, r.amount);
        if (r.invoiceDate < EARLIEST_DATE || r.dueDate < r.invoiceDate || r.dueDate > LATEST_DATE) {
            revert SettlementLedgerBadDates(r.id, r.invoiceDate, r.dueDate);
        }
        if (r.evidence == bytes32(0)) revert SettlementLedgerMissingEvidence(r.id);
        if (r.shipper == bytes32(0) || r.platform == bytes32(0) || r.carrier == bytes32(0)) {
            revert SettlementLedgerMissingSubject(r.id);
        }
        // one member on both sides of its own receivable is no confirmation
        if (r.shipper == r.platform || r.shipper == r.carrier) revert SettlementLedgerSameParty(r.id, r.shipper);
        if (r.platform == r.carrier) revert SettlementLedgerSameParty(r.id, r.platform);
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
        if (to == Status.PaymentDeclared) {
            return _bit(Status.Confirmed) | _bit(Status.Financed) | _bit(Status.Overdue);
        }
        if (to == Status.Paid) return _bit(Status.PaymentDeclared);
        if (to == Status.Overdue) return _bit(Status.Confirmed) | _bit(Status.Financed);
        if (to == Status.Disputed) {
            return _bit(Status.Invoiced) | _bit(Status.Confirmed) | _bit(Status.Financed) | _bit(Status.Overdue)
                | _bit(Status.PaymentDeclared);
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

    /// @dev Like `_transition`, but a status the table does not allow is skipped and reported, not fatal:
    /// one record moved first by a counterparty must not revert a whole batch.
    function _tryTransition(bytes32 id, SettlementState storage s, Status to) private returns (bool) {
        Status from = s.status;
        if (predecessorsOf(to) & _bit(from) == 0) {
            emit SettlementSkipped(id, from, to);
            return false;
        }
        s.status = to;
        return true;
    }

    /// @dev Frees the fingerprint a settlement's live pledge holds, if it holds one.
    function _release(Settlement calldata r) private {
        bytes32 fingerprint = _fingerprint(r);
        if (_financedFingerprint[fingerprint] == r.id) delete _financedFingerprint[fingerprint];
    }

    function _digest(Settlement calldata r) private pure returns (bytes20 digest) {
        // keccak256(abi.encode(r)) of a record of eight static words, hashed where the free memory starts
        // without claiming it: abi.encode would grow memory on every record of a batch (quadratic cost)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, r, 0x100)
            digest := and(keccak256(ptr, 0x100), not(sub(shl(96, 1), 1)))
        }
    }

    function _fingerprint(Settlement calldata r) private pure returns (bytes32) {
        // whole days: the same order re-dated within its day, or re-encoded, keeps its identity
        return keccak256(abi.encode(r.shipper, r.platform, r.amount, r.invoiceDate / 1 days, r.dueDate / 1 days));
    }

    function _id(bytes32 platform, bytes32 referenceHash) private pure returns (bytes32 id) {
        // keccak256(abi.encode(platform, referenceHash)) in the scratch space: no memory growth in a batch
        assembly ("memory-safe") {
            mstore(0x00, platform)
            mstore(0x20, referenceHash)
            id := keccak256(0x00, 0x40)
        }
    }
}
