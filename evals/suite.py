"""Several context-eval reports from one run (``baton eval context --dataset A --dataset B``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evals.context import CaseResult, ContextReport


def dataset_name(path: Path) -> str:
    """The name a dataset's report goes by: its file stem (``sgd_dev`` for ``.../sgd_dev.jsonl``)."""
    return path.stem


class ContextSuite(BaseModel):
    """One report per dataset, each with its own baselines and per-domain table."""

    datasets: dict[str, ContextReport]
    meta: dict[str, Any] = Field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the JSON and, beside it, ``<stem>.<dataset>.cases.jsonl`` per dataset."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        for name, report in self.datasets.items():
            with path.with_suffix(f".{name}.cases.jsonl").open("w", encoding="utf-8") as out:
                for case in report.cases:
                    out.write(case.model_dump_json() + "\n")


def load_suite(path: Path) -> ContextSuite:
    """Read a saved suite and its per-dataset ``.cases.jsonl`` sidecars (where present)."""
    suite = ContextSuite.model_validate_json(path.read_text(encoding="utf-8"))
    for name, report in suite.datasets.items():
        sidecar = path.with_suffix(f".{name}.cases.jsonl")
        if sidecar.is_file():
            lines = sidecar.read_text(encoding="utf-8").splitlines()
            report.cases = [CaseResult.model_validate_json(line) for line in lines if line.strip()]
    return suite
