"""Hostile policies (alias bombs, deep nesting, huge values, absurd names) get a short located error.

Every path that reads a policy is covered: the loader, the hot-reload of the served file, the
``baton policy`` commands and the policy routes (one of which, ``PUT``, must publish exactly like
``POST .../publish``). How fast each bomb is refused is measured in ``benchmarks/policy_limits.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from graph.policy_store import PolicyStore, check_policy_text
from policies.loader import PolicyError, PolicyIssue
from tests.conftest import POLICIES
from tests.test_api_support import ADMIN, Api, api_settings
from tests.test_policy_loader import MINIMAL

RULE = '{field: intent, op: "==", value: buy}'
RULE_LINE = next(n for n, line in enumerate(MINIMAL.splitlines(), 1) if RULE in line)


def with_condition(condition: str) -> str:
    """MINIMAL with its one rule's condition replaced."""
    return MINIMAL.replace(RULE, condition)


def alias_bomb(levels: int) -> str:
    """A valid-looking condition tree whose aliases expand to 10**levels comparisons."""
    expr = "&c0 {field: vip, op: '==', value: true}"
    for i in range(1, levels + 1):
        expr = f"&c{i} {{all: [{expr}, " + ", ".join([f"*c{i - 1}"] * 9) + "]}"
    return with_condition(expr)


def value_bomb(levels: int) -> str:
    """A ``text ==`` condition whose value expands to 10**levels strings (echoed in the error)."""
    expr = "&v0 [" + ", ".join(["xxxxxxxxxx"] * 10) + "]"
    for i in range(1, levels + 1):
        expr = f"&v{i} [{expr}, " + ", ".join([f"*v{i - 1}"] * 9) + "]"
    return with_condition(f'{{field: text, op: "==", value: {expr}}}')


def deep_list(depth: int) -> str:
    return "[" * depth + "buy" + "]" * depth


BOMBS = {
    "alias_bomb": alias_bomb(5),
    "value_bomb": value_bomb(5),
    "deep_document": "a: " + deep_list(1000),
    "deep_block": "- " * 900 + "x\n",  # compact nested block lists, under libyaml's own limit of 1,000
    "deep_intent_in": with_condition(f"{{field: intent, op: in, value: {deep_list(1000)}}}"),
    "deep_mapping": MINIMAL + "description: " + "{a: " * 1000 + "b" + "}" * 1000 + "\n",
}


def _issues(text: str) -> list[PolicyIssue]:
    with pytest.raises(PolicyError) as exc:
        check_policy_text(text, "p.yaml")
    assert len(str(exc.value)) < 4000, str(exc.value)[:300]
    return exc.value.issues


# --- the loader ---------------------------------------------------------------------------------


def test_alias_bomb_is_refused_where_the_expansion_crosses_the_limit() -> None:
    issues = _issues(alias_bomb(5))
    assert len(issues) == 1
    assert "alias" in issues[0].message
    assert issues[0].line == RULE_LINE
    assert issues[0].column is not None


def test_value_bomb_error_is_short() -> None:
    issues = _issues(value_bomb(5))
    assert issues[0].line == RULE_LINE


def test_long_text_value_is_refused_without_echoing_it() -> None:
    issues = _issues(with_condition(f'{{field: text, op: "==", value: {"x" * 50_000}}}'))
    assert any("at most" in i.message for i in issues), [i.message for i in issues]
    assert all(i.line == RULE_LINE for i in issues)


@pytest.mark.parametrize("name", ["deep_document", "deep_intent_in", "deep_mapping", "deep_block"])
def test_deep_nesting_is_refused_at_its_line(name: str) -> None:
    text = BOMBS[name]
    issues = _issues(text)
    assert "nest" in issues[0].message  # libyaml stops a 1,000-deep flow itself; the loader, anything past 32
    assert issues[0].line is not None
    assert issues[0].column is not None
    row = text.splitlines()[issues[0].line - 1]
    assert "[[[" in row or "{a: {a:" in row or row.startswith("- - -")
    if name == "deep_block":
        assert issues[0].message == "the document is nested deeper than 32 levels"
        assert (issues[0].line, issues[0].column) == (1, 65)  # the 33rd list starts there


