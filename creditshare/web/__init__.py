"""The member console: one member's web pages and JSON API over live chain state (`creditshare serve`).

It reads the chain through the library the CLI uses (bindings, domain, oracle.provenance, reports) and keeps
nothing of its own but caches keyed by block height (creditshare.web.console). It is one member's console,
bound to loopback by default, not a public site: every POST is signed with the account the console was started
with, behind a CSRF token (HTML) or the member's API token (JSON).
"""
