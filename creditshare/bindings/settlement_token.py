"""The SettlementToken contract: the fen-denominated ERC-20 (decimals 2) that list fees and stakes are paid in."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import InvalidInput


class SettlementToken:
    """SettlementToken: fen-denominated ERC-20 (decimals 2)."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("SettlementToken")

    def balance(self, address: str) -> int:
        return int(self.client.call(self.contract, "balanceOf", to_checksum_address(address))[0])

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.client.call(self.contract, "allowance", owner, spender)[0])

    def mint(self, to: str, amount: int, account: LocalAccount) -> int:
        if amount <= 0:
            raise InvalidInput(f"amount must be a positive number of fen; got {amount}.")
        receipt = self.client.transact(
            encode_call(self.contract, "mint", to_checksum_address(to), amount), account, "minting"
        )
        return int(receipt["gasUsed"])

    def ensure_allowance(self, account: LocalAccount, spender: str, amount: int, what: str) -> None:
        """Approves `spender` for `amount` fen unless it may already spend that much; checks the balance."""
        held = self.balance(account.address)
        if held < amount:
            raise InvalidInput(
                f"{what} needs {amount} fen of the settlement token; {account.address} holds {held}. "
                f"Ask the committee to mint (`creditshare token mint`)."
            )
        if amount and self.allowance(account.address, spender) < amount:
            self.client.transact(encode_call(self.contract, "approve", spender, amount), account, "the token approval")