@pytest.mark.parametrize("value", ["[[buy]]", "[{a: 1}]", "[" + ", ".join(["buy"] * 2000) + "]"])
def test_condition_values_are_scalars_or_short_flat_lists(value: str) -> None:
    issues = _issues(with_condition(f"{{field: intent, op: in, value: {value}}}"))
    assert all(i.line == RULE_LINE for i in issues), [(i.line, i.message) for i in issues]


def test_recursive_alias_is_refused() -> None:
    issues = _issues(with_condition("&loop {all: [*loop]}"))
    assert "recursive" in issues[0].message
    assert issues[0].line == RULE_LINE


def test_oversized_document_is_refused_before_parsing() -> None:
    issues = _issues(MINIMAL + "# padding\n" * 20_000)
    assert "bytes" in issues[0].message


def test_node_count_is_bounded() -> None:
    many = "[" + ", ".join(["s"] * 20_000) + "]"
    issues = _issues(MINIMAL.replace("{kind: human, skills: [support]}", f"{{kind: human, skills: {many}}}"))
    assert "nodes" in issues[0].message
    assert issues[0].line is not None


def test_number_of_issues_is_capped() -> None:
    bad = "".join(f"  - {{id: r{i}, when: {RULE}, target: nowhere}}\n" for i in range(300))
    issues = _issues(MINIMAL.replace("rules:\n", "rules:\n" + bad))
    assert len(issues) <= 51
    assert "more" in issues[-1].message


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("name: mini", "name: " + "a" * 5000),
        ("id: to_sales", "id: " + "a" * 5000),
        ("  sales_bot: {kind: bot}", "  sales_bot: {kind: bot}\n  " + "p" * 1000 + ": {kind: human}"),
        ("{field: intent,", "{field: customer." + "p" * 5000 + ","),
    ],
)
def test_names_and_ids_have_a_length_limit(old: str, new: str) -> None:
    issues = _issues(MINIMAL.replace(old, new, 1))
    assert any("at most" in i.message for i in issues), [i.message for i in issues]
    assert all(i.line is not None for i in issues)


def test_text_that_is_not_unicode_is_a_policy_error() -> None:
    # Passed before too (PyYAML's own reader refused it); libyaml would raise UnicodeEncodeError.
    assert _issues(MINIMAL + "description: \ud800\n")


# --- hot reload of the served file -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_hot_reload_refuses_a_bomb_and_keeps_serving(tmp_path: Path, name: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL)
    store = PolicyStore(path)
    before = store.current()
    path.write_text(BOMBS[name])
    assert store.current().version == before.version
    assert store.last_error is not None
    assert len(str(store.last_error)) < 4000


def test_hot_reload_does_not_read_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL)
    store = PolicyStore(path)
    before = store.current()
    path.write_bytes(b"a: " + b"x" * 20_000_000)
    assert store.current().version == before.version
    assert "bytes" in str(store.last_error)


