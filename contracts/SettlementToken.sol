// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title SettlementToken
/// @notice An ERC-20 standing for a fen-denominated stablecoin on the consortium
/// chain: the unit of every CreditList stake, contest deposit and view fee.
/// @dev `decimals()` is 2, so one base unit is one fen and a wallet shows yuan
/// (100 fen = 1.00). Every on-chain amount elsewhere in CreditShare is already
/// integer fen, so contracts and the CLI use base units without conversion.
///
/// Minting stands for the off-chain deposit of real money with the issuing
/// bank, so only an active COMMITTEE member of the consortium may mint; the
/// check is made on every call, so a suspended committee member loses the right
/// at once. There is no burn by the issuer: holders may burn their own tokens
/// (redemption), which keeps "total supply = minted - burned" auditable.
contract SettlementToken is ERC20 {
    /// @notice The caller is not an active COMMITTEE member.
    error SettlementTokenNotMinter(address caller);
    /// @notice Mint of zero fen or to the zero address.
    error SettlementTokenBadMint(address to, uint256 amount);

    /// @notice `amount` fen were minted to `to` by committee member `by`.
    event Minted(address indexed to, uint256 amount, address indexed by);

    IConsortium private immutable _consortium;

    constructor(IConsortium consortium_) ERC20("CreditShare Fen", "CSFEN") {
        _consortium = consortium_;
    }

    /// @notice Mints `amount` fen to `to`. Only active COMMITTEE members may.
    function mint(address to, uint256 amount) external {
        if (!_consortium.isActiveWithRole(msg.sender, Roles.COMMITTEE)) revert SettlementTokenNotMinter(msg.sender);
        if (to == address(0) || amount == 0) revert SettlementTokenBadMint(to, amount);
        _mint(to, amount);
        emit Minted(to, amount, msg.sender);
    }

    /// @notice Burns `amount` of the caller's own tokens (redemption off chain).
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    /// @notice 2: one base unit is one fen.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @notice The consortium registry that decides who may mint.
    function consortium() external view returns (address) {
        return address(_consortium);
    }
}
