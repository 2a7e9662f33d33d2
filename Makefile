# The two commands that matter: `make run` and `make test`. Both install what they need first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install run demo test test-llm lint format typecheck pytest screenshots browser voice clean

install: $(STAMP)

# Reinstall only when the project metadata changed: `make install` is fast when nothing did.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/baton serve

demo: install
	$(VENV)/bin/baton demo

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

# Debian's Chromium for the browser tests (never a downloaded browser); a no-op when present.
# Outside CI a machine that cannot install it still runs every other test (the browser ones skip).
browser:
	@bash .ci/browser.sh || { [ "$$CI" != "true" ] && echo "warning: no Chromium; browser tests will skip"; }

# Debian's eSpeak NG for the voice channel's speech out; outside CI its tests skip when it cannot install.
voice:
	@bash .ci/voice.sh || { [ "$$CI" != "true" ] && echo "warning: no espeak-ng; voice tests will skip"; }

pytest: install browser voice
	$(VENV)/bin/pytest -q

test: install lint typecheck pytest

# The README's console and analytics screenshots, taken again over docs/screenshots/ (to commit); the
# tests take them into test-artifacts/ui/readme/ and leave the checkout alone.
screenshots: install browser
	BATON_README_SHOTS=1 $(VENV)/bin/pytest -q tests/test_ui_console.py::test_readme_console_screenshots \
		tests/test_ui_analytics.py

# The `llm`-marked tests against a real endpoint: a local llama.cpp server with SmolLM2-135M, and the
# measurement of 20 SGD dev briefs and their signals (test-artifacts/llm-eval.json, printed).
# The first run builds llama-cpp-python from source (minutes); the wheel and model are cached.
LLM_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/baton/llm

test-llm: install
	PY=$(PY) PYTHON=$(PYTHON) BATON_LLM_CACHE=$(LLM_CACHE) .ci/llm.sh

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
