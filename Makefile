# Every install step the project needs lives here: a fresh clone needs only python3 (>= 3.11) and make.
PY ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON := $(PY)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint format bench

$(UV):
	$(PY) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# The gateway on a fresh HERMES_HOME (default ~/.hermes) with the API server on loopback.
run: | $(UV)
	$(UV) sync --quiet --frozen --inexact --extra matrix
	API_SERVER_ENABLED=$${API_SERVER_ENABLED:-true} .venv/bin/hermes gateway run

# Lint, format check, strict type check of src/, and the whole suite, real Synapse included.
test: | $(UV)
	$(UV) sync --quiet --frozen --all-extras
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest

format: | $(UV)
	$(UV) sync --quiet --frozen --all-extras
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: | $(UV)
	$(UV) sync --quiet --frozen --all-extras
	for b in bench/*.py; do PYTHONPATH=. .venv/bin/python $$b; done
