// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ITripRegistry
/// @notice Per settlement, what the trip evidence showed: verified, implausible
/// or no log; where oracles and lenders read it. A verdict is final only when
/// k distinct active oracles agree on it.
/// @dev Each ORACLE member runs the plausibility checks off chain on its own
/// (`creditshare trips verify`: scoring/trips.py) over the trip log stored as
/// an evidence document and *attests* its claim per settlement: the verdict,
/// the vehicle's energy, the log's sha2-256 digest and the track's fingerprint
/// (clock-free: a track presented again, re-timed, keeps it). The claim is
/// identified by `claimOf` (keccak256 of the four, ABI-encoded).
///
/// k of n, like every oracle output here: k is the consortium's governed
/// parameter `keccak256("oracle.threshold")`, the same k that ScoreOracle
/// reads for score reports (at least 2, at most the active oracles). An oracle
/// holds one attestation per settlement; attesting another claim moves its
/// vote. The support of a claim is the number of *active* oracles whose
/// attestation is that claim, counted when it is attested: an oracle suspended
/// since it attested no longer counts, and one oracle can never count twice.
/// When a claim's support reaches k and it is not the final record already,
/// it becomes the settlement's final record (`TripVerdictRecorded`, `by` being
/// the oracle whose attestation completed the k); fewer than k oracles can
/// neither set nor overwrite a final verdict. Every attestation is an event
/// (`TripAttested`, with the claim's support then), so readers can show the
/// pending ones.
///
/// Tracks follow final records only: the first settlement whose final record
/// presented a fingerprint keeps it, so a later batch, by any oracle, finds a
/// reused track by one read. A settlement whose final record changes to one
/// without the track it claimed releases it (`TripTrackReleased`), so a track
/// claimed by a mistaken or invented settlement id can be corrected (by k).
///
/// Bounded: at most `maxBatch()` settlements an `attest`, and per settlement one
/// read per active oracle (the oracle set is read once per call).
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

    /// @notice The final verdict of one settlement (one slot for the verdict, time and oracle).
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
    error TripRegistryBatchTooLarge(uint256 size, uint256 max);
    error TripRegistryLengthMismatch(uint256 ids, uint256 values);
    error TripRegistryZeroSettlement();
    error TripRegistryBadVerdict(bytes32 settlementId, Verdict verdict);
    error TripRegistryBadLog(bytes32 settlementId);
    /// @notice `oracle.threshold` was never set: no verdict can be final, so no attestation is taken.
    error TripRegistryThresholdUnset();
    /// @notice k is below 2 or above the active oracles (oracles suspended since k was set).
    error TripRegistryBadThreshold(uint256 threshold, uint256 activeOracles);

    /// @notice The final verdict of `settlementId` is now this one: k active oracles attested it; `by`
    /// is the oracle whose attestation completed the k.
    event TripVerdictRecorded(
        bytes32 indexed settlementId,
        Verdict verdict,
        Energy energy,
        bytes32 logDigest,
        bytes32 indexed fingerprint,
        address indexed by
    );

    /// @notice Oracle `oracle` attests `claim` for `settlementId` (its earlier attestation, if any, no longer
    /// counts); `support` is the number of active oracles attesting that claim now, this one included.
    event TripAttested(
        bytes32 indexed settlementId,
        address indexed oracle,
        bytes32 indexed claim,
        Verdict verdict,
        Energy energy,
        bytes32 logDigest,
        bytes32 fingerprint,
        uint256 support
    );

    /// @notice Settlement `settlementId` no longer claims the track `fingerprint`: its final verdict changed
    /// to one without that track, so the next settlement that presents it claims it.
    event TripTrackReleased(bytes32 indexed fingerprint, bytes32 indexed settlementId, address indexed by);

    /// @notice Attests the caller's claims for a batch of settlements. Only active ORACLE members may,
    /// and only while `oracle.threshold` is set and at most the active oracles. `NoLog` carries a zero
    /// digest and fingerprint and an unknown energy; `Verified` and `Implausible` carry both and a known
    /// energy type (`TripRegistryBadLog`). A claim the caller attested already for a settlement
    /// changes nothing (a rerun, a settlement twice in one batch: one oracle is one vote).
    function attest(
        bytes32[] calldata settlementIds,
        Verdict[] calldata verdicts,
        Energy[] calldata energies,
        bytes32[] calldata logDigests,
        bytes32[] calldata fingerprints
    ) external;

    /// @notice The final verdict of settlement `settlementId` (all zero if none).
    function verdictOf(bytes32 settlementId) external view returns (TripRecord memory);

    /// @notice The final verdicts of many settlements in one call.
    function verdictsOf(bytes32[] calldata settlementIds) external view returns (TripRecord[] memory);

    /// @notice The first settlement whose final verdict presented the track `fingerprint` (zero if none).
    function settlementOfTrack(bytes32 fingerprint) external view returns (bytes32);

    /// @notice The claim `oracle` attests for each of `settlementIds` (zero where none): what a rerun
    /// compares its own claims with, in one call.
    function attestationsOf(bytes32[] calldata settlementIds, address oracle) external view returns (bytes32[] memory);

    /// @notice The active oracles and the claim each attests for `settlementId` (zero where none).
    function attestationsFor(bytes32 settlementId)
        external
        view
        returns (address[] memory oracles, bytes32[] memory claims);

    /// @notice The number of active oracles attesting `claim` for `settlementId` now.
    function supportOf(bytes32 settlementId, bytes32 claim) external view returns (uint256);

    /// @notice The identity of a claim: keccak256(abi.encode(verdict, energy, logDigest, fingerprint)).
    function claimOf(Verdict verdict, Energy energy, bytes32 logDigest, bytes32 fingerprint)
        external
        pure
        returns (bytes32);

    /// @notice k: the agreeing active oracles a final verdict needs (the governed `oracle.threshold`;
    /// zero while unset).
    function threshold() external view returns (uint256);

    /// @notice The most settlements one `attest` takes (a batch that finalises all of them ~19M gas).
    function maxBatch() external pure returns (uint256);

    /// @notice The consortium registry this registry asks about members and k.
    function consortium() external view returns (address);
}
