// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ITripRegistry} from "./interfaces/ITripRegistry.sol";
import {Parameters} from "./libraries/Parameters.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title TripRegistry
/// @notice Trip-evidence verdicts per settlement, final when k of n oracles attest the same claim.
contract TripRegistry is ITripRegistry {
    // a batch that finalises every settlement writes 3 record words and a track each: ~127k gas, ~19M for 150
    uint256 private constant MAX_BATCH = 150;

    IConsortium private immutable _consortium;

    mapping(bytes32 settlementId => TripRecord) private _records;
    mapping(bytes32 fingerprint => bytes32 settlementId) private _trackOwner;
    mapping(bytes32 settlementId => mapping(address oracle => bytes32 claim)) private _attestations;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc ITripRegistry
    function attest(
        bytes32[] calldata settlementIds,
        Verdict[] calldata verdicts,
        Energy[] calldata energies,
        bytes32[] calldata logDigests,
        bytes32[] calldata fingerprints
    ) external {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.ORACLE)) {
            revert TripRegistryWrongRole(msg.sender, Roles.ORACLE);
        }
        uint256 n = settlementIds.length;
        if (n == 0) revert TripRegistryEmptyBatch();
        if (n > MAX_BATCH) revert TripRegistryBatchTooLarge(n, MAX_BATCH);
        if (verdicts.length != n) revert TripRegistryLengthMismatch(n, verdicts.length);
        if (energies.length != n) revert TripRegistryLengthMismatch(n, energies.length);
        if (logDigests.length != n) revert TripRegistryLengthMismatch(n, logDigests.length);
        if (fingerprints.length != n) revert TripRegistryLengthMismatch(n, fingerprints.length);
        // the same k as score reports; the oracle set read once per call: supports count active oracles only
        uint256 k = _consortium.parameter(Parameters.ORACLE_THRESHOLD);
        if (k == 0) revert TripRegistryThresholdUnset();
        address[] memory oracles = _consortium.activeMembersWithRole(Roles.ORACLE);
        if (k < Parameters.MIN_ORACLE_THRESHOLD || k > oracles.length) {
            revert TripRegistryBadThreshold(k, oracles.length);
        }
        for (uint256 i = 0; i < n; ++i) {
            _attest(settlementIds[i], verdicts[i], energies[i], logDigests[i], fingerprints[i], oracles, k);
        }
    }

    function _attest(
        bytes32 id,
        Verdict verdict,
        Energy energy,
        bytes32 digest,
        bytes32 fingerprint,
        address[] memory oracles,
        uint256 k
    ) private {
        if (id == bytes32(0)) revert TripRegistryZeroSettlement();
        if (verdict == Verdict.None) revert TripRegistryBadVerdict(id, verdict);
        bool hasLog = verdict != Verdict.NoLog;
        // a verdict on a log names the log, its track and its vehicle's energy; "no log" names none of them
        if (
            hasLog != (digest != bytes32(0)) || hasLog != (fingerprint != bytes32(0))
                || hasLog != (energy != Energy.Unknown)
        ) {
            revert TripRegistryBadLog(id);
        }
        bytes32 claim = _claim(verdict, energy, digest, fingerprint);
        // one oracle, one vote: the same claim again (a rerun, a duplicate in the batch) changes nothing
        if (_attestations[id][msg.sender] == claim) return;
        _attestations[id][msg.sender] = claim;
        uint256 support = _support(id, claim, oracles);
        emit TripAttested(id, msg.sender, claim, verdict, energy, digest, fingerprint, support);
        if (support < k) return;
        TripRecord storage final_ = _records[id];
        if (
            final_.verdict == verdict && final_.energy == energy && final_.logDigest == digest
                && final_.fingerprint == fingerprint
        ) return;
        _record(id, verdict, energy, digest, fingerprint);
    }

    /// @dev The final record of a claim k oracles agree on (validated by `_attest`).
    function _record(bytes32 id, Verdict verdict, Energy energy, bytes32 digest, bytes32 fingerprint) private {
        bool hasLog = verdict != Verdict.NoLog;
        // a track claimed by this settlement and no longer presented by it is released: the claim can be corrected
        bytes32 previous = _records[id].fingerprint;
        if (previous != bytes32(0) && previous != fingerprint && _trackOwner[previous] == id) {
            delete _trackOwner[previous];
            emit TripTrackReleased(previous, id, msg.sender);
        }
        _records[id] = TripRecord({
            verdict: verdict,
            energy: energy,
            recordedAt: uint40(block.timestamp),
            by: msg.sender,
            logDigest: digest,
            fingerprint: fingerprint
        });
        if (hasLog && _trackOwner[fingerprint] == bytes32(0)) _trackOwner[fingerprint] = id;
        emit TripVerdictRecorded(id, verdict, energy, digest, fingerprint, msg.sender);
    }

    /// @dev Active oracles attesting `claim` for `id`; `oracles` holds distinct addresses, one read each.
    function _support(bytes32 id, bytes32 claim, address[] memory oracles) private view returns (uint256 support) {
        mapping(address oracle => bytes32 claim) storage votes = _attestations[id];
        for (uint256 j = 0; j < oracles.length; ++j) {
            if (votes[oracles[j]] == claim) ++support;
        }
    }

    function _claim(Verdict verdict, Energy energy, bytes32 digest, bytes32 fingerprint)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(verdict, energy, digest, fingerprint));
    }

    /// @inheritdoc ITripRegistry
    function verdictOf(bytes32 settlementId) external view returns (TripRecord memory) {
        return _records[settlementId];
    }

    /// @inheritdoc ITripRegistry
    function verdictsOf(bytes32[] calldata settlementIds) external view returns (TripRecord[] memory out) {
        out = new TripRecord[](settlementIds.length);
        for (uint256 i = 0; i < settlementIds.length; ++i) {
            out[i] = _records[settlementIds[i]];
        }
    }

    /// @inheritdoc ITripRegistry
    function settlementOfTrack(bytes32 fingerprint) external view returns (bytes32) {
        return _trackOwner[fingerprint];
    }

    /// @inheritdoc ITripRegistry
    function attestationsOf(bytes32[] calldata settlementIds, address oracle)
        external
        view
        returns (bytes32[] memory claims)
    {
        claims = new bytes32[](settlementIds.length);
        for (uint256 i = 0; i < settlementIds.length; ++i) {
            claims[i] = _attestations[settlementIds[i]][oracle];
        }
    }

    /// @inheritdoc ITripRegistry
    function attestationsFor(bytes32 settlementId)
        external
        view
        returns (address[] memory oracles, bytes32[] memory claims)
    {
        oracles = _consortium.activeMembersWithRole(Roles.ORACLE);
        claims = new bytes32[](oracles.length);
        for (uint256 j = 0; j < oracles.length; ++j) {
            claims[j] = _attestations[settlementId][oracles[j]];
        }
    }

    /// @inheritdoc ITripRegistry
    function supportOf(bytes32 settlementId, bytes32 claim) external view returns (uint256) {
        if (claim == bytes32(0)) return 0; // "no attestation" is no claim
        return _support(settlementId, claim, _consortium.activeMembersWithRole(Roles.ORACLE));
    }

    /// @inheritdoc ITripRegistry
    function claimOf(Verdict verdict, Energy energy, bytes32 logDigest, bytes32 fingerprint)
        external
        pure
        returns (bytes32)
    {
        return _claim(verdict, energy, logDigest, fingerprint);
    }

    /// @inheritdoc ITripRegistry
    function maxBatch() external pure returns (uint256) {
        return MAX_BATCH;
    }

    /// @inheritdoc ITripRegistry
    function threshold() external view returns (uint256) {
        return _consortium.parameter(Parameters.ORACLE_THRESHOLD);
    }

    /// @inheritdoc ITripRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }
}
