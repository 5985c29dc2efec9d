// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Parameters
/// @notice The governed parameters of CreditShare and the range each may take: the one
/// table that `Consortium` checks when a SET_PARAMETER proposal is made and again when it
/// executes. `creditshare/bindings/consortium.py` (`PARAMETER_BOUNDS`) mirrors it and a
/// test compares the two through `IConsortium.parameterBounds`.
/// @dev A key is keccak256 of the parameter's name. Times are seconds, money is token
/// units, capped at uint128 so that stakes, deposits and fees fit the stored fields. A
/// zero `creditList.entryTtl` is allowed and means posting is off (`CreditList` refuses
/// to post until it is set). The maximum of `oracle.threshold` is not a constant: it is
/// the number of active ORACLE members, which the caller passes in.
library Parameters {
    bytes32 internal constant PROPOSAL_TTL = keccak256("consortium.proposalTtl");
    bytes32 internal constant ENTRY_TTL = keccak256("creditList.entryTtl");
    bytes32 internal constant MIN_STAKE = keccak256("creditList.minStake");
    bytes32 internal constant CONTEST_DEPOSIT = keccak256("creditList.contestDeposit");
    bytes32 internal constant VIEW_FEE = keccak256("creditList.viewFee");
    bytes32 internal constant RECIPROCITY_WINDOW = keccak256("creditList.reciprocityWindow");
    bytes32 internal constant RECIPROCITY_DISCOUNT_BPS = keccak256("creditList.reciprocityDiscountBps");
    bytes32 internal constant MAX_LIVE_PER_MAINTAINER = keccak256("creditList.maxLivePerMaintainer");
    bytes32 internal constant MAX_MAINTAINERS_PER_SUBJECT = keccak256("creditList.maxMaintainersPerSubject");
    bytes32 internal constant CONTEST_TIMEOUT = keccak256("creditList.contestTimeout");
    bytes32 internal constant ORACLE_THRESHOLD = keccak256("oracle.threshold");
    bytes32 internal constant DISPUTE_WINDOW = keccak256("settlementLedger.disputeWindow");

    uint256 internal constant MIN_PROPOSAL_TTL = 1 hours;
    uint256 internal constant MAX_PROPOSAL_TTL = 90 days;
    uint256 internal constant MAX_PERIOD = 3650 days;
    uint256 internal constant MAX_MONEY = type(uint128).max;
    uint256 internal constant MAX_BPS = 10_000;
    // CreditList's caps (its MAX_LIVE_PER_MAINTAINER_LIMIT, MAX_MAINTAINERS_PER_SUBJECT_LIMIT and contest
    // timeout range); unset (zero) they take CreditList's defaults, once set they stay within these
    uint256 internal constant MAX_LIVE_PER_MAINTAINER_LIMIT = 8;
    uint256 internal constant MAX_MAINTAINERS_PER_SUBJECT_LIMIT = 32;
    uint256 internal constant MIN_CONTEST_TIMEOUT = 1 days;
    uint256 internal constant MAX_CONTEST_TIMEOUT = 365 days;
    // SettlementLedger's dispute window for declared payments; unset (zero) it takes the ledger's 7 days
    uint256 internal constant MIN_DISPUTE_WINDOW = 1 days;
    uint256 internal constant MAX_DISPUTE_WINDOW = 90 days;
    // k of n: one oracle alone must never be able to put a score on chain
    uint256 internal constant MIN_ORACLE_THRESHOLD = 2;

    /// @notice Every governed parameter key, in a fixed order.
    function keys() internal pure returns (bytes32[] memory all) {
        all = new bytes32[](12);
        all[0] = PROPOSAL_TTL;
        all[1] = ENTRY_TTL;
        all[2] = MIN_STAKE;
        all[3] = CONTEST_DEPOSIT;
        all[4] = VIEW_FEE;
        all[5] = RECIPROCITY_WINDOW;
        all[6] = RECIPROCITY_DISCOUNT_BPS;
        all[7] = MAX_LIVE_PER_MAINTAINER;
        all[8] = MAX_MAINTAINERS_PER_SUBJECT;
        all[9] = CONTEST_TIMEOUT;
        all[10] = ORACLE_THRESHOLD;
        all[11] = DISPUTE_WINDOW;
    }

    /// @notice The inclusive range of `key`; `known` is false for a key not in the table.
    /// @param activeOracles The number of active ORACLE members (the maximum of `oracle.threshold`).
    function bounds(bytes32 key, uint256 activeOracles) internal pure returns (bool known, uint256 min, uint256 max) {
        if (key == PROPOSAL_TTL) return (true, MIN_PROPOSAL_TTL, MAX_PROPOSAL_TTL);
        if (key == ENTRY_TTL || key == RECIPROCITY_WINDOW) return (true, 0, MAX_PERIOD);
        if (key == MIN_STAKE || key == CONTEST_DEPOSIT || key == VIEW_FEE) return (true, 0, MAX_MONEY);
        if (key == RECIPROCITY_DISCOUNT_BPS) return (true, 0, MAX_BPS);
        if (key == MAX_LIVE_PER_MAINTAINER) return (true, 1, MAX_LIVE_PER_MAINTAINER_LIMIT);
        if (key == MAX_MAINTAINERS_PER_SUBJECT) return (true, 1, MAX_MAINTAINERS_PER_SUBJECT_LIMIT);
        if (key == CONTEST_TIMEOUT) return (true, MIN_CONTEST_TIMEOUT, MAX_CONTEST_TIMEOUT);
        if (key == ORACLE_THRESHOLD) return (true, MIN_ORACLE_THRESHOLD, activeOracles);
        if (key == DISPUTE_WINDOW) return (true, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        return (false, 0, 0);
    }
}
