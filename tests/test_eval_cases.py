"""YAML eval cases: loading, clear errors naming the file, and scoring the shipped examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.cases import CaseError, load_case, load_cases, run_cases

CASES = Path(__file__).resolve().parent.parent / "evals" / "cases"


def test_shipped_cases_load_and_pass() -> None:
    cases = load_cases([CASES])
    assert {c.id for c in cases} >= {"seller-relocation", "buyer-preapproved", "support-cancel-order"}


async def test_run_cases_scores_facts_routes_and_sections() -> None:
    outcomes = await run_cases([CASES])
    assert outcomes
    for outcome in outcomes:
        assert outcome.passed, outcome


def test_typo_field_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nturns:\n  - {role: customer, text: hi}\nexpected_fact: []\n")
    with pytest.raises(CaseError, match=r"(?s)bad\.yaml.*expected_fact"):
        load_case(path)


def test_unknown_role_and_section_are_errors(tmp_path: Path) -> None:
    role = tmp_path / "role.yaml"
    role.write_text("id: x\nturns:\n  - {role: robot, text: hi}\n")
    with pytest.raises(CaseError, match=r"role\.yaml"):
        load_case(role)
    section = tmp_path / "section.yaml"
    section.write_text("id: x\nsections: [vibes]\nturns:\n  - {role: customer, text: hi}\n")
    with pytest.raises(CaseError, match="vibes"):
        load_case(section)


def test_bad_yaml_and_duplicates(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    with pytest.raises(CaseError, match=r"broken\.yaml"):
        load_case(broken)
    good = "id: same\nturns:\n  - {role: customer, text: hi}\n"
    (tmp_path / "dup").mkdir()
    (tmp_path / "dup" / "a.yaml").write_text(good)
    (tmp_path / "dup" / "b.yaml").write_text(good)
    with pytest.raises(CaseError, match="duplicate case id"):
        load_cases([tmp_path / "dup"])


def test_case_models_are_frozen() -> None:
    case = load_cases([CASES])[0]
    with pytest.raises(Exception, match="frozen"):
        case.id = "other"  # type: ignore[misc]


async def test_route_is_checked_through_the_real_router(tmp_path: Path) -> None:
    """The expected route is where the graph's router actually sends the customer, not the brief target."""
    from evals.cases import run_cases

    case = tmp_path / "wrong_route.yaml"
    case.write_text(
        "id: wrong-route\n"
        "policy: real_estate\n"
        "route: luxury_specialist\n"
        "turns:\n"
        '  - {role: customer, text: "Hi"}\n'
        '  - {role: customer, text: "I\'d like to sell my house at 12 Oak Street"}\n'
    )
    right = tmp_path / "right_route.yaml"
    right.write_text(
        case.read_text().replace("wrong-route", "right-route").replace("luxury_specialist", "seller_bot")
    )
    outcomes = {o.case_id: o for o in await run_cases([case, right])}
    assert outcomes["wrong-route"].route_ok is False
    assert outcomes["wrong-route"].passed is False
    assert outcomes["right-route"].route_ok is True