# --- baton policy check / explain --------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (BOMBS["deep_document"].encode(), "nest"),
        (alias_bomb(6).encode(), "alias"),
        (b"name: \xff\xfe broken\n", "UTF-8"),
        (with_condition("{field: 'nonsense[/bold]', op: '==', value: 1}").encode(), "nonsense[/bold]"),
    ],
)
def test_policy_check_prints_the_problem_and_exits_2(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    result = runner.invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert needle in result.output


def test_policy_explain_prints_markup_like_text_as_it_is() -> None:
    message = "[/bold] I want to talk to a [red]person"
    result = runner.invoke(cli, ["policy", "explain", str(POLICIES / "real_estate.yaml"), message])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "[/bold]" in result.output


# --- the policy routes -------------------------------------------------------------------------

NAME = "real_estate"
YAML = {"content-type": "text/yaml", **Api.auth(ADMIN)}


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    policy = tmp_path / "policy.yaml"
    shutil.copy(POLICIES / "real_estate.yaml", policy)
    app = create_app(api_settings(tmp_path, policy=policy))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield client


async def _serving(http: httpx.AsyncClient) -> dict[str, str]:
    r = await http.get(f"/v1/policies/{NAME}", headers=Api.auth(ADMIN))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _assert_bounded_422(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text[:500]
    assert len(r.content) < 10_000
    error = r.json()["error"]
    assert error["code"] == "invalid_policy"
    assert all(isinstance(d["line"], int) and isinstance(d["column"], int) for d in error["details"])


@pytest.mark.parametrize("name", sorted(BOMBS))
async def test_every_policy_route_answers_a_bomb_with_a_short_422(http: httpx.AsyncClient, name: str) -> None:
    before = await _serving(http)
    serving = before["yaml"]
    bomb = BOMBS[name].replace("name: mini", f"name: {NAME}")
    admin = Api.auth(ADMIN)
    _assert_bounded_422(await http.put(f"/v1/policies/{NAME}", content=bomb, headers=YAML))
    _assert_bounded_422(await http.put(f"/v1/policies/{NAME}", json={"yaml": bomb}, headers=admin))
    _assert_bounded_422(await http.post(f"/v1/policies/{NAME}/publish", json={"yaml": bomb}, headers=admin))
    body = {"yaml": bomb, "message": "hello"}
    _assert_bounded_422(await http.post(f"/v1/policies/{NAME}/draft/explain", json=body, headers=admin))
    r = await http.post(f"/v1/policies/{NAME}/check", json={"yaml": bomb}, headers=admin)
    assert r.status_code == 200
    assert r.json()["ok"] is False
    assert len(r.content) < 10_000
    after = await _serving(http)
    assert (after["version"], after["yaml"]) == (before["version"], serving)


async def test_put_keeps_the_policy_name_like_publish(http: httpx.AsyncClient) -> None:
    before = await _serving(http)
    name_line = next(n for n, row in enumerate(before["yaml"].splitlines(), 1) if row.startswith("name:"))
    for new_name in ("a" * 5000, "other"):
        renamed = before["yaml"].replace(f"name: {NAME}", f"name: {new_name}", 1)
        for r in (
            await http.put(f"/v1/policies/{NAME}", content=renamed, headers=YAML),
            await http.post(f"/v1/policies/{NAME}/publish", json={"yaml": renamed}, headers=Api.auth(ADMIN)),
        ):
            assert r.status_code == 422, r.text[:300]
            assert r.json()["error"]["code"] == "invalid_policy"
            assert r.json()["error"]["details"][0]["line"] == name_line
    assert (await _serving(http))["version"] == before["version"]
    r = await http.get(f"/v1/policies/{NAME}/versions", headers=Api.auth(ADMIN))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["", "/versions", "/check", "/publish"])
async def test_a_policy_name_in_the_path_follows_the_name_rule(http: httpx.AsyncClient, path: str) -> None:
    method = "GET" if path in ("", "/versions") else "POST"
    r = await http.request(
        method, f"/v1/policies/{'a' * 5000}{path}", json={"yaml": "x"}, headers=Api.auth(ADMIN)
    )
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["code"] == "validation_error"


async def test_put_publishes_through_the_same_path_as_publish(http: httpx.AsyncClient) -> None:
    before = await _serving(http)
    edited = before["yaml"] + "\n# tuned by ops\n"
    r = await http.put(
        f"/v1/policies/{NAME}",
        json={"yaml": edited, "published_by": "dana", "note": "tuned"},
        headers=Api.auth(ADMIN),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] != before["version"]
    r = await http.put(f"/v1/policies/{NAME}", content=before["yaml"], headers=YAML)
    assert r.status_code == 200, r.text
    history = (await http.get(f"/v1/policies/{NAME}/versions", headers=Api.auth(ADMIN))).json()
    assert [(v["published_by"], v["note"], v["current"]) for v in history[:2]] == [
        ("admin", "", True),
        ("dana", "tuned", False),
    ]


async def test_put_refuses_a_deeply_nested_json_body(http: httpx.AsyncClient) -> None:
    body = '{"yaml": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = await http.put(
        f"/v1/policies/{NAME}", content=body, headers={"content-type": "application/json", **Api.auth(ADMIN)}
    )
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["code"] == "validation_error"


async def test_draft_explain_does_not_echo_a_huge_conversation_id(http: httpx.AsyncClient) -> None:
    body = {"message": "hello", "conversation_id": "c" * 10_000}
    r = await http.post(f"/v1/policies/{NAME}/draft/explain", json=body, headers=Api.auth(ADMIN))
    assert r.status_code == 422, r.text[:300]
    assert len(r.content) < 2_000
