// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title IDataBus
/// @notice The data transaction control bus: a subject's consent to a lender
/// for a purpose and scope, and the on-chain log of every access a lender makes
/// under such a consent.
/// @dev The bus is the gate and the audit trail, not the data store: a lender
/// calls `access` (or `accessMany`) before it reads a subject's score,
/// settlement history or list entries, and data holders serve a read only for
/// a recorded access (the `DataAccessed` event names the consent).
///
/// A subject is the `orgId` of a consortium member; the member registered for
/// that orgId grants and revokes for it. A new grant for the same (subject,
/// lender, purpose) replaces the earlier one. A consent is valid while it is not
/// revoked, not expired, and the lender is still an active LENDER member.
///
/// What every member can read without the bus: the chain is members-only but
/// not private between members. Scores and tiers (`ScoreOracle.scoreOf` /
/// `scoresOf`), the facts of credit-list entries (`CreditList.entriesOf`:
/// subject, maintainer, amount band, status, the details commitment) and the
/// settlement ledger's records and events are public to every member and
/// every node operator; a consent does not hide them and the log does not see
/// a read of them. What a consented, logged read is for is what is kept off
/// chain: the sealed details of credit-list entries and any data a holder
/// serves off chain. A holder serves such a read only for a `DataAccessed`
/// record of that reader, for that subject, in the right scope, at or before
/// the read, under a consent still valid (the events are public, so any
/// holder can check; the Python binding's `consented_list_access` does it for
/// list details). For public data the log is the lender's declaration of
/// use, made in its own transaction, not a gate.
///
/// `eth_call` is not authentication: anyone can set the `from` of a call, so
/// a view that reads `msg.sender` (`accessesOf`) only keeps honest callers
/// from reading the log by mistake; the log itself, like all chain state and
/// the `DataAccessed` events, is visible to every node operator, which is why
/// it holds ids and hashes only.
///
/// Storage per access is one slot (consent id, scope, time); the lender and the
/// purpose are read from the consent, so `accessesOf` returns full records.
/// The log only grows by an active lender's consented accesses, at most
/// `MAX_BATCH` per `accessMany`, and is read in pages of at most `MAX_PAGE`
/// records, so no read of it can run out of gas however long it grows.
interface IDataBus {
    /// @notice A subject's consent.
    struct Consent {
        bytes32 subject;
        address lender;
        bytes32 purpose; // keccak256 of a purpose name, e.g. "receivable-financing"
        uint8 scope; // bitmask of SCOPE_SCORE | SCOPE_SETTLEMENTS | SCOPE_LIST
        uint64 grantedAt;
        uint64 expiresAt;
        bool revoked;
        address grantor;
    }

    /// @notice One recorded access, as `accessesOf` returns it.
    struct Access {
        address lender;
        bytes32 purpose;
        uint256 consentId;
        uint8 scope;
        uint64 at;
    }

    error DataBusNotActiveMember(address caller);
    error DataBusWrongRole(address caller, bytes32 role);
    error DataBusNotLender(address lender);
    error DataBusBadScope(uint8 scope);
    error DataBusZeroPurpose();
    error DataBusBadExpiry(uint64 expiresAt);
    error DataBusUnknownConsent(uint256 consentId);
    error DataBusNotSubject(uint256 consentId, address caller);
    error DataBusAlreadyRevoked(uint256 consentId);
    error DataBusNoConsent(bytes32 subject, address lender, bytes32 purpose);
    error DataBusConsentRevoked(uint256 consentId);
    error DataBusConsentExpired(uint256 consentId, uint64 expiresAt);
    error DataBusScopeNotGranted(uint256 consentId, uint8 granted, uint8 requested);
    error DataBusEmptyBatch();
    error DataBusNotAuthorised(address caller, bytes32 subject);
    error DataBusBatchTooLarge(uint256 size, uint256 max);
    error DataBusBadPageSize(uint256 limit, uint256 max);

    event ConsentGranted(
        uint256 indexed consentId,
        bytes32 indexed subject,
        address indexed lender,
        bytes32 purpose,
        uint8 scope,
        uint64 expiresAt,
        address grantor
    );
    event ConsentRevoked(uint256 indexed consentId, bytes32 indexed subject, address indexed by);
    event DataAccessed(
        bytes32 indexed subject,
        address indexed lender,
        bytes32 indexed purpose,
        uint256 consentId,
        uint8 scope,
        uint256 accessIndex
    );

    /// @notice Grants `lender` consent to access the caller's data for
    /// `purpose` within `scope` until `expiresAt`. The caller must be an active
    /// member (its orgId is the subject); `lender` an active LENDER member;
    /// `scope` a non-empty subset of the three scopes; `expiresAt` in the future
    /// and at most `MAX_CONSENT_SECONDS` (100 years and a day) after the block's time.
    /// @return consentId The new consent's id (ids start at 1).
    function grant(address lender, bytes32 purpose, uint8 scope, uint64 expiresAt)
        external
        returns (uint256 consentId);

    /// @notice Revokes a consent. Only the member registered for the consent's
    /// subject may, active or suspended.
    function revoke(uint256 consentId) external;

    /// @notice Records an access by the caller, an active LENDER member, to
    /// `subject`'s data in `scope` for `purpose`. Reverts unless a valid consent
    /// covers every bit of `scope`.
    /// @return consentId The consent the access was made under.
    function access(bytes32 subject, uint8 scope, bytes32 purpose) external returns (uint256 consentId);

    /// @notice `access` for many subjects in one transaction; all or nothing:
    /// one subject without a valid consent reverts the batch (pre-filter with
    /// `validConsent`). At most `MAX_BATCH` subjects a call.
    function accessMany(bytes32[] calldata subjects, uint8 scope, bytes32 purpose)
        external
        returns (uint256[] memory consentIds);

    /// @notice The valid consent of `subject` for `lender`, `purpose` and
    /// `scope` now, or 0 if there is none.
    function validConsent(bytes32 subject, address lender, bytes32 purpose, uint8 scope)
        external
        view
        returns (uint256 consentId);

    /// @notice A consent (reverts for an unknown id).
    function consent(uint256 consentId) external view returns (Consent memory);

    /// @notice The ids of every consent `subject` ever granted, oldest first.
    function consentsOf(bytes32 subject) external view returns (uint256[] memory);

    /// @notice The accesses to `subject`'s data with log indexes `offset` up to
    /// `offset + limit` (fewer at the end of the log, none past it), oldest
    /// first; `limit` is 1..`MAX_PAGE`. Only the member registered for
    /// `subject` and active COMMITTEE members may ask; in an `eth_call` that
    /// is not authentication (anyone can set `from`), see the contract notes.
    function accessesOf(bytes32 subject, uint256 offset, uint256 limit) external view returns (Access[] memory);

    /// @notice How many accesses to `subject`'s data were recorded.
    function accessCount(bytes32 subject) external view returns (uint256);

    /// @notice How many consents were granted.
    function consentCount() external view returns (uint256);

    /// @notice Most subjects one `accessMany` records.
    function MAX_BATCH() external view returns (uint256);

    /// @notice Most records one `accessesOf` page returns.
    function MAX_PAGE() external view returns (uint256);

    /// @notice Longest a consent may run, in seconds from its grant: 36,501 days, the CLI's 100 years
    /// (`--days 36500`) ending at the midnight UTC after.
    function MAX_CONSENT_SECONDS() external view returns (uint64);

    /// @notice The consortium registry.
    function consortium() external view returns (address);
}
