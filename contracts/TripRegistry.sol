// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {ITripRegistry} from "./interfaces/ITripRegistry.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title TripRegistry
/// @notice Trip-evidence verdicts per settlement, recorded by oracles.
contract TripRegistry is ITripRegistry {
    IConsortium private immutable _consortium;

    mapping(bytes32 settlementId => TripRecord) private _records;
    mapping(bytes32 fingerprint => bytes32 settlementId) private _trackOwner;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc ITripRegistry
    function record(
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
        if (verdicts.length != n) revert TripRegistryLengthMismatch(n, verdicts.length);
        if (energies.length != n) revert TripRegistryLengthMismatch(n, energies.length);
        if (logDigests.length != n) revert TripRegistryLengthMismatch(n, logDigests.length);
        if (fingerprints.length != n) revert TripRegistryLengthMismatch(n, fingerprints.length);
        for (uint256 i = 0; i < n; ++i) {
            _record(settlementIds[i], verdicts[i], energies[i], logDigests[i], fingerprints[i]);
        }
    }

    function _record(bytes32 id, Verdict verdict, Energy energy, bytes32 digest, bytes32 fingerprint) private {
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
    function consortium() external view returns (address) {
        return address(_consortium);
    }
}
