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

.PHONY: install demo test lint format typecheck unit notebooks bench clean browser

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
	$(BIN)/python -m pytest -n 2 -m "not heavy" tests

notebooks: install
	$(BIN)/python -m pytest -n 2 --nbmake notebooks

test: lint typecheck unit notebooks

bench: install
	$(BIN)/python -m benchmarks.run_all

# Debian's Chromium for the audit page's browser test (installed once, as root; else skipped).
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium missing and not root: the browser test will be skipped"; fi

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
