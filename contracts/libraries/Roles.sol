// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Roles
/// @notice The consortium's member roles, as AccessControl role ids.
library Roles {
    bytes32 internal constant SHIPPER = keccak256("SHIPPER");
    bytes32 internal constant PLATFORM = keccak256("PLATFORM");
    bytes32 internal constant CARRIER = keccak256("CARRIER");
    bytes32 internal constant LENDER = keccak256("LENDER");
    bytes32 internal constant ORACLE = keccak256("ORACLE");
    bytes32 internal constant MAINTAINER = keccak256("MAINTAINER");
    bytes32 internal constant COMMITTEE = keccak256("COMMITTEE");

    /// @dev Admin of every member role; held by the Consortium contract alone, so
    /// roles change only through executed governance proposals.
    bytes32 internal constant GOVERNOR = keccak256("GOVERNOR");

    function isMemberRole(bytes32 role) internal pure returns (bool) {
        return role == SHIPPER || role == PLATFORM || role == CARRIER || role == LENDER || role == ORACLE
            || role == MAINTAINER || role == COMMITTEE;
    }
}
