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
///
/// Live entries are kept per subject as a short list of maintainers, each with
/// a short list of its entry ids (both capped), beside the append-only history
/// read in pages. A view walks only the live lists, so its cost is bounded by
/// the caps, not by the subject's history.
contract CreditList is ICreditList, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant MIN_STAKE = keccak256("creditList.minStake");
    bytes32 public constant ENTRY_TTL = keccak256("creditList.entryTtl");
    bytes32 public constant CONTEST_DEPOSIT = keccak256("creditList.contestDeposit");
    bytes32 public constant VIEW_FEE = keccak256("creditList.viewFee");
    bytes32 public constant RECIPROCITY_WINDOW = keccak256("creditList.reciprocityWindow");
    bytes32 public constant RECIPROCITY_DISCOUNT_BPS = keccak256("creditList.reciprocityDiscountBps");
    bytes32 public constant MAX_LIVE_PER_MAINTAINER = keccak256("creditList.maxLivePerMaintainer");
    bytes32 public constant MAX_MAINTAINERS_PER_SUBJECT = keccak256("creditList.maxMaintainersPerSubject");
    bytes32 public constant CONTEST_TIMEOUT = keccak256("creditList.contestTimeout");

    uint256 public constant MAX_ENTRY_TTL = 3650 days;
    uint256 public constant MAX_RECIPROCITY_WINDOW = 3650 days;
    uint256 public constant DEFAULT_LIVE_PER_MAINTAINER = 3;
    uint256 public constant MAX_LIVE_PER_MAINTAINER_LIMIT = 8;
    uint256 public constant DEFAULT_MAINTAINERS_PER_SUBJECT = 16;
    uint256 public constant MAX_MAINTAINERS_PER_SUBJECT_LIMIT = 32;
    uint256 public constant DEFAULT_CONTEST_TIMEOUT = 30 days;
    uint256 public constant MIN_CONTEST_TIMEOUT = 1 days;
    uint256 public constant MAX_CONTEST_TIMEOUT = 365 days;
    uint8 public constant MAX_VOTE_ROUNDS = 3;
    uint256 public constant MAX_RECIPROCITY_SCAN = 32;
    uint256 public constant MAX_PAGE = 100;

    uint256 private constant BPS = 10_000;

    IConsortium private immutable _consortium;
    IERC20 private immutable _token;

    mapping(uint256 entryId => Entry) private _entries;
    mapping(uint256 entryId => Contest) private _contests;
    // votes are keyed by ballot: a new contest or a revote opens a new one, so old votes never carry over
    mapping(uint256 entryId => uint256 ballot) private _ballots;
    mapping(uint256 entryId => mapping(uint256 ballot => mapping(address voter => bool))) private _voted;
    mapping(uint256 entryId => bool) private _subjectContested;
    mapping(bytes32 subject => uint256[] entryIds) private _bySubject;
    mapping(bytes32 subject => address[] maintainers) private _maintainersOf;
    mapping(bytes32 subject => mapping(address maintainer => uint256[] entryIds)) private _live;
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
        uint256 minStake = _bounded(MIN_STAKE, type(uint128).max);
        if (input.stake < minStake) revert CreditListStakeTooLow(input.stake, minStake);
        uint256 ttl = _consortium.parameter(ENTRY_TTL);
        if (ttl == 0) revert CreditListParameterNotSet(ENTRY_TTL);
        // bounded here, where it is read: the uint64 expiry below cannot wrap
        if (ttl > MAX_ENTRY_TTL) revert CreditListBadParameter(ENTRY_TTL, ttl);
        _takeSlot(input.subject);

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
        _live[input.subject][msg.sender].push(entryId);
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
        bool bySubject = _consortium.memberByOrg(e.subject) == msg.sender;
        if (!bySubject && !_consortium.isActive(msg.sender)) revert CreditListNotActiveMember(msg.sender);
        if (e.maintainer == msg.sender) revert CreditListOwnEntry(entryId, msg.sender);
        Status status = e.status;
        if (bySubject) {
            // the subject contests once, whatever third parties filed or won before it
            if (_subjectContested[entryId] || status == Status.Overturned) {
                revert CreditListNotContestable(entryId, status);
            }
        } else if (status != Status.Active) {
            revert CreditListNotContestable(entryId, status);
        }
        if (block.timestamp >= e.expiresAt) revert CreditListEntryExpired(entryId, e.expiresAt);
        uint256 depositParam = _consortium.parameter(CONTEST_DEPOSIT);
        if (depositParam > type(uint128).max) revert CreditListBadParameter(CONTEST_DEPOSIT, depositParam);
        uint128 deposit = uint128(depositParam);
        uint64 deadline = uint64(block.timestamp + _contestTimeout());
        if (bySubject) _subjectContested[entryId] = true;
        if (status == Status.Contested) {
            Contest storage previous = _contests[entryId];
            (address displaced, uint128 refund) = (previous.contester, previous.deposit);
            _totalDeposits -= refund;
            _credit(displaced, refund);
            emit ContestSuperseded(entryId, displaced, refund);
        }
        ++_ballots[entryId];
        e.status = Status.Contested;
        _contests[entryId] = Contest({
            contester: msg.sender,
            deposit: deposit,
            openedAt: uint64(block.timestamp),
            upholdVotes: 0,
            overturnVotes: 0,
            deadline: deadline,
            round: 1,
            reasonHash: reasonHash
        });
        _totalDeposits += deposit;
        emit EntryContested(entryId, e.subject, msg.sender, deposit, reasonHash);
        if (deposit > 0) _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc ICreditList
    function resolve(uint256 entryId, bool uphold) external {
        (Entry storage e, Contest storage c) = _pendingFor(entryId);
        uint256 ballot = _ballots[entryId];
        if (_voted[entryId][ballot][msg.sender]) revert CreditListAlreadyVoted(entryId, msg.sender);
        _voted[entryId][ballot][msg.sender] = true;
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
    function revote(uint256 entryId) external {
        (, Contest storage c) = _pendingFor(entryId);
        if (c.upholdVotes == 0 || c.overturnVotes == 0) {
            revert CreditListVoteNotSplit(entryId, c.upholdVotes, c.overturnVotes);
        }
        if (c.round >= MAX_VOTE_ROUNDS) revert CreditListTooManyRounds(entryId, c.round);
        ++_ballots[entryId];
        uint8 round = ++c.round;
        c.upholdVotes = 0;
        c.overturnVotes = 0;
        emit ContestRevoted(entryId, msg.sender, round);
    }

    /// @inheritdoc ICreditList
    function expireContest(uint256 entryId) external {
        Entry storage e = _load(entryId);
        if (e.status != Status.Contested) revert CreditListNotContested(entryId, e.status);
        Contest storage c = _contests[entryId];
        if (block.timestamp < c.deadline) revert CreditListContestNotTimedOut(entryId, c.deadline);
        (address contester, uint128 deposit) = (c.contester, c.deposit);
        e.status = Status.Active;
        delete _contests[entryId];
        _totalDeposits -= deposit;
        _credit(contester, deposit);
        emit ContestExpired(entryId, contester, deposit);
    }

    /// @inheritdoc ICreditList
    function viewSubject(bytes32 subject) external returns (uint256 fee) {
        if (!_consortium.isActive(msg.sender)) revert CreditListNotActiveMember(msg.sender);
        (uint256[] memory active, address[] memory paid, uint256 first) = _collect(subject);
        if (active.length == 0) revert CreditListNoActiveEntries(subject);
        uint256 discount;
        (fee, discount) = _feeFor(msg.sender);
        _viewedAt[msg.sender][subject] = uint64(block.timestamp);
        if (fee > 0) {
            // one share per maintainer, however many entries it holds: flooding a subject earns nothing
            uint256 n = paid.length;
            uint256 share = fee / n;
            for (uint256 i = 0; i < n; ++i) {
                // the integer remainder goes to the maintainer of the oldest active entry
                _credit(paid[i], i == first ? share + fee % n : share);
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
        uint256 window = _bounded(RECIPROCITY_WINDOW, MAX_RECIPROCITY_WINDOW);
        uint256[] storage ids = _byMaintainer[viewer];
        uint256 n = ids.length;
        uint256 stop = n > MAX_RECIPROCITY_SCAN ? n - MAX_RECIPROCITY_SCAN : 0;
        // newest first; stop at the first entry older than the window, or after the newest MAX_RECIPROCITY_SCAN
        for (uint256 i = n; i > stop; --i) {
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
    function entryCountOf(bytes32 subject) external view returns (uint256) {
        return _bySubject[subject].length;
    }

    /// @inheritdoc ICreditList
    function entryIdsOf(bytes32 subject, uint256 start, uint256 limit) public view returns (uint256[] memory ids) {
        if (limit == 0 || limit > MAX_PAGE) revert CreditListBadPage(limit);
        uint256[] storage all = _bySubject[subject];
        uint256 n = all.length;
        // compared before adding: a start near 2^256 is an empty page, not an overflow
        uint256 end = start >= n ? start : (n - start > limit ? start + limit : n);
        ids = new uint256[](end - start);
        for (uint256 i = 0; i < ids.length; ++i) {
            ids[i] = all[start + i];
        }
    }

    /// @inheritdoc ICreditList
    function entriesOf(bytes32 subject, uint256 start, uint256 limit) external view returns (Entry[] memory entries) {
        uint256[] memory ids = entryIdsOf(subject, start, limit);
        entries = new Entry[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            entries[i] = _entries[ids[i]];
        }
    }

    /// @inheritdoc ICreditList
    function activeEntryIdsOf(bytes32 subject) external view returns (uint256[] memory ids) {
        (ids,,) = _collect(subject);
    }

    /// @inheritdoc ICreditList
    function activeEntryCount(bytes32 subject) external view returns (uint256) {
        (uint256[] memory ids,,) = _collect(subject);
        return ids.length;
    }

    /// @inheritdoc ICreditList
    function maintainersOf(bytes32 subject) external view returns (address[] memory) {
        return _maintainersOf[subject];
    }

    /// @inheritdoc ICreditList
    function limits()
        external
        view
        returns (uint256 maxLivePerMaintainer, uint256 maxMaintainersPerSubject, uint256 contestTimeout)
    {
        (maxLivePerMaintainer, maxMaintainersPerSubject) = _caps();
        contestTimeout = _contestTimeout();
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
        fee = _bounded(VIEW_FEE, type(uint128).max);
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

    /// @dev Takes a live slot about `subject` for the caller, or reverts. The caller's own entries that
    /// stopped counting are pruned first; a maintainer new to the subject may take the slot of one whose
    /// entries all stopped counting. Work is bounded by the hard limits of both lists.
    function _takeSlot(bytes32 subject) private {
        (uint256 perMaintainer, uint256 perSubject) = _caps();
        uint256[] storage mine = _live[subject][msg.sender];
        if (mine.length > 0) {
            if (_prune(mine) >= perMaintainer) revert CreditListTooManyEntries(subject, msg.sender, perMaintainer);
            return;
        }
        address[] storage ms = _maintainersOf[subject];
        if (ms.length >= perSubject) {
            for (uint256 i = ms.length; i > 0; --i) {
                address m = ms[i - 1];
                if (_prune(_live[subject][m]) > 0) continue;
                ms[i - 1] = ms[ms.length - 1];
                ms.pop();
            }
            if (ms.length >= perSubject) revert CreditListSubjectFull(subject, perSubject);
        }
        ms.push(msg.sender);
    }

    /// @dev Drops the ids of entries that stopped counting (they never count again); returns what is left.
    function _prune(uint256[] storage ids) private returns (uint256) {
        for (uint256 i = ids.length; i > 0; --i) {
            if (_counts(_entries[ids[i - 1]])) continue;
            ids[i - 1] = ids[ids.length - 1];
            ids.pop();
        }
        return ids.length;
    }

    /// @dev The subject's counting entries grouped by maintainer, the maintainers holding at least one,
    /// and the index in `paid` of the maintainer of the oldest (lowest id). At most
    /// MAX_MAINTAINERS_PER_SUBJECT_LIMIT * MAX_LIVE_PER_MAINTAINER_LIMIT entries are read.
    function _collect(bytes32 subject)
        private
        view
        returns (uint256[] memory ids, address[] memory paid, uint256 first)
    {
        address[] storage ms = _maintainersOf[subject];
        ids = new uint256[](ms.length * MAX_LIVE_PER_MAINTAINER_LIMIT);
        paid = new address[](ms.length);
        (uint256 n, uint256 k, uint256 oldest) = (0, 0, type(uint256).max);
        for (uint256 i = 0; i < ms.length; ++i) {
            uint256[] storage mine = _live[subject][ms[i]];
            uint256 before = n;
            for (uint256 j = 0; j < mine.length; ++j) {
                uint256 id = mine[j];
                if (!_counts(_entries[id])) continue;
                ids[n++] = id;
                if (id < oldest) (oldest, first) = (id, k);
            }
            if (n > before) paid[k++] = ms[i];
        }
        assembly ("memory-safe") {
            mstore(ids, n) // trim to what was found
            mstore(paid, k)
        }
    }

    function _caps() private view returns (uint256 perMaintainer, uint256 perSubject) {
        perMaintainer = _defaulted(MAX_LIVE_PER_MAINTAINER, DEFAULT_LIVE_PER_MAINTAINER, 1, MAX_LIVE_PER_MAINTAINER_LIMIT);
        perSubject = _defaulted(
            MAX_MAINTAINERS_PER_SUBJECT, DEFAULT_MAINTAINERS_PER_SUBJECT, 1, MAX_MAINTAINERS_PER_SUBJECT_LIMIT
        );
    }

    function _contestTimeout() private view returns (uint256) {
        return _defaulted(CONTEST_TIMEOUT, DEFAULT_CONTEST_TIMEOUT, MIN_CONTEST_TIMEOUT, MAX_CONTEST_TIMEOUT);
    }

    /// @dev A governed value, `unset` when zero, else within [lo, hi].
    function _defaulted(bytes32 key, uint256 unset, uint256 lo, uint256 hi) private view returns (uint256 value) {
        value = _consortium.parameter(key);
        if (value == 0) return unset;
        if (value < lo || value > hi) revert CreditListBadParameter(key, value);
    }

    /// @dev A governed value of at most `hi` (zero allowed).
    function _bounded(bytes32 key, uint256 hi) private view returns (uint256 value) {
        value = _consortium.parameter(key);
        if (value > hi) revert CreditListBadParameter(key, value);
    }

    /// @dev The pending contest of `entryId`, if the caller may vote on it now.
    function _pendingFor(uint256 entryId) private view returns (Entry storage e, Contest storage c) {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) {
            revert CreditListWrongRole(msg.sender, Roles.COMMITTEE);
        }
        e = _load(entryId);
        if (e.status != Status.Contested) revert CreditListNotContested(entryId, e.status);
        c = _contests[entryId];
        if (msg.sender == e.maintainer || msg.sender == c.contester) {
            revert CreditListConflictOfInterest(entryId, msg.sender);
        }
        if (block.timestamp >= c.deadline) revert CreditListContestTimedOut(entryId, c.deadline);
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
