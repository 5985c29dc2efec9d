// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ISettlementLedger
/// @notice Tamper-evident freight settlement records, confirmed by both sides,
/// with an evidence digest and a guard against financing one receivable twice.
/// @dev Storage holds one slot per settlement: a digest of the immutable record,
/// its status, who submitted it and the paid date. The full record travels in
/// the `SettlementSubmitted` event; later calls pass the record back and the
/// ledger checks it against the stored digest. This keeps a stored settlement
/// under 40k gas while every field stays verifiable.
///
/// Lifecycle: Invoiced (submitted by the shipper or the platform) -> Confirmed
/// (by the other side) -> Financed (pledged by the platform to one lender) ->
/// Paid (recorded by the shipper); Confirmed/Financed -> Overdue (after the due
/// date, recorded by the platform) -> Paid; Invoiced/Confirmed/Financed/Overdue
/// -> Disputed (by either side) -> Resolved or Defaulted (by the committee);
/// Overdue -> Defaulted (by the committee).
interface ISettlementLedger {
    enum Status {
        None,
        Invoiced,
        Confirmed,
        Financed,
        Paid,
        Overdue,
        Disputed,
        Resolved,
        Defaulted
    }

    /// @notice The immutable reconciliation record of one freight order.
    /// Subjects are keccak256 subject ids; money is integer fen; dates are unix
    /// seconds; `evidence` is the sha2-256 digest inside the evidence CIDv1.
    struct Settlement {
        bytes32 id;
        bytes32 shipper;
        bytes32 platform;
        bytes32 carrier;
        uint256 amount;
        uint64 invoiceDate;
        uint64 dueDate;
        bytes32 evidence;
    }

    /// @notice What the ledger stores per settlement (one slot).
    struct SettlementState {
        bytes25 digest;
        Status status;
        bool submittedByShipper;
        uint40 paidDate;
    }

    error SettlementLedgerNotActiveMember(address caller);
    error SettlementLedgerWrongRole(address caller, bytes32 role);
    error SettlementLedgerNotParty(bytes32 id, address caller);
    error SettlementLedgerEmptyBatch();
    error SettlementLedgerLengthMismatch(uint256 records, uint256 values);
    error SettlementLedgerZeroId();
    error SettlementLedgerAlreadyExists(bytes32 id);
    error SettlementLedgerUnknownSettlement(bytes32 id);
    error SettlementLedgerRecordMismatch(bytes32 id);
    error SettlementLedgerBadAmount(bytes32 id, uint256 amount);
    error SettlementLedgerBadDates(bytes32 id, uint64 invoiceDate, uint64 dueDate);
    error SettlementLedgerMissingEvidence(bytes32 id);
    error SettlementLedgerMissingSubject(bytes32 id);
    error SettlementLedgerBadTransition(bytes32 id, Status from, Status to);
    error SettlementLedgerNotYetDue(bytes32 id, uint64 dueDate);
    error SettlementLedgerBadPaidDate(bytes32 id, uint64 paidDate);
    error SettlementLedgerNotLender(address lender);
    error SettlementLedgerAlreadyFinanced(bytes32 id, address lender);
    error SettlementLedgerEvidenceAlreadyFinanced(bytes32 evidence, bytes32 financedSettlement);

    event SettlementSubmitted(
        bytes32 indexed id,
        bytes32 indexed shipper,
        bytes32 indexed carrier,
        bytes32 platform,
        uint256 amount,
        uint64 invoiceDate,
        uint64 dueDate,
        bytes32 evidence,
        address submitter
    );
    event SettlementConfirmed(bytes32 indexed id, address indexed by);
    event SettlementPledged(bytes32 indexed id, address indexed lender, bytes32 indexed evidence, address by);
    event SettlementPaid(bytes32 indexed id, uint64 paidDate, address indexed by);
    event SettlementOverdue(bytes32 indexed id, address indexed by);
    event SettlementDisputed(bytes32 indexed id, bytes32 reasonHash, address indexed by);
    event SettlementResolved(bytes32 indexed id, Status outcome, address indexed by);

    /// @notice Records a batch of new settlements as Invoiced. The caller must be
    /// an active member that is the shipper (with the SHIPPER role) or the
    /// platform (with the PLATFORM role) of every record. The whole batch
    /// reverts if any record is invalid or already exists.
    function submit(Settlement[] calldata records) external;

    /// @notice Confirms Invoiced settlements. The caller must be the side that
    /// did not submit: the platform if the shipper submitted, and vice versa.
    function confirm(Settlement[] calldata records) external;

    /// @notice Pledges a Confirmed receivable to one active LENDER member. Only
    /// the platform (the payee) may pledge. A settlement, or any settlement with
    /// the same evidence digest, can be financed only once.
    function pledge(Settlement calldata record, address lender) external;

    /// @notice Records payment of Confirmed, Financed or Overdue settlements on
    /// `paidDates` (unix seconds, not before the invoice date nor in the
    /// future). Only the shipper (the payer) may record it.
    function pay(Settlement[] calldata records, uint64[] calldata paidDates) external;

    /// @notice Marks Confirmed or Financed settlements past their due date as
    /// Overdue. Only the platform (the payee) may.
    function markOverdue(Settlement[] calldata records) external;

    /// @notice Opens a dispute on Invoiced, Confirmed, Financed or Overdue
    /// settlements. Either side may; `reasonHash` names the off-chain reason.
    function dispute(Settlement[] calldata records, bytes32 reasonHash) external;

    /// @notice Closes Disputed settlements as Resolved or Defaulted, or Overdue
    /// ones as Defaulted. Only active COMMITTEE members may.
    function resolve(Settlement[] calldata records, bool defaulted) external;

    /// @notice The stored state of settlement `id` (all zero if unknown).
    function stateOf(bytes32 id) external view returns (SettlementState memory);

    /// @notice The stored states of many settlements in one call.
    function statesOf(bytes32[] calldata ids) external view returns (SettlementState[] memory);

    /// @notice The lender a settlement is pledged to (zero if never financed).
    function lenderOf(bytes32 id) external view returns (address);

    /// @notice The settlement financed against evidence digest `evidence` (zero if none).
    function financedByEvidence(bytes32 evidence) external view returns (bytes32);

    /// @notice The digest the ledger stores for `record`.
    function digestOf(Settlement calldata record) external pure returns (bytes25);

    /// @notice The consortium registry this ledger asks about members.
    function consortium() external view returns (address);

    /// @notice The statuses a settlement may move to `to` from, as a bitmap
    /// (bit i set for Status(i)): the one lifecycle table every transition checks.
    function predecessorsOf(Status to) external pure returns (uint256);
}
