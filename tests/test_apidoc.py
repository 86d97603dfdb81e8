"""docs/web.md cannot drift from the code: its endpoint table is what the registry gives
(frontdoor/apidoc.py), that table is the routes the app really serves (its OpenAPI), and
every other API path the app serves is mentioned in the document."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.routing import APIRoute

from frontdoor import apidoc
from frontdoor.config import Settings
from frontdoor.web import access_log, api
from frontdoor.web.app import create_app
from workflows.process import Action, ActionTable, Process
from workflows.registry import PROCESSES

WEB_MD = Path(__file__).resolve().parent.parent / "docs" / "web.md"


@pytest.fixture(scope="module")
def served(settings: Settings) -> set[tuple[str, str]]:
    """(method, path) of every API route, from the app's OpenAPI, the case id written `{id}`."""
    paths = create_app(settings).openapi()["paths"]
    return {(method.upper(), re.sub(r"\{[a-z_]+\}", "{id}", path))
            for path, ops in paths.items() for method in ops}


def test_the_documented_endpoint_table_is_what_the_registry_gives() -> None:
    text = WEB_MD.read_text(encoding="utf-8")
    assert apidoc.documented(text) == apidoc.table(), (
        "docs/web.md's endpoint table is stale: run `python -m frontdoor.apidoc --write`")


def test_the_generated_table_is_every_route_the_api_generates(served: set[tuple[str, str]]) -> None:
    """Every per-process route api.py and access_log.py made from the registry (all but the stuck lists and people)."""
    generated = {(e.method, e.path) for p in PROCESSES for e in apidoc.endpoints(p)}
    made = {(method, re.sub(r"\{[a-z_]+\}", "{id}", route.path))
            for route in (*api.router.routes, *access_log.router.routes) if isinstance(route, APIRoute)
            and route.path.startswith("/api/") and not route.path.startswith(("/api/stuck", "/api/people/"))
            for method in route.methods or ()}
    assert generated == made
    assert generated <= served  # and the OpenAPI document shows each one


def test_every_other_api_path_is_in_the_document(served: set[tuple[str, str]]) -> None:
    text = re.sub(r"\{[a-z_]+\}", "{id}", WEB_MD.read_text(encoding="utf-8"))
    missing = sorted(f"{m} {p}" for m, p in served if f"`{m} {p}" not in text and f"`{p}`" not in text)
    assert not missing, f"docs/web.md does not mention: {missing}"


def test_a_new_action_changes_the_table_and_the_check_fails(tmp_path: Path) -> None:
    """The check can fail: a table that gained an action no longer matches the document."""
    contact = PROCESSES[0]
    model = contact.actions["decide"].model
    extra = Action("reopen", model, contact.actions["decide"].roles, "Reopen the contact")
    bigger = ActionTable(*contact.actions, extra)

    wider = SimpleNamespace(kind=contact.kind, noun=contact.noun, State=contact.state, actions=bigger)
    changed = Process(wider, contact.path, contact.subject_field, start=contact.start, readers=contact.readers)
    table = apidoc.table((changed, *PROCESSES[1:]))
    assert "| POST | `/api/contacts/{id}/reopen` | `reopen`: reopen the contact | team manager |" in table
    doc = tmp_path / "web.md"
    doc.write_text(WEB_MD.read_text(encoding="utf-8"), encoding="utf-8")
    assert apidoc.main(["--check", "--doc", str(doc)]) == 0
    doc.write_text(apidoc.replaced(doc.read_text(encoding="utf-8"), table), encoding="utf-8")
    assert apidoc.main(["--check", "--doc", str(doc)]) == 1


def _integer_schemas(schema: dict) -> list[dict]:
    options = schema.get("anyOf", [schema])
    return [s for s in options if s.get("type") == "integer"]


def test_the_api_document_holds_the_api_and_no_page(settings) -> None:
    """A page (HTML for a signed-in browser) is not in the API's OpenAPI: Schemathesis fuzzed
    /supervisor/lists/{kind} as if it were an API and got the sign-in page for a bad query."""
    paths = create_app(settings).openapi()["paths"]
    assert [p for p in paths if not p.startswith("/api/")] == []


def test_every_integer_the_api_takes_has_a_range(settings) -> None:
    """A number from outside is bounded at both ends (schemathesis found an unbounded id that
    SQLite could not hold: a 500)."""
    paths = create_app(settings).openapi()["paths"]
    unbounded = []
    for path, methods in paths.items():
        for method, op in methods.items():
            for param in op.get("parameters", []):
                for s in _integer_schemas(param.get("schema", {})):
                    if "maximum" not in s or "minimum" not in s:
                        unbounded.append(f"{method.upper()} {path} {param['name']}")
    assert not unbounded, unbounded


def test_every_api_operation_documents_the_errors_it_can_answer(settings) -> None:
    """401, 403 and 422 (as the ErrorBody every error is) on every /api operation, whichever
    router made it: Schemathesis found the reports' 403 and 422 undocumented."""
    paths = create_app(settings).openapi()["paths"]
    wrong = []
    for path, methods in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, op in methods.items():
            responses = op.get("responses", {})
            for code in ("401", "403", "422"):
                schema = responses.get(code, {}).get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] != "ErrorBody":
                    wrong.append(f"{method.upper()} {path} {code}")
    assert not wrong, wrong
