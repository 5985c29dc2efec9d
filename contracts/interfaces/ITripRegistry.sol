// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ITripRegistry
/// @notice Per settlement, what the trip evidence showed: verified, implausible
/// or no log; where oracles and lenders read it.
/// @dev An ORACLE member runs the plausibility checks off chain
/// (`creditshare trips verify`: scoring/trips.py) over the trip log stored as
/// an evidence document and records the verdict with the log's sha2-256
/// digest and the track's fingerprint (clock-free: a track presented again,
/// re-timed, keeps it). The first settlement that presented a fingerprint is
/// kept, so a later batch, by any oracle, finds a reused track by one read.
/// A verdict may be recorded again (a log uploaded late, a check improved):
/// the latest wins and every one stays in the events. A settlement recorded
/// again without the track it claimed releases it (`TripTrackReleased`), so a
/// track claimed by a mistaken or invented settlement id can be corrected.
interface ITripRegistry {
    enum Verdict {
        None,
        NoLog,
        Verified,
        Implausible
    }

    /// @notice The vehicle's energy type, from the trip log (Unknown without a log): lenders favour new energy.
    enum Energy {
        Unknown,
        Diesel,
        Lng,
        Electric,
        Hydrogen
    }

    /// @notice The latest verdict of one settlement (one slot for the verdict, time and oracle).
    struct TripRecord {
        Verdict verdict;
        Energy energy;
        uint40 recordedAt;
        address by;
        bytes32 logDigest;
        bytes32 fingerprint;
    }

    error TripRegistryWrongRole(address caller, bytes32 role);
    error TripRegistryEmptyBatch();
    error TripRegistryLengthMismatch(uint256 ids, uint256 values);
    error TripRegistryZeroSettlement();
    error TripRegistryBadVerdict(bytes32 settlementId, Verdict verdict);
    error TripRegistryBadLog(bytes32 settlementId);

    event TripVerdictRecorded(
        bytes32 indexed settlementId,
        Verdict verdict,
        Energy energy,
        bytes32 logDigest,
        bytes32 indexed fingerprint,
        address indexed by
    );

    /// @notice Settlement `settlementId` no longer claims the track `fingerprint`: its verdict was
    /// recorded again without that track, so the next settlement that presents it claims it.
    event TripTrackReleased(bytes32 indexed fingerprint, bytes32 indexed settlementId, address indexed by);

    /// @notice Records the verdicts of a batch of settlements. Only active
    /// ORACLE members may. `NoLog` carries a zero digest and fingerprint;
    /// `Verified` and `Implausible` carry both and a known energy type (`TripRegistryBadLog`).
    function record(
        bytes32[] calldata settlementIds,
        Verdict[] calldata verdicts,
        Energy[] calldata energies,
        bytes32[] calldata logDigests,
        bytes32[] calldata fingerprints
    ) external;

    /// @notice The latest verdict of settlement `settlementId` (all zero if none).
    function verdictOf(bytes32 settlementId) external view returns (TripRecord memory);

    /// @notice The latest verdicts of many settlements in one call.
    function verdictsOf(bytes32[] calldata settlementIds) external view returns (TripRecord[] memory);

    /// @notice The first settlement that presented the track `fingerprint` (zero if none).
    function settlementOfTrack(bytes32 fingerprint) external view returns (bytes32);

    /// @notice The consortium registry this registry asks about members.
    function consortium() external view returns (address);
}
