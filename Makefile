# Two commands for a newcomer: `make demo` and `make test`. Both build .venv from uv.lock first.
SHELL := /bin/bash
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

.PHONY: install demo test test-ray lint format typecheck unit notebooks bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# The stamp is rebuilt whenever the project or the lock changes.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
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

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
