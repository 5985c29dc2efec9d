// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IPayoutLedger
/// @notice The second leg of a freight order: what a platform owes a carrier
/// (fleet or owner-driver) per waybill, and whether and when it paid, confirmed
/// by both sides with the SettlementLedger's anti-backdating rules.
/// @dev Storage holds one slot per payout: a 160-bit digest of the immutable
/// record, its status, a 40-bit anchor time and the declared paid date. The
/// full record travels in the `PayoutRecorded` event; later calls pass the
/// record back and the ledger checks it against the stored digest.
///
/// Lifecycle: Recorded (by the platform, the payer) -> Confirmed (by the
/// carrier: the amount and delivery date are right); Recorded/Confirmed ->
/// Overdue (by the carrier, after the due date); Recorded/Confirmed/Overdue ->
/// PaymentDeclared (by the platform) -> Paid (receipt confirmed by the carrier,
/// or finalised by any active member once the dispute window has passed);
/// Recorded/Confirmed/Overdue/PaymentDeclared -> Disputed (by either side) ->
/// Resolved or Defaulted (by the committee); Overdue -> Defaulted (by the
/// committee). A late or missing payout is a fact about the platform.
///
/// Payment finality: the payer never closes its own debt. `pay` only declares;
/// the paid date it records lies between the block time at which the payout
/// was recorded (or marked Overdue by the carrier) and the block time of the
/// declaration, so a platform cannot look punctual by recording a payout after
/// paying it late, nor date a payment before the carrier said it was overdue. The
/// declared date stands only if the carrier confirms receipt; a payout finalised
/// by the dispute window alone is dated at its declaration's block time. The delivery
/// date may not lie after the block time of the recording.
///
/// Batches: lifecycle calls skip a record whose status the lifecycle table
/// does not allow (`PayoutSkipped`), as the SettlementLedger does; errors of
/// the caller's own making (not a party, unknown or tampered record, bad
/// date) revert the whole batch.
///
/// Ids: keccak256(abi.encode(platform, referenceHash)) of the platform's
/// waybill reference (creditshare.core.ids.settlement_id), so only the
/// platform of a payout can claim its id.
interface IPayoutLedger {
    enum Status {
        None,
        Recorded,
        Confirmed,
        PaymentDeclared,
        Paid,
        Overdue,
        Disputed,
        Resolved,
        Defaulted
    }

    /// @notice The immutable record of one payout owed. Subjects are keccak256
    /// subject ids; money is integer fen; dates are unix seconds; `settlement`
    /// is the SettlementLedger id of the freight order (zero if none);
    /// `evidence` is the sha2-256 digest of the waybill or proof of delivery.
    struct Payout {
        bytes32 id;
        bytes32 platform;
        bytes32 carrier;
        bytes32 settlement;
        uint256 amount;
        uint64 deliveryDate;
        uint64 dueDate;
        bytes32 evidence;
    }

    /// @notice What the ledger stores per payout (one slot). `since` is the
    /// block time of the recording, or of the carrier's overdue marking once
    /// it is marked Overdue (no payment can be dated before either), until
    /// payment is declared; then the block time of the declaration (the
    /// dispute window runs from it).
    struct PayoutState {
        bytes20 digest;
        Status status;
        uint40 since;
        uint40 paidDate;
    }

    error PayoutLedgerNotActiveMember(address caller);
    error PayoutLedgerWrongRole(address caller, bytes32 role);
    error PayoutLedgerNotParty(bytes32 id, address caller);
    error PayoutLedgerEmptyBatch();
    error PayoutLedgerLengthMismatch(uint256 records, uint256 values);
    error PayoutLedgerZeroId();
    error PayoutLedgerUnknownPayout(bytes32 id);
    error PayoutLedgerRecordMismatch(bytes32 id);
    error PayoutLedgerBadAmount(bytes32 id, uint256 amount);
    error PayoutLedgerBadDates(bytes32 id, uint64 deliveryDate, uint64 dueDate);
    error PayoutLedgerMissingEvidence(bytes32 id);
    error PayoutLedgerMissingSubject(bytes32 id);
    error PayoutLedgerSameParty(bytes32 id, bytes32 subject);
    error PayoutLedgerCarrierNotMember(bytes32 id, bytes32 carrier);
    error PayoutLedgerPartyCannotResolve(bytes32 id, address caller);
    error PayoutLedgerBadTransition(bytes32 id, Status from, Status to);
    error PayoutLedgerNotYetDue(bytes32 id, uint64 dueDate);
    error PayoutLedgerBadPaidDate(bytes32 id, uint64 paidDate);
    error PayoutLedgerDisputeWindowOpen(bytes32 id, uint64 endsAt);

