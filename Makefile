# Two commands for a newcomer: `make demo` and `make test`. Both build .venv from uv.lock first.
SHELL := /bin/bash
comma := ,
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
# Copies, not hard links from uv's cache: NLTK (used by LlamaIndex's splitter) refuses hard-linked data.
export UV_LINK_MODE := copy
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test test-ray lint format typecheck unit notebooks bench clean browser test-matrix test-lowest

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# llama-cpp-python (extra local-model) has no wheel on the index: a fresh machine builds it from
# source during the sync, a long silent wait. Say so first, unless the venv can already import it
# or uv's cache holds a build of the locked version (then the sync reuses it).
LLAMA_CPP_VERSION = $(shell sed -n '/^name = "llama-cpp-python"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
LLAMA_CPP_NOTICE := building llama.cpp once for the local model, about 5 minutes on 2 cores; later runs reuse the cached build

# The stamp is rebuilt whenever the project or the lock changes.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	@$(BIN)/python -c 'import importlib.util as u, sys; sys.exit(u.find_spec("llama_cpp") is None)' \
		2>/dev/null || ls "$$($(UV) cache dir)"/sdists-*/*/llama-cpp-python/$(LLAMA_CPP_VERSION)/*/*.whl \
		>/dev/null 2>&1 || echo "$(LLAMA_CPP_NOTICE)"
	$(UV) sync --frozen --all-extras --python "$(PYTHON)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python examples/quickstart.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -n 2 -m "not heavy and not ray" tests

notebooks: install
	$(BIN)/python -m pytest -n 2 --nbmake notebooks

test: lint typecheck unit notebooks

# The Ray scale-out example on a local Ray instance: slow to start, so a step of its own.
test-ray: install
	$(BIN)/python -m pytest -p no:xdist -m ray tests/examples/test_ray_pipeline.py

bench: install
	$(BIN)/python -m benchmarks.run_all

# Debian's Chromium for the audit page's browser test (installed once, as root; else skipped).
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium missing and not root: the browser test will be skipped"; fi

# CI beyond the lock (README, "Supported versions"): the suite on the lowest and highest Python
# the README supports, and once with the lowest direct dependency versions pyproject.toml
# allows. These runs leave out the extras that build native code (local-model, scale), the
# notebooks, and the suites that do not depend on those versions (the local gateway's own, the
# reliability, docs, example and project checks); `make test` runs all of them on the locked
# versions. What they run: the tests of igris_core, both framework packages and the SDK adapters.
MATRIX_PYTHONS := 3.10 3.13
MATRIX_EXTRAS := langchain,llama-index,openai,anthropic,google,local-gateway,otel
MATRIX_TESTS := tests/igris_core tests/langchain_igris tests/llama_index_igris tests/adapters
MATRIX_PYTEST = -m "not heavy and not real_model" -n 2 $(MATRIX_TESTS)
# The interpreter of a Python version: on PATH, else pyenv's (whose shims only serve the active
# version).
python_for = $(or $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null),$\
	$(firstword $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python$(1))),python$(1))

test-matrix: $(addprefix test-python-,$(MATRIX_PYTHONS)) test-lowest

test-python-%: $(UV)
	UV_PROJECT_ENVIRONMENT=.venv-py$* $(UV) sync --frozen --python "$(call python_for,$*)" \
		$(addprefix --extra ,$(subst $(comma), ,$(MATRIX_EXTRAS)))
	.venv-py$*/bin/python -m pytest $(MATRIX_PYTEST)

# A fresh resolution, not the lock: every direct dependency (extras and the dev group included)
# at the lowest version its range allows, on the lowest Python.
test-lowest: $(UV)
	$(UV) venv --clear --python "$(call python_for,$(firstword $(MATRIX_PYTHONS)))" .venv-lowest
	$(UV) pip install --python .venv-lowest/bin/python --resolution lowest-direct \
		-e ".[$(MATRIX_EXTRAS)]" --group dev
	.venv-lowest/bin/python -m pytest $(MATRIX_PYTEST)

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .venv-py* .venv-lowest
