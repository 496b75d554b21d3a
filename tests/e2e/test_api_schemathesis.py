"""The admin API fuzzed against its own OpenAPI schema: schemathesis generates valid and
invalid requests for every operation the running server documents (a real `quantshift
serve` on SQLite and one on Postgres, a short paper session behind each) and checks each answer: never a 500, only
declared status codes, and content types, headers and bodies that match the schema.

Bounded and reproducible: a fixed number of examples per operation (valid and invalid ones
drawn together), derandomized.

schemathesis' own pytest integration (`schemathesis.pytest.from_fixture(...).parametrize()`)
fails on pytest 9.2 (it sets `Function._nodeid`, which pytest 9.2 no longer has). So the test
walks the operations of the schema loaded from the server, runs each one's public Hypothesis
strategies (`APIOperation.as_strategy`) under `@given`, one subtest per operation, and
`case.call_and_validate` runs the checks. A route added later is fuzzed without anyone
listing it here.
"""

from __future__ import annotations

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.test_api_server import USERS

pytestmark = pytest.mark.e2e

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# Per engine: SQLite gets more examples, Postgres (the same routes over another store) fewer,
# to keep the suite's time; together more than the 20 SQLite alone had.
EXAMPLES = {"sqlite": 16, "postgres": 10}


def fuzz_settings(engine: str) -> settings:
    return settings(max_examples=EXAMPLES[engine], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# Logging out would end the one session every generated request is authenticated with
# (logout-all ends them all): the rest of the run would be 401s. test_api_server.py covers both.
NOT_FUZZED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/logout-all")}
# Never to be missing from the run (a schema that lost them would otherwise pass quietly).
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}  # the rest of a path item is not an operation
MUST_FUZZ = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/bots/{account}/{bot}"), ("POST", "/api/v1/halt"),
             ("POST", "/api/v1/resume"), ("GET", "/api/v1/trades"), ("POST", "/api/v1/users"), ("GET", "/health")}


@pytest.fixture(scope="session")
def fuzzed_server(engine_server):
    return engine_server  # conftest.engine_server: one per store engine, shared with the bad-input tests


@pytest.fixture
def api_schema(fuzzed_server):
    return schemathesis.openapi.from_url(f"{fuzzed_server.base}/schema/openapi.json", timeout=10)


@pytest.fixture
def real_bot(fuzzed_server) -> dict[str, str]:
    bots = fuzzed_server.as_role("admin", "GET", "/api/v1/bots").json()
    assert bots, "the paper session left no bot"
    return {"account": bots[0]["account"], "bot": bots[0]["bot"]}


def _cases(operation, definition: dict, known: dict[str, str]) -> st.SearchStrategy:
    """Valid and invalid requests, mixed. A route on one bot also gets valid requests on a bot
    that exists (random names only ever find the 404). Invalid requests need something to make
    invalid: a parameter, a body or the credentials (/health and /metrics have none, and
    Hypothesis would call a negative strategy for them unsatisfiable)."""
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    in_path = {p["name"] for p in definition.get("parameters", []) if p.get("in") == "path"}
    if in_path and in_path <= known.keys():
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.POSITIVE,
                                                path_parameters={name: known[name] for name in in_path}))
    if definition.get("parameters") or definition.get("requestBody") or definition.get("security"):
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def test_every_operation_conforms_to_the_schema(api_schema, fuzzed_server, real_bot, subtests):
    auth = {"Authorization": f"Bearer {fuzzed_server.tokens['admin']}"}
    fuzzed = set()
    with requests.Session() as session:  # one keep-alive connection instead of one per case
        for path, item in api_schema.raw_schema["paths"].items():
            for method, definition in item.items():
                key = (method.upper(), path)
                if method not in HTTP_METHODS or key in NOT_FUZZED:
                    continue
                fuzzed.add(key)

                @fuzz_settings(fuzzed_server.engine)
                @given(case=_cases(api_schema[path][method.upper()], definition, real_bot))
                def fuzz(case):
                    case.call_and_validate(session=session, headers=auth, checks=CHECKS, timeout=30)

                with subtests.test(msg=f"{method.upper()} {path}"):
                    fuzz()
    assert MUST_FUZZ <= fuzzed, f"not in the schema: {MUST_FUZZ - fuzzed}"


def test_the_session_under_test_survived_the_run(fuzzed_server):
    """Halt and resume were fuzzed, users were created: the admin's token must still work,
    the server must still answer, and it logged no unhandled exception."""
    me = fuzzed_server.as_role("admin", "GET", "/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["email"] == USERS["admin"], me.text
    assert httpx.get(f"{fuzzed_server.base}/health", timeout=5).status_code == 200
    assert "Traceback" not in fuzzed_server.log.read_text()
