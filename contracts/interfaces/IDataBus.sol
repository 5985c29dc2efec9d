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
/// Storage per access is one slot (consent id, scope, time); the lender and the
/// purpose are read from the consent, so `accessesOf` returns full records.
/// `accessesOf` is refused to anyone but the subject's member and active
/// committee members; like all chain state, the log is still visible to node
/// operators, which is why it holds ids and hashes only.
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
    /// `scope` a non-empty subset of the three scopes; `expiresAt` in the future.
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
    /// `validConsent`).
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

    /// @notice Every access to `subject`'s data, oldest first. Only the member
    /// registered for `subject` and active COMMITTEE members may ask.
    function accessesOf(bytes32 subject) external view returns (Access[] memory);

    /// @notice How many accesses to `subject`'s data were recorded.
    function accessCount(bytes32 subject) external view returns (uint256);

    /// @notice How many consents were granted.
    function consentCount() external view returns (uint256);

    /// @notice The consortium registry.
    function consortium() external view returns (address);
}
