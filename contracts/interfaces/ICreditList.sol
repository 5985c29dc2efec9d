// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title ICreditList
/// @notice The shared list of subjects with poor credit records. MAINTAINER
/// members post staked entries; members view a subject for a governed fee that
/// rewards the maintainers of its active entries; anyone concerned may contest
/// an entry and the committee decides.
/// @dev Money is the settlement token in fen (see `SettlementToken`). All
/// payouts are credited to pull balances and leave only through `withdraw`.
///
/// Only the public facts are on chain: subject, category, amount (and its band),
/// period, a hash of the linked settlement ids (the ids themselves are in the
/// `EntryPosted` event), the evidence digest and a commitment (keccak256) to the
/// AES-GCM encrypted details kept off chain. A maintainer's key-release step
/// watches `EntryViewed` (or asks `hasPaidView`) and wraps the content key to
/// the paying viewer.
///
/// Life of an entry: Active -> (contest) Contested -> Upheld (counts again) or
/// Overturned (never counts again); a contest that times out undecided returns
/// the entry to Active. An entry counts ("is active") while it is Active,
/// Contested or Upheld and `block.timestamp < expiresAt`; once it stops
/// counting (expired or overturned) it never counts again. A contested entry
/// keeps counting until the committee overturns it. Its stake returns to the
/// maintainer's balance through `releaseStake` once it has expired and no
/// contest is pending.
///
/// Who contests: any active member may contest an Active entry (not its own).
/// The subject's own member (the member whose `orgId` is the entry's subject,
/// active or suspended) may contest once per entry regardless of earlier
/// third-party contests: its contest replaces a pending third-party contest
/// (whose deposit is credited back to that contester, and whose votes are
/// discarded) and reopens an entry upheld against a third party. A friendly
/// contest filed first by an ally of the maintainer therefore cannot block
/// the subject's own.
///
/// Contests are decided by the committee by vote: the first outcome that
/// reaches `consortium.threshold()` distinct active-committee votes in the
/// current round is executed. Upheld: the contester's deposit is credited to
/// the maintainer. Overturned: the deposit goes back to the contester and the
/// whole stake is slashed to the contester (there is no treasury: the wronged
/// party is compensated). A split round (votes on both sides) can be restarted
/// by any eligible committee member (`revote`, at most `MAX_VOTE_ROUNDS`
/// rounds; the deadline stays). A contest undecided at its deadline
/// (`openedAt + creditList.contestTimeout`) can no longer be voted on; anyone
/// may then `expireContest`: the deposit is credited back to the contester, the
/// stake stays with the entry (released to the maintainer at expiry as usual)
/// and the entry is Active again. So no stake or deposit is locked for ever.
///
/// Bounded work. The view fee is split per maintainer, not per entry: each
/// maintainer with at least one active entry about the subject gets an equal
/// share however many entries it holds, so flooding a subject earns nothing.
/// A maintainer holds at most `creditList.maxLivePerMaintainer` live entries
/// per subject, and at most `creditList.maxMaintainersPerSubject` maintainers
/// hold live entries about one subject; entries that stopped counting are
/// pruned when their maintainer posts about the subject again (and other
/// maintainers' dead slots when a subject is full). `viewSubject` reads at most
/// `MAX_MAINTAINERS_PER_SUBJECT_LIMIT * MAX_LIVE_PER_MAINTAINER_LIMIT` entries
/// whatever the subject's history, the reciprocity check reads at most
/// `MAX_RECIPROCITY_SCAN` of the viewer's newest entries, and the history of a
/// subject is read in pages of at most `MAX_PAGE` entries.
///
/// Governed parameters (Consortium `SetParameter`, keys are keccak256 of the
/// names; a value out of its bounds makes the calls that read it revert with
/// `CreditListBadParameter`): `creditList.minStake` (fen, at most 2^128-1),
/// `creditList.entryTtl` (seconds, must be set, at most `MAX_ENTRY_TTL` = 3650
/// days: checked where it is read, so the uint64 expiry cannot wrap),
/// `creditList.contestDeposit` (fen, at most 2^128-1), `creditList.viewFee`
/// (fen, at most 2^128-1), `creditList.reciprocityWindow` (seconds, at most
/// `MAX_RECIPROCITY_WINDOW` = 3650 days), `creditList.reciprocityDiscountBps`
/// (0..10000), `creditList.maxLivePerMaintainer` (1..8, unset: 3),
/// `creditList.maxMaintainersPerSubject` (1..32, unset: 16),
/// `creditList.contestTimeout` (seconds, 1 day..365 days, unset: 30 days; read
/// when a contest opens). The Consortium bounds the values it accepts too
/// (`IConsortium.parameterBounds`); the list checks them again where it reads
/// them, so a registry without those bounds cannot break it.
interface ICreditList {
    enum Category {
        PaymentDefault,
        Fraud,
        FreightDispute,
        CargoDamage,
        Other
    }

