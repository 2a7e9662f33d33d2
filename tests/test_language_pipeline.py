"""The shared spaCy pipeline: the installed model is the one whose provenance was checked, and it runs
offline without executing any code of its package."""

from __future__ import annotations

import hashlib
import json
import sys

from graph.language.pipeline import MODEL_FILES, MODEL_PACKAGE, Pipeline, model_path


def test_installed_model_files_are_the_checked_ones() -> None:
    root = model_path()
    found = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    assert found == MODEL_FILES
    meta = json.loads((root / "meta.json").read_text())
    assert (meta["version"], meta["spacy_git_version"], meta["author"]) == ("3.8.0", "5010fcbd3", "Explosion")
    assert meta["performance"]["ents_f"] == 0.8433119744  # Explosion's published figure for 3.8.0


def test_pipeline_reads_entities_without_importing_the_model_package() -> None:
    pipeline = Pipeline()
    doc = pipeline.parse("I'd like to transfer sixty dollars to Khadija in San Lorenzo on Friday.")
    labels = {(e.text, e.label_) for e in doc.ents}
    assert ("Khadija", "PERSON") in labels
    assert ("San Lorenzo", "GPE") in labels
    assert MODEL_PACKAGE not in sys.modules
