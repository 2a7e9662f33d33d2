"""Policy experiments: declaring variants, sticky assignment, routing under a variant, promotion text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from graph.policy_store import check_policy_file, check_policy_text
from graph.runtime import BatonRuntime
from policies.experiments import (
    apply_variant,
    assign,
    experiment_of,
    promoted_text,
    routing_policy,
    with_status,
)
from policies.loader import PolicyError
from tests.conftest import POLICIES, make_settings

EXPERIMENT = """
experiment:
  id: luxury_threshold
  description: does a 1.5M luxury threshold (instead of 2M) help?
  status: {status}
  variants:
    - name: control
      share: 0.5
    - name: lower_threshold
      share: 0.5
      rules:
        luxury_interest:
          when:
            any:
              - all:
                  - {{field: intent, op: "==", value: luxury_inquiry}}
                  - {{field: intent_confidence, op: ">=", value: 0.5}}
                  - {{field: active_agent, op: in, value: ["", concierge_bot]}}
              - {{field: property_value, op: ">=", value: 1500000}}
          narration: Our luxury specialist takes it from here; they have everything you told me.
"""
ROOT = Path(__file__).resolve().parent.parent
SELL_18M = "Hi, I'd like to sell my house, it's worth about 1.8 million"


def experiment_text(status: str = "running", extra: str = "") -> str:
    """The real-estate policy with the luxury-threshold experiment appended."""
    base = (POLICIES / "real_estate.yaml").read_text(encoding="utf-8")
    return base + EXPERIMENT.format(status=status) + extra


def write_experiment(folder: Path, status: str = "running") -> Path:
    """The experiment policy as a file (the service publishes into it, so each test has its own)."""
    path = folder / "real_estate.yaml"
    path.write_text(experiment_text(status), encoding="utf-8")
    return path


def _problems(text: str) -> str:
    with pytest.raises(PolicyError) as err:
        check_policy_text(text, "p.yaml")
    return str(err.value)


def test_a_policy_declares_variants_with_shares() -> None:
    loaded = check_policy_text(experiment_text(), "p.yaml")
    experiment = experiment_of(loaded.policy)
    assert experiment is not None
    assert [(v.name, v.share) for v in experiment.variants] == [("control", 0.5), ("lower_threshold", 0.5)]
    assert experiment.status == "running"
    assert not experiment.variants[0].overrides
    assert experiment.variants[1].overrides


def test_shares_must_sum_to_one_and_names_be_unique() -> None:
    text = experiment_text().replace("share: 0.5\n    - name: lower", "share: 0.4\n    - name: lower")
    assert "variant shares must sum to 1, got 0.9" in _problems(text)
    text = experiment_text().replace("name: lower_threshold", "name: control")
    assert "duplicate variant name 'control'" in _problems(text)


def test_a_variant_overrides_only_what_exists() -> None:
    missing_rule = experiment_text().replace("        luxury_interest:\n", "        luxury_interests:\n")
    message = _problems(missing_rule)
    assert "variant lower_threshold: no rule 'luxury_interests' to override" in message
    line = experiment_text().splitlines().index("        luxury_interest:") + 1
    assert f"p.yaml:{line + 1}:" in message  # points at the override's body in the file
    typo = experiment_text().replace("          narration: Our", "          narrate: Our")
    assert "unknown field 'narrate'" in _problems(typo)
    bad_target = experiment_text().replace(
        "          narration: Our", "          target: penthouse_bot\n          narration: Our"
    )
    assert "variant lower_threshold: target 'penthouse_bot' is not declared under targets" in _problems(
        bad_target
    )
    unknown_field = experiment_text().replace(
        '{field: property_value, op: ">=", value: 1500000}', '{field: value, op: ">=", value: 1}'
    )
    assert "variant lower_threshold: unknown field 'value'" in _problems(unknown_field)


def test_assignment_is_deterministic_and_independent_of_the_process() -> None:
    experiment = experiment_of(check_policy_text(experiment_text(), "p.yaml").policy)
    assert experiment is not None
    ids = [f"c-{i:04d}" for i in range(200)]
    here = [assign(experiment, cid).name for cid in ids]
    assert here == [assign(experiment, cid).name for cid in ids]
    script = (
        "import json, sys\n"
        "from graph.policy_store import check_policy_text\n"
        "from policies.experiments import assign, experiment_of\n"
        "e = experiment_of(check_policy_text(sys.stdin.read(), 'p.yaml').policy)\n"
        f"print(json.dumps([assign(e, f'c-{{i:04d}}').name for i in range({len(ids)})]))\n"
    )
    # Another interpreter with another hash seed: what a second worker or a restarted one computes.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script],
        input=experiment_text(),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert json.loads(other.stdout) == here


def test_shares_hold_over_ten_thousand_conversations() -> None:
    three = (
        experiment_text()
        .replace("share: 0.5\n    - name: lower", "share: 0.2\n    - name: lower")
        .replace(
            "    - name: lower_threshold\n      share: 0.5",
            "    - name: middle\n      share: 0.3\n    - name: lower_threshold\n      share: 0.5",
        )
    )
    experiment = experiment_of(check_policy_text(three, "p.yaml").policy)
    assert experiment is not None
    counts = Counter(assign(experiment, f"conversation-{i}").name for i in range(10_000))
    # binomial sd at n = 10,000 is at most 0.005: 0.02 is four of them
    for variant in experiment.variants:
        assert abs(counts[variant.name] / 10_000 - variant.share) < 0.02, counts
    # another experiment id splits the same conversations independently
    other = experiment.model_copy(update={"id": "another"})
    same = sum(assign(experiment, f"c{i}").name == assign(other, f"c{i}").name for i in range(10_000))
    assert 0.34 < same / 10_000 < 0.42  # 0.2^2 + 0.3^2 + 0.5^2 = 0.38 if independent


def test_only_a_running_experiment_assigns_variants() -> None:
    draft = check_policy_text(experiment_text("draft"), "p.yaml").policy
    assert routing_policy(draft, "c-1") == (draft, None)
    running = check_policy_text(experiment_text(), "p.yaml").policy
    experiment = experiment_of(running)
    assert experiment is not None
    cid = next(f"c-{i}" for i in range(100) if assign(experiment, f"c-{i}").name == "lower_threshold")
    policy, arm = routing_policy(running, cid)
    assert arm is not None
    assert (arm.experiment, arm.variant) == ("luxury_threshold", "lower_threshold")
    rule = next(r for r in policy.rules if r.id == "luxury_interest")
    assert "1500000" in rule.when.model_dump_json()
    assert rule.narration.startswith("Our luxury specialist")
    base_rule = next(r for r in running.rules if r.id == "luxury_interest")
    assert "2000000" in base_rule.when.model_dump_json()  # the policy itself is untouched
    assert routing_policy(running, cid)[0] is policy  # built once per policy and variant


def test_status_changes_keep_every_comment_and_promotion_publishes_the_variant() -> None:
    text = experiment_text("draft")
    started = with_status(text, "running")
    assert started == text.replace("  status: draft\n", "  status: running\n")
    no_status = text.replace("  status: draft\n", "")
    added = with_status(no_status, "running")
    assert experiment_of(check_policy_text(added, "p.yaml").policy).status == "running"  # type: ignore[union-attr]
    assert added.count("# ") == no_status.count("# ")
    loaded = check_policy_text(started, "p.yaml")
    promoted = check_policy_text(promoted_text(loaded.policy, "lower_threshold", note="promoted"), "p.yaml")
    assert experiment_of(promoted.policy) is None
    experiment = experiment_of(loaded.policy)
    assert experiment is not None
    routed = apply_variant(loaded.policy, experiment.variant("lower_threshold"))
    assert promoted.policy.model_dump(exclude={"experiment"}) == routed.model_dump()


async def test_the_router_routes_and_records_by_variant(tmp_path: Path) -> None:
    path = write_experiment(tmp_path)
    experiment = experiment_of(check_policy_file(path).policy)
    assert experiment is not None
    chosen = {
        v.name: next(f"c-{i}" for i in range(200) if assign(experiment, f"c-{i}").name == v.name)
        for v in experiment.variants
    }
    db = f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"
    async with BatonRuntime.open(make_settings(tmp_path, policy=str(path)), checkpoint_url=db) as runtime:
        for variant, cid in chosen.items():
            turn = await runtime.post_message(cid, SELL_18M)
            assert turn.routing is not None
            assert (turn.routing["experiment"], turn.routing["variant"]) == ("luxury_threshold", variant)
            assert turn.active_agent == (
                "luxury_specialist" if variant == "lower_threshold" else "seller_bot"
            )
    # after a restart the same conversations keep their variants (nothing was stored to remember them)
    async with BatonRuntime.open(make_settings(tmp_path, policy=str(path)), checkpoint_url=db) as runtime:
        for variant, cid in chosen.items():
            turn = await runtime.post_message(cid, "Can I talk to a real person please?")
            assert turn.handoff is not None
            assert (turn.handoff.experiment, turn.handoff.variant) == ("luxury_threshold", variant)
            assert turn.routing is not None
            assert turn.routing["variant"] == variant


async def test_without_a_running_experiment_nothing_is_recorded(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, status="stopped")
    async with BatonRuntime.open(
        make_settings(tmp_path, policy=str(path)), checkpoint_url="memory"
    ) as runtime:
        await runtime.post_message("c-1", SELL_18M)
        turn = await runtime.post_message("c-1", "Can I talk to a real person please?")
        assert turn.handoff is not None
        assert (turn.handoff.experiment, turn.handoff.variant) == ("", "")
        assert turn.routing is not None
        assert "variant" not in turn.routing


async def test_handoffs_written_before_experiments_load_without_a_variant(tmp_path: Path) -> None:
    import gzip
    import shutil

    fixture = Path(__file__).parent / "fixtures" / "checkpoints" / "v1_handoffs.sqlite.gz"
    db = tmp_path / "old.sqlite"
    with gzip.open(fixture) as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=f"sqlite:///{db}") as runtime:
        view = await runtime.get("old-paused")
        assert view.handoff is not None
        assert (view.handoff.experiment, view.handoff.variant) == ("", "")