    event PayoutRecorded(
        bytes32 indexed id,
        bytes32 indexed platform,
        bytes32 indexed carrier,
        bytes32 settlement,
        uint256 amount,
        uint64 deliveryDate,
        uint64 dueDate,
        bytes32 evidence,
        address recorder
    );
    event PayoutConfirmed(bytes32 indexed id, address indexed by);
    event PayoutPaymentDeclared(bytes32 indexed id, uint64 paidDate, address indexed by);
    event PayoutPaid(bytes32 indexed id, uint64 paidDate, address indexed by);
    event PayoutOverdue(bytes32 indexed id, address indexed by);
    event PayoutDisputed(bytes32 indexed id, bytes32 reasonHash, address indexed by);
    event PayoutResolved(bytes32 indexed id, Status outcome, address indexed by);
    /// @notice A batched call left payout `id` as it was: its status `current` may not move to `wanted`.
    event PayoutSkipped(bytes32 indexed id, Status current, Status wanted);

    /// @notice Records a batch of payouts owed as Recorded. The caller must be
    /// the active PLATFORM member of every record. Platform and carrier are
    /// distinct subjects; `records[i].id` is keccak256(abi.encode(platform,
    /// referenceHashes[i])). The amount lies in [1, 10^12] fen; the delivery
    /// date lies in [2000-01-01, now] and the due date in [delivery, 2099-12-31]
    /// (the SettlementLedger's MAX_AMOUNT, EARLIEST_DATE and LATEST_DATE). The
    /// carrier must be the organisation of an active CARRIER member
    /// (`PayoutLedgerCarrierNotMember`): a payout owed to nobody who can confirm
    /// or dispute it would turn Paid by the dispute window alone. The whole
    /// batch reverts on an invalid record; an existing id is skipped.
    function record(Payout[] calldata records, bytes32[] calldata referenceHashes) external;

    /// @notice Confirms Recorded payouts (-> Confirmed). Only the carrier (an
    /// active CARRIER member whose organisation is the record's carrier) may.
    function confirm(Payout[] calldata records) external;

    /// @notice Declares payment of Recorded, Confirmed or Overdue payouts
    /// (-> PaymentDeclared). Only the platform may. `paidDates[i]` lies between
    /// the block time of the recording (of the overdue marking, for an Overdue
    /// payout) and now, or is 0 for now (`PayoutLedgerBadPaidDate`).
    function pay(Payout[] calldata records, uint64[] calldata paidDates) external;

    /// @notice Confirms receipt of declared payouts (PaymentDeclared -> Paid). Only the carrier may.
    function confirmReceipt(Payout[] calldata records) external;

    /// @notice Makes declared payouts final (PaymentDeclared -> Paid) once the
    /// dispute window since the declaration has passed. Any active member may.
    /// No carrier confirmed the declared date, so the final paid date is the
    /// block time of the declaration.
    function finalizePayment(Payout[] calldata records) external;

    /// @notice Marks Recorded or Confirmed payouts past their due date as
    /// Overdue. Only the carrier (the payee) may. A payment declared later
    /// cannot be dated before the marking.
    function markOverdue(Payout[] calldata records) external;

    /// @notice Opens a dispute on Recorded, Confirmed, Overdue or
    /// PaymentDeclared payouts. The platform or the carrier may.
    function dispute(Payout[] calldata records, bytes32 reasonHash) external;

    /// @notice Closes Disputed payouts as Resolved or Defaulted, or Overdue ones
    /// as Defaulted. Only active COMMITTEE members may, and never one whose
    /// organisation is the payout's platform or carrier (`PayoutLedgerPartyCannotResolve`).
    function resolve(Payout[] calldata records, bool defaulted) external;

    /// @notice The stored state of payout `id` (all zero if unknown).
    function stateOf(bytes32 id) external view returns (PayoutState memory);

    /// @notice The stored states of many payouts in one call.
    function statesOf(bytes32[] calldata ids) external view returns (PayoutState[] memory);

    /// @notice The payout id of `referenceHash` at `platform`.
    function idOf(bytes32 platform, bytes32 referenceHash) external pure returns (bytes32);

    /// @notice The digest the ledger stores for `payout`.
    function digestOf(Payout calldata payout) external pure returns (bytes20);

    /// @notice Seconds a declared payout stays open to dispute: the consortium
    /// parameter `settlementLedger.disputeWindow` (one window for both legs), 7
    /// days if unset, clamped to [1, 90] days.
    function disputeWindow() external view returns (uint256);

    /// @notice The consortium registry this ledger asks about members.
    function consortium() external view returns (address);

    /// @notice The statuses a payout may move to `to` from, as a bitmap (bit i
    /// set for Status(i)): the one lifecycle table every transition checks.
    function predecessorsOf(Status to) external pure returns (uint256);
}
