"""`list post` cut by a chain change between its check and its sends: it names the lines posted and not, and a
rerun posts the rest without duplicates (issue #13, finding 1)."""

from __future__ import annotations

from tests.cli.test_cli_batches import suspended_before_the_second_call
from tests.cli.test_cli_list import book, entry_row, write  # noqa: F401 - `book` is a fixture used here

__all__ = ["book"]


def test_a_post_cut_by_a_chain_change_names_its_lines_and_a_rerun_posts_the_rest(cli, book):  # noqa: F811
    path = write(
        book,
        "cut.csv",
        [
            entry_row("uscc:DEBTOR1", "d1"),
            entry_row("uscc:DEBTOR1", "d2", category="freight-dispute", amount="480000"),
            entry_row("uscc:DEBTOR2", "d4", category="fraud", amount="150000000"),
        ],
    )
    with suspended_before_the_second_call(cli, "uscc:MAINT1") as fired:
        result = cli("list", "post", str(path), account="maint", ok=False)
    assert fired == [1]
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    err = result.stderr
    assert "the chain changed after the check: 1 entr(y/ies) posted and 2 not" in err
    assert "posted: lines 2\n" in err and "not posted: lines 3-4" in err
    assert [len(cli.json("list", "show", s)["entries"]) for s in ("uscc:DEBTOR1", "uscc:DEBTOR2")] == [1, 0]

    maint = next(k["address"] for k in cli.json("keys", "list") if k["name"] == "maint")
    proposal = cli.json("members", "propose", "reinstate", "--member", maint, account="c1")
    cli("members", "approve", str(proposal["id"]), account="c2")
    out = cli.json("list", "post", str(path), account="maint")
    assert len(out["posted"]) == 2
    assert [len(cli.json("list", "show", s)["entries"]) for s in ("uscc:DEBTOR1", "uscc:DEBTOR2")] == [2, 1]
