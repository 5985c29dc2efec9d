"""The console's API fuzzed from its own OpenAPI schema (hypothesis; schemathesis needs a newer hypothesis than
brownie's pin): whatever the path, query and body, no 5xx and no traceback, every refusal is a JSON error, and
a refused call leaves the chain's head where it was (nothing written)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=70)
SUBJECTS = st.sampled_from(["uscc:SHIP1", "uscc:SHIP2", "uscc:NOBODY", "driver:D1", "0x" + "ab" * 32, "bank"])


def from_schema(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for a JSON schema: mostly of its shape, sometimes of any shape (the schema's edges included)."""
    if "$ref" in schema:
        return from_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, components, depth) for s in schema["anyOf"]])
    kind = schema.get("type")
    anything = st.one_of(st.none(), st.booleans(), st.integers(), TEXT)
    if kind == "string":
        strategies = [TEXT, SUBJECTS]
        if "enum" in schema:
            strategies.append(st.sampled_from(schema["enum"]))
        if "maxLength" in schema:
            strategies.append(st.text(min_size=schema["maxLength"], max_size=schema["maxLength"] + 1))
        return st.one_of(strategies)
    if kind == "integer":
        return st.one_of(st.integers(-5, 5), st.integers(), st.sampled_from([2**63, 2**256, 10**12 + 1]))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = from_schema(schema.get("items", {}), components, depth + 1) if depth < 3 else anything
        return st.lists(items, max_size=3)
    if kind == "object" and depth < 3:
        props = {k: from_schema(v, components, depth + 1) for k, v in schema.get("properties", {}).items()}
        return st.one_of(
            st.fixed_dictionaries(props),
            st.dictionaries(st.sampled_from(sorted(props) or ["x"]), anything, max_size=4),
        )
    return anything


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in schema["paths"].items() for m, op in item.items()]


def test_the_api_schema_lists_every_read_and_write(server):
    schema = server.http.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/subjects/{subject}", "/api/portfolio", "/api/model", "/api/network", "/api/settlements"} <= paths
    assert {"/api/settlements/{step}", "/api/consents", "/api/reads", "/api/views", "/api/refresh"} <= paths


def test_fuzz_the_api_from_its_schema(server):
    schema = server.http.get("/api/openapi.json").json()
    components = schema.get("components", {}).get("schemas", {})
    ops = operations(schema)
    seen: dict[int, int] = {}

    @st.composite
    def requests(draw: Any) -> tuple[str, str, dict[str, Any], Any]:
        method, path, op = draw(st.sampled_from(ops))
        query: dict[str, Any] = {}
        for p in op.get("parameters", []):
            value = draw(from_schema(p.get("schema", {}), components))
            if p["in"] == "path":
                path = path.replace("{" + p["name"] + "}", quote(str(value), safe="") or "x")
            elif draw(st.booleans()):
                query[p["name"]] = value if not isinstance(value, list | dict) else str(value)
        body = None
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if content:
            body = draw(from_schema(content["schema"], components))
        return method, path, query, body

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests())
    def check(request: tuple[str, str, dict[str, Any], Any]) -> None:
        method, path, query, body = request
        head = server.head()
        r = server.api.request(method, path, params=query, json=body)
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500, (method, path, query, body, r.text)
        assert "Traceback" not in r.text
        if r.status_code >= 400:
            assert "error" in r.json(), r.text
            assert server.head() == head, ("a refused call wrote", method, path, body)

    check()
    assert any(s < 300 for s in seen) and any(400 <= s < 500 for s in seen), seen