    /// @notice Amount bands, in fen: < 1,000,000 (10k yuan), < 10,000,000
    /// (100k yuan), < 100,000,000 (1m yuan), and above.
    enum AmountBand {
        Under10k,
        Under100k,
        Under1m,
        AtLeast1m
    }

    enum Status {
        None,
        Active,
        Contested,
        Upheld,
        Overturned
    }

    /// @notice What a maintainer posts.
    struct EntryInput {
        bytes32 subject;
        Category category;
        uint128 amount; // fen
        uint64 periodFrom; // unix seconds
        uint64 periodTo; // unix seconds, not in the future
        bytes32[] settlementIds; // linked SettlementLedger ids (may be empty)
        bytes32 evidence; // sha2-256 digest inside the evidence CIDv1
        bytes32 detailsCommitment; // keccak256 of the encrypted details blob
        uint128 stake; // fen, at least `creditList.minStake`
    }

    /// @notice A stored entry.
    struct Entry {
        bytes32 subject;
        address maintainer;
        Category category;
        AmountBand band;
        Status status;
        uint64 postedAt;
        uint64 expiresAt;
        uint64 periodFrom;
        uint64 periodTo;
        uint128 amount;
        uint128 stake; // still locked (zero once released or slashed)
        bytes32 settlementsHash; // keccak256(abi.encodePacked(settlementIds))
        bytes32 evidence;
        bytes32 detailsCommitment;
    }

    /// @notice A contest of an entry.
    struct Contest {
        address contester;
        uint128 deposit;
        uint64 openedAt;
        uint16 upholdVotes;
        uint16 overturnVotes;
        uint64 deadline; // no vote counts from then on; `expireContest` refunds the deposit
        uint8 round; // voting round, from 1; `revote` starts the next
        bytes32 reasonHash;
    }

    error CreditListNotActiveMember(address caller);
    error CreditListWrongRole(address caller, bytes32 role);
    error CreditListZeroSubject();
    error CreditListBadAmount(uint256 amount);
    error CreditListBadPeriod(uint64 periodFrom, uint64 periodTo);
    error CreditListMissingEvidence();
    error CreditListMissingDetails();
    error CreditListStakeTooLow(uint256 stake, uint256 minStake);
    error CreditListParameterNotSet(bytes32 key);
    error CreditListBadParameter(bytes32 key, uint256 value);
    error CreditListUnknownEntry(uint256 entryId);
    error CreditListNotContestable(uint256 entryId, Status status);
    error CreditListEntryExpired(uint256 entryId, uint64 expiresAt);
    error CreditListOwnEntry(uint256 entryId, address caller);
    error CreditListNotContested(uint256 entryId, Status status);
    error CreditListAlreadyVoted(uint256 entryId, address voter);
    error CreditListConflictOfInterest(uint256 entryId, address voter);
    error CreditListNoActiveEntries(bytes32 subject);
    error CreditListNothingToWithdraw(address account);
    error CreditListNotMaintainerOf(uint256 entryId, address caller);
    error CreditListStakeLocked(uint256 entryId);
    error CreditListTooManyEntries(bytes32 subject, address maintainer, uint256 maxLive);
    error CreditListSubjectFull(bytes32 subject, uint256 maxMaintainers);
    error CreditListContestTimedOut(uint256 entryId, uint64 deadline);
    error CreditListContestNotTimedOut(uint256 entryId, uint64 deadline);
    error CreditListVoteNotSplit(uint256 entryId, uint16 upholdVotes, uint16 overturnVotes);
    error CreditListTooManyRounds(uint256 entryId, uint8 rounds);
    error CreditListBadPage(uint256 limit);

