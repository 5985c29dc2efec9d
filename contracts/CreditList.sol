// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {ICreditList} from "./interfaces/ICreditList.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title CreditList
/// @notice Staked, contestable, pay-per-view credit list entries.
/// @dev Reciprocity is judged from CreditList activity only (a not-overturned
/// entry posted within the window), not from SettlementLedger confirmations:
/// the list then needs no ledger address and a viewer cannot buy the discount
/// with cheap self-confirmed settlements.
contract CreditList is ICreditList, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant MIN_STAKE = keccak256("creditList.minStake");
    bytes32 public constant ENTRY_TTL = keccak256("creditList.entryTtl");
    bytes32 public constant CONTEST_DEPOSIT = keccak256("creditList.contestDeposit");
    bytes32 public constant VIEW_FEE = keccak256("creditList.viewFee");
    bytes32 public constant RECIPROCITY_WINDOW = keccak256("creditList.reciprocityWindow");
    bytes32 public constant RECIPROCITY_DISCOUNT_BPS = keccak256("creditList.reciprocityDiscountBps");

    uint256 private constant BPS = 10_000;

    IConsortium private immutable _consortium;
    IERC20 private immutable _token;

    mapping(uint256 entryId => Entry) private _entries;
    mapping(uint256 entryId => Contest) private _contests;
    mapping(uint256 entryId => mapping(address voter => bool)) private _voted;
    mapping(bytes32 subject => uint256[] entryIds) private _bySubject;
    mapping(address maintainer => uint256[] entryIds) private _byMaintainer;
    mapping(address account => uint256) private _balances;
    mapping(address account => uint256) private _credited;
    mapping(address viewer => mapping(bytes32 subject => uint64 paidAt)) private _viewedAt;
    uint256 private _entryCount;
    uint256 private _totalBalances;
    uint256 private _totalStakes;
    uint256 private _totalDeposits;

    constructor(IConsortium consortium_, IERC20 token_) {
        _consortium = consortium_;
        _token = token_;
    }

    /// @inheritdoc ICreditList
    function post(EntryInput calldata input) external returns (uint256 entryId) {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.MAINTAINER)) {
            revert CreditListWrongRole(msg.sender, Roles.MAINTAINER);
        }
        if (input.subject == bytes32(0)) revert CreditListZeroSubject();
        if (input.amount == 0) revert CreditListBadAmount(input.amount);
        if (input.periodFrom == 0 || input.periodTo < input.periodFrom || input.periodTo > block.timestamp) {
            revert CreditListBadPeriod(input.periodFrom, input.periodTo);
        }
        if (input.evidence == bytes32(0)) revert CreditListMissingEvidence();
        if (input.detailsCommitment == bytes32(0)) revert CreditListMissingDetails();
        uint256 minStake = _consortium.parameter(MIN_STAKE);
        if (input.stake < minStake) revert CreditListStakeTooLow(input.stake, minStake);
        uint256 ttl = _consortium.parameter(ENTRY_TTL);
        if (ttl == 0) revert CreditListParameterNotSet(ENTRY_TTL);

        entryId = ++_entryCount;
        uint64 expiresAt = uint64(block.timestamp + ttl);
        Entry storage e = _entries[entryId];
        e.subject = input.subject;
        e.maintainer = msg.sender;
        e.category = input.category;
        e.band = _band(input.amount);
        e.status = Status.Active;
        e.postedAt = uint64(block.timestamp);
        e.expiresAt = expiresAt;
        e.periodFrom = input.periodFrom;
        e.periodTo = input.periodTo;
        e.amount = input.amount;
        e.stake = input.stake;
        e.settlementsHash = keccak256(abi.encodePacked(input.settlementIds));
        e.evidence = input.evidence;
        e.detailsCommitment = input.detailsCommitment;
        _bySubject[input.subject].push(entryId);
        _byMaintainer[msg.sender].push(entryId);
        _totalStakes += input.stake;
        emit EntryPosted(entryId, input.subject, msg.sender, input.category, input.amount, e.band, input.stake, expiresAt);
        emit EntryEvidence(
            entryId, input.periodFrom, input.periodTo, input.settlementIds, input.evidence, input.detailsCommitment
        );
        if (input.stake > 0) _token.safeTransferFrom(msg.sender, address(this), input.stake);
    }

    /// @inheritdoc ICreditList
    function contest(uint256 entryId, bytes32 reasonHash) external {
        Entry storage e = _load(entryId);
        if (!_consortium.isActive(msg.sender) && _consortium.memberByOrg(e.subject) != msg.sender) {
            revert CreditListNotActiveMember(msg.sender);
        }
        if (e.maintainer == msg.sender) revert CreditListOwnEntry(entryId, msg.sender);
        if (e.status != Status.Active) revert CreditListNotContestable(entryId, e.status);
        if (block.timestamp >= e.expiresAt) revert CreditListEntryExpired(entryId, e.expiresAt);
        uint256 depositParam = _consortium.parameter(CONTEST_DEPOSIT);
        if (depositParam > type(uint128).max) revert CreditListBadParameter(CONTEST_DEPOSIT, depositParam);
        uint128 deposit = uint128(depositParam);
        e.status = Status.Contested;
        _contests[entryId] = Contest({
            contester: msg.sender,
            deposit: deposit,
            openedAt: uint64(block.timestamp),
            upholdVotes: 0,
            overturnVotes: 0,
            reasonHash: reasonHash
        });
        _totalDeposits += deposit;
        emit EntryContested(entryId, e.subject, msg.sender, deposit, reasonHash);
        if (deposit > 0) _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc ICreditList
    function resolve(uint256 entryId, bool uphold) external {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) {
            revert CreditListWrongRole(msg.sender, Roles.COMMITTEE);
        }
        Entry storage e = _load(entryId);
        if (e.status != Status.Contested) revert CreditListNotContested(entryId, e.status);
        Contest storage c = _contests[entryId];
        if (msg.sender == e.maintainer || msg.sender == c.contester) {
            revert CreditListConflictOfInterest(entryId, msg.sender);
        }
        if (_voted[entryId][msg.sender]) revert CreditListAlreadyVoted(entryId, msg.sender);
        _voted[entryId][msg.sender] = true;
        uint256 votes = uphold ? ++c.upholdVotes : ++c.overturnVotes;
        emit ContestVoted(entryId, msg.sender, uphold, votes);
        // votes are counted as cast; the threshold is read now, so a lowered threshold applies at the next vote
        if (votes < _consortium.threshold()) return;

        uint256 deposit = c.deposit;
        _totalDeposits -= deposit;
        if (uphold) {
            e.status = Status.Upheld;
            _credit(e.maintainer, deposit);
        } else {
            uint256 stake = e.stake;
            e.status = Status.Overturned;
            e.stake = 0;
            _totalStakes -= stake;
            _credit(c.contester, deposit + stake);
        }
        emit ContestResolved(entryId, uphold, e.maintainer, c.contester);
    }

    /// @inheritdoc ICreditList
    function viewSubject(bytes32 subject) external returns (uint256 fee) {
        if (!_consortium.isActive(msg.sender)) revert CreditListNotActiveMember(msg.sender);
        uint256[] storage ids = _bySubject[subject];
        uint256[] memory active = new uint256[](ids.length);
        uint256 n;
        for (uint256 i = 0; i < ids.length; ++i) {
            if (_counts(_entries[ids[i]])) active[n++] = ids[i];
        }
        if (n == 0) revert CreditListNoActiveEntries(subject);
        assembly ("memory-safe") {
            mstore(active, n) // trim to the active entries
        }
        uint256 discount;
        (fee, discount) = _feeFor(msg.sender);
        _viewedAt[msg.sender][subject] = uint64(block.timestamp);
        if (fee > 0) {
            uint256 share = fee / n;
            // the integer remainder goes to the oldest active entry's maintainer
            _credit(_entries[active[0]].maintainer, share + fee % n);
            for (uint256 i = 1; i < n; ++i) {
                _credit(_entries[active[i]].maintainer, share);
            }
        }
        emit EntryViewed(subject, msg.sender, fee, discount, active);
        if (fee > 0) _token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc ICreditList
    function releaseStake(uint256 entryId) external {
        Entry storage e = _load(entryId);
        if (e.maintainer != msg.sender) revert CreditListNotMaintainerOf(entryId, msg.sender);
        if (e.stake == 0 || e.status == Status.Contested || block.timestamp < e.expiresAt) {
            revert CreditListStakeLocked(entryId);
        }
        uint256 stake = e.stake;
        e.stake = 0;
        _totalStakes -= stake;
        _credit(msg.sender, stake);
        emit StakeReleased(entryId, msg.sender, stake);
    }

    /// @inheritdoc ICreditList
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _balances[msg.sender];
        if (amount == 0) revert CreditListNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        _totalBalances -= amount;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ICreditList
    function viewFeeFor(address viewer) external view returns (uint256 fee, uint256 discount) {
        return _feeFor(viewer);
    }

    /// @inheritdoc ICreditList
    function isReciprocal(address viewer) public view returns (bool) {
        uint256 window = _consortium.parameter(RECIPROCITY_WINDOW);
        uint256[] storage ids = _byMaintainer[viewer];
        // newest first; stop at the first entry older than the window
        for (uint256 i = ids.length; i > 0; --i) {
            Entry storage e = _entries[ids[i - 1]];
            if (e.postedAt + window < block.timestamp) return false;
            if (e.status != Status.Overturned) return true;
        }
        return false;
    }

    /// @inheritdoc ICreditList
    function entry(uint256 entryId) external view returns (Entry memory) {
        return _load(entryId);
    }

    /// @inheritdoc ICreditList
    function contestOf(uint256 entryId) external view returns (Contest memory) {
        return _contests[entryId];
    }

    /// @inheritdoc ICreditList
    function isActiveEntry(uint256 entryId) external view returns (bool) {
        return _counts(_load(entryId));
    }

    /// @inheritdoc ICreditList
    function entryIdsOf(bytes32 subject) external view returns (uint256[] memory) {
        return _bySubject[subject];
    }

    /// @inheritdoc ICreditList
    function entriesOf(bytes32 subject) external view returns (Entry[] memory entries) {
        uint256[] storage ids = _bySubject[subject];
        entries = new Entry[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            entries[i] = _entries[ids[i]];
        }
    }

    /// @inheritdoc ICreditList
    function activeEntryCount(bytes32 subject) external view returns (uint256 n) {
        uint256[] storage ids = _bySubject[subject];
        for (uint256 i = 0; i < ids.length; ++i) {
            if (_counts(_entries[ids[i]])) ++n;
        }
    }

    /// @inheritdoc ICreditList
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc ICreditList
    function creditedTotal(address account) external view returns (uint256) {
        return _credited[account];
    }

    /// @inheritdoc ICreditList
    function hasPaidView(address viewer, bytes32 subject) external view returns (bool) {
        return _viewedAt[viewer][subject] != 0;
    }

    /// @inheritdoc ICreditList
    function lastViewedAt(address viewer, bytes32 subject) external view returns (uint64) {
        return _viewedAt[viewer][subject];
    }

    /// @inheritdoc ICreditList
    function liabilities() external view returns (uint256 balances, uint256 stakes, uint256 deposits) {
        return (_totalBalances, _totalStakes, _totalDeposits);
    }

    /// @inheritdoc ICreditList
    function entryCount() external view returns (uint256) {
        return _entryCount;
    }

    /// @inheritdoc ICreditList
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICreditList
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    function _feeFor(address viewer) private view returns (uint256 fee, uint256 discount) {
        fee = _consortium.parameter(VIEW_FEE);
        if (fee == 0 || !isReciprocal(viewer)) return (fee, 0);
        uint256 bps = _consortium.parameter(RECIPROCITY_DISCOUNT_BPS);
        if (bps > BPS) revert CreditListBadParameter(RECIPROCITY_DISCOUNT_BPS, bps);
        discount = fee * bps / BPS;
        fee -= discount;
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _balances[account] += amount;
        _credited[account] += amount;
        _totalBalances += amount;
        emit Credited(account, amount);
    }

    function _counts(Entry storage e) private view returns (bool) {
        return e.status != Status.Overturned && block.timestamp < e.expiresAt;
    }

    function _load(uint256 entryId) private view returns (Entry storage e) {
        e = _entries[entryId];
        if (e.status == Status.None) revert CreditListUnknownEntry(entryId);
    }

    function _band(uint256 amount) private pure returns (AmountBand) {
        if (amount < 1_000_000) return AmountBand.Under10k;
        if (amount < 10_000_000) return AmountBand.Under100k;
        if (amount < 100_000_000) return AmountBand.Under1m;
        return AmountBand.AtLeast1m;
    }
}
