// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ISettlementLedger
/// @notice Tamper-evident freight settlement records, confirmed by both sides,
/// with an evidence digest and a guard against financing one receivable twice.
/// @dev Storage holds one slot per settlement: a 160-bit digest of the immutable
/// record, its status, who submitted it, a 40-bit anchor time and the paid date.
/// The full record travels in the `SettlementSubmitted` event; later calls pass
/// the record back and the ledger checks it against the stored digest. This keeps
/// a stored settlement under 33k gas while every field stays verifiable.
///
/// Lifecycle: Invoiced (submitted by the shipper or the platform) -> Confirmed
/// (by the other side) -> Financed (pledged by the platform to one lender);
/// Confirmed/Financed -> Overdue (after the due date, recorded by the platform);
/// Confirmed/Financed/Overdue -> PaymentDeclared (declared by the shipper, the
/// payer) -> Paid (confirmed by the payee: the lender if the receivable is
/// financed, else the platform; or finalised by anyone once the dispute window
/// has passed with no dispute); Invoiced/Confirmed/Financed/Overdue/
/// PaymentDeclared -> Disputed (by either side) -> Resolved or Defaulted (by
/// the committee); Overdue -> Defaulted (by the committee).
///
/// Payment finality: the payer never closes its own debt. `pay` only declares;
/// the paid date it records lies between the block time of the confirmation of
/// the invoice (of the overdue marking, for an Overdue settlement) and the block
/// time of the declaration. The declared date stands only if the payee confirms
/// it (`confirmPayment`); a payment finalised by the dispute window alone is
/// dated at its declaration's block time, so the payer never chooses the date
/// it is judged on by itself. Only a Paid settlement is
/// paid for the features (the settlement frame reports a PaymentDeclared one as
/// unpaid).
///
/// Batches: every batched lifecycle call (`confirm`, `pay`, `confirmPayment`,
/// `finalizePayment`, `markOverdue`, `dispute`, `resolve`) skips a record whose
/// current status the lifecycle table does not allow, emits
/// `SettlementSkipped` for it and goes on, so a counterparty that moves one
/// record first (a shipper declaring payment before the committee's batched
/// `resolve`, a dispute before the platform's `markOverdue`) cannot revert the
/// batch. `submit` skips an id that already exists the same way. Errors of the
/// caller's own making still revert the whole batch: not a party, unknown or
/// tampered record, not yet due, bad paid date.
///
/// Ids: the settlement id is keccak256(abi.encode(platform, referenceHash)) of
/// the platform's order reference (creditshare.core.ids.settlement_id), so two
/// platforms never collide and only a party of a record can claim its id.
///
/// Financing: a receivable is pledged once. Besides its id and evidence
/// digest, its economic identity (`fingerprintOf`: shipper, platform, amount,
/// invoice and due day) may back one live pledge at a time, so the same
/// freight order re-submitted under a new reference with a re-encoded document
/// cannot be pledged again. The fingerprint is stored at pledge time (submit
/// stays one slot) and released when the pledged settlement is Paid or
/// Resolved; a Defaulted one keeps it (its lender still holds the claim).
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
        Defaulted,
        PaymentDeclared
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
    /// `since` is the block time of the confirmation (of the overdue marking once
    /// Overdue) until payment is declared, then the block time of the declaration
    /// (the dispute window runs from it). `paidDate` is the paid date declared by
    /// the payer (zero before); `finalizePayment` replaces it by the declaration's
    /// block time.
    struct SettlementState {
        bytes20 digest;
        Status status;
        bool submittedByShipper;
        uint40 since;
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
    error SettlementLedgerFingerprintAlreadyFinanced(bytes32 fingerprint, bytes32 financedSettlement);
    error SettlementLedgerSameParty(bytes32 id, bytes32 subject);
    error SettlementLedgerNotPayee(bytes32 id, address caller);
    error SettlementLedgerDisputeWindowOpen(bytes32 id, uint64 endsAt);

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
    event SettlementPaymentDeclared(bytes32 indexed id, uint64 paidDate, address indexed by);
    event SettlementPaid(bytes32 indexed id, uint64 paidDate, address indexed by);
    event SettlementOverdue(bytes32 indexed id, address indexed by);
    event SettlementDisputed(bytes32 indexed id, bytes32 reasonHash, address indexed by);
    event SettlementResolved(bytes32 indexed id, Status outcome, address indexed by);
    /// @notice A batched call left settlement `id` as it was: its status `current` may not move to `wanted`.
    event SettlementSkipped(bytes32 indexed id, Status current, Status wanted);

    /// @notice Records a batch of new settlements as Invoiced. The caller must be
    /// an active member that is the shipper (with the SHIPPER role) or the
    /// platform (with the PLATFORM role) of every record. Shipper, platform and
    /// carrier must be three distinct subjects, and each id must be
    /// keccak256(abi.encode(platform, referenceHash)) for the `referenceHashes[i]`
    /// given beside it. The amount lies in [1, 10^12] fen
    /// (`SettlementLedgerBadAmount`); the invoice and due dates lie in
    /// [2000-01-01, 2099-12-31T23:59:59Z], due not before invoice
    /// (`SettlementLedgerBadDates`); the implementation's constants MAX_AMOUNT,
    /// EARLIEST_DATE and LATEST_DATE. These bounds keep every value, and sums over
    /// millions of settlements, within the signed 64-bit integers and datetime64
    /// of every off-chain reader (settlement frames, features, reports, the
    /// oracle): one member cannot halt scoring with a single oversized record.
    /// The whole batch reverts if any record is invalid; an id that already
    /// exists is skipped (`SettlementSkipped`).
    function submit(Settlement[] calldata records, bytes32[] calldata referenceHashes) external;

    /// @notice Confirms Invoiced settlements. The caller must be the side that
    /// did not submit: the platform if the shipper submitted, and vice versa
    /// (never the submitter's organisation). Records the confirmation time.
    function confirm(Settlement[] calldata records) external;

    /// @notice Pledges a Confirmed receivable to one active LENDER member. Only
    /// the platform (the payee) may pledge. A settlement, or any settlement with
    /// the same evidence digest, can be financed only once; a live pledge of the
    /// same fingerprint (`fingerprintOf`) refuses it too.
    function pledge(Settlement calldata record, address lender) external;

    /// @notice Declares payment of Confirmed, Financed or Overdue settlements
    /// (-> PaymentDeclared). Only the shipper (the payer) may. `paidDates[i]` is
    /// unix seconds between `since` (the confirmation, or the overdue marking)
    /// and now, or 0 for now; the payment is final only after `confirmPayment`
    /// (which keeps this date) or `finalizePayment` (which dates it at the
    /// declaration).
    function pay(Settlement[] calldata records, uint64[] calldata paidDates) external;

    /// @notice Confirms receipt of declared payments (PaymentDeclared -> Paid).
    /// Only the payee may: the lender of a financed settlement, else the platform.
    function confirmPayment(Settlement[] calldata records) external;

    /// @notice Makes declared payments final (PaymentDeclared -> Paid) once the
    /// dispute window (`disputeWindow`) since the declaration has passed. Anyone may.
    /// No payee confirmed the declared date, so the final paid date is the block
    /// time of the declaration.
    function finalizePayment(Settlement[] calldata records) external;

    /// @notice Marks Confirmed or Financed settlements past their due date as
    /// Overdue. Only the platform (the payee) may. A payment declared later may
    /// not be dated before the marking (it was unpaid then).
    function markOverdue(Settlement[] calldata records) external;

    /// @notice Opens a dispute on Invoiced, Confirmed, Financed, Overdue or
    /// PaymentDeclared settlements (the lender of a financed one may too). Either side may; `reasonHash` names the off-chain reason.
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

    /// @notice The settlement whose live pledge holds `fingerprint` (zero if none).
    function financedByFingerprint(bytes32 fingerprint) external view returns (bytes32);

    /// @notice The economic identity of a receivable: keccak256(abi.encode(shipper,
    /// platform, amount, invoiceDate / 1 days, dueDate / 1 days)).
    function fingerprintOf(Settlement calldata record) external pure returns (bytes32);

    /// @notice The settlement id of `referenceHash` at `platform`: keccak256(abi.encode(platform, referenceHash)).
    function idOf(bytes32 platform, bytes32 referenceHash) external pure returns (bytes32);

    /// @notice Seconds a declared payment stays open to dispute: the consortium
    /// parameter `settlementLedger.disputeWindow`, 7 days if unset, clamped to [1, 90] days.
    function disputeWindow() external view returns (uint256);

    /// @notice The digest the ledger stores for `record`.
    function digestOf(Settlement calldata record) external pure returns (bytes20);

    /// @notice The consortium registry this ledger asks about members.
    function consortium() external view returns (address);

    /// @notice The statuses a settlement may move to `to` from, as a bitmap
    /// (bit i set for Status(i)): the one lifecycle table every transition checks.
    function predecessorsOf(Status to) external pure returns (uint256);
}