    event EntryPosted(
        uint256 indexed entryId,
        bytes32 indexed subject,
        address indexed maintainer,
        Category category,
        uint128 amount,
        AmountBand band,
        uint128 stake,
        uint64 expiresAt
    );
    /// @notice Emitted with `EntryPosted`: the rest of the entry's record,
    /// including the linked settlement ids that storage keeps only as a hash.
    event EntryEvidence(
        uint256 indexed entryId,
        uint64 periodFrom,
        uint64 periodTo,
        bytes32[] settlementIds,
        bytes32 evidence,
        bytes32 detailsCommitment
    );
    event EntryContested(
        uint256 indexed entryId, bytes32 indexed subject, address indexed contester, uint128 deposit, bytes32 reasonHash
    );
    event ContestVoted(uint256 indexed entryId, address indexed voter, bool uphold, uint256 votes);
    /// @notice The subject's own contest replaced a pending third-party contest,
    /// whose deposit was credited back to `contester`.
    event ContestSuperseded(uint256 indexed entryId, address indexed contester, uint128 deposit);
    /// @notice A split vote was discarded; voting starts again in `round`.
    event ContestRevoted(uint256 indexed entryId, address indexed by, uint8 round);
    /// @notice An undecided contest passed its deadline: the deposit was credited
    /// back to `contester` and the entry is Active again.
    event ContestExpired(uint256 indexed entryId, address indexed contester, uint128 deposit);
    event ContestResolved(uint256 indexed entryId, bool upheld, address indexed maintainer, address indexed contester);
    /// @notice `viewer` paid `fee` fen (after `discount`) to view `subject`;
    /// `entryIds` are the active entries the fee was split over, whose content
    /// keys the maintainers now release to `viewer`.
    event EntryViewed(
        bytes32 indexed subject, address indexed viewer, uint256 fee, uint256 discount, uint256[] entryIds
    );
    event StakeReleased(uint256 indexed entryId, address indexed maintainer, uint256 stake);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Posts an entry and pulls `input.stake` from the caller (who must
    /// have approved this contract). Only active MAINTAINER members may.
    /// The entry expires `creditList.entryTtl` seconds after posting. Refuses a
    /// maintainer that already holds `creditList.maxLivePerMaintainer` counting
    /// entries about the subject (`CreditListTooManyEntries`), and a new
    /// maintainer of a subject whose `creditList.maxMaintainersPerSubject` slots
    /// all hold counting entries (`CreditListSubjectFull`); entries that stopped
    /// counting free their slot.
    /// @return entryId The new entry's id (ids start at 1).
    function post(EntryInput calldata input) external returns (uint256 entryId);

    /// @notice Contests an unexpired entry, pulling `creditList.contestDeposit`
    /// from the caller and opening a vote that ends at `openedAt +
    /// creditList.contestTimeout`. An active member other than the maintainer
    /// may contest an Active entry. The member registered for the entry's
    /// subject may contest once per entry, also while a third-party contest is
    /// pending (it replaces it: that deposit is credited back) or after one was
    /// upheld.
    function contest(uint256 entryId, bytes32 reasonHash) external;

    /// @notice Casts the caller's vote on a pending contest; the first outcome
    /// to reach `consortium.threshold()` votes in the current round is executed.
    /// Only active COMMITTEE members that are neither the maintainer nor the
    /// contester may vote, once a round, before the contest's deadline.
    function resolve(uint256 entryId, bool uphold) external;

    /// @notice Discards a split round (votes on both sides, no outcome at the
    /// threshold) and starts the next, so voters may change their minds; the
    /// deadline is not moved. Only a COMMITTEE member allowed to vote on the
    /// contest may; at most `MAX_VOTE_ROUNDS` rounds per contest.
    function revote(uint256 entryId) external;

    /// @notice Ends a contest still undecided at its deadline: the deposit is
    /// credited back to the contester, the stake stays with the entry and the
    /// entry is Active again. Anyone may call it.
    function expireContest(uint256 entryId) external;

    /// @notice Pays to view `subject`: pulls the view fee (discounted for a
    /// reciprocal viewer) from the caller and splits it evenly over the
    /// maintainers holding at least one active entry about the subject (one
    /// share per maintainer, whatever its number of entries); the rest of the
    /// integer division goes to the maintainer of the oldest active entry.
    /// Only active members may view; reverts if the subject has no active entry.
    /// `EntryViewed` lists every active entry, grouped by maintainer.
    /// @return fee The fen paid.
    function viewSubject(bytes32 subject) external returns (uint256 fee);

    /// @notice Credits the stake of an expired entry back to its maintainer's
    /// balance. Only the maintainer may; not while a contest is pending.
    function releaseStake(uint256 entryId) external;

    /// @notice Sends the caller's whole balance. Open to anyone with a balance,
    /// member or not (a suspended member keeps what it earned).
    function withdraw() external returns (uint256 amount);

    /// @notice The fee `viewer` would pay now to view a subject, and the discount.
    function viewFeeFor(address viewer) external view returns (uint256 fee, uint256 discount);

    /// @notice True if `viewer` contributed a not-overturned entry posted within
    /// the reciprocity window.
    function isReciprocal(address viewer) external view returns (bool);

    /// @notice An entry (reverts for an unknown id).
    function entry(uint256 entryId) external view returns (Entry memory);

    /// @notice The contest of an entry (all zero if never contested).
    function contestOf(uint256 entryId) external view returns (Contest memory);

    /// @notice True if the entry counts now: not overturned and not expired.
    function isActiveEntry(uint256 entryId) external view returns (bool);

    /// @notice How many entries were ever posted about `subject`.
    function entryCountOf(bytes32 subject) external view returns (uint256);

    /// @notice Up to `limit` (1..`MAX_PAGE`) ids of entries ever posted about
    /// `subject`, oldest first, from position `start` (empty past the end).
    function entryIdsOf(bytes32 subject, uint256 start, uint256 limit) external view returns (uint256[] memory);

    /// @notice The entries `entryIdsOf(subject, start, limit)` names.
    function entriesOf(bytes32 subject, uint256 start, uint256 limit) external view returns (Entry[] memory);

    /// @notice The ids of the entries about `subject` that count now, grouped by
    /// maintainer (the ones a view pays for).
    function activeEntryIdsOf(bytes32 subject) external view returns (uint256[] memory);

    /// @notice How many entries about `subject` count now.
    function activeEntryCount(bytes32 subject) external view returns (uint256);

    /// @notice The maintainers holding live slots about `subject` (some may
    /// hold only entries that stopped counting, until pruned).
    function maintainersOf(bytes32 subject) external view returns (address[] memory);

    /// @notice The governed limits in force (defaults applied, bounds checked):
    /// live entries per maintainer and subject, maintainers per subject, and
    /// the contest timeout in seconds.
    function limits() external view returns (uint256 maxLivePerMaintainer, uint256 maxMaintainersPerSubject,
        uint256 contestTimeout);

    /// @notice The fen `account` can withdraw.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The fen ever credited to `account` (withdrawn or not).
    function creditedTotal(address account) external view returns (uint256);

    /// @notice True if `viewer` ever paid to view `subject`.
    function hasPaidView(address viewer, bytes32 subject) external view returns (bool);

    /// @notice When `viewer` last paid to view `subject` (0 if never).
    function lastViewedAt(address viewer, bytes32 subject) external view returns (uint64);

    /// @notice What the contract owes in tokens: pull balances, locked stakes,
    /// pending contest deposits. Their sum equals its token balance.
    function liabilities() external view returns (uint256 balances, uint256 stakes, uint256 deposits);

    /// @notice How many entries were posted.
    function entryCount() external view returns (uint256);

    /// @notice The settlement token.
    function token() external view returns (address);

    /// @notice The consortium registry.
    function consortium() external view returns (address);
}
