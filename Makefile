# Every install step the project needs lives here: a fresh clone needs only python3 (>= 3.11) and make.
PY ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON := $(PY)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint format bench postgresql

# Evaluated before any recipe runs: whether this `make` is the one that installs the `hermes` command.
FIRST_INSTALL := $(if $(wildcard .venv/bin/hermes),,yes)

$(UV):
	@echo "==> installing uv $(UV_VERSION) into .tools/ (once)"
	$(PY) -m venv .tools
	.tools/bin/pip install --disable-pip-version-check uv==$(UV_VERSION)

# The gateway with the API server on loopback. On a home (default ~/.hermes) that does not say otherwise,
# API_SERVER_ENABLED=true is written into its .env, so every later command sees the same settings.
run: | $(UV)
	@echo "==> installing Hermes and its dependencies into .venv/ from uv.lock"
	$(UV) sync --frozen --inexact --extra matrix
	$(if $(FIRST_INSTALL),@echo "==> the hermes command is $(CURDIR)/.venv/bin/hermes; put it on your PATH with \
	\`source .venv/bin/activate\` (or \`uv tool install '.[matrix]'\`; see the README)")
	.venv/bin/hermes config set --if-unset API_SERVER_ENABLED true
	.venv/bin/hermes gateway run

# Debian's chromium for the dashboard's browser tests (Playwright drives it; it never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	@echo "==> installing Debian's chromium for the dashboard's browser tests (once)"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# PostgreSQL's server binaries, for the tests that run the store on PostgreSQL too (Debian's package).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "==> installing Debian's postgresql for the store's tests (once)"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# Lint, format check, strict type check of src/, and the whole suite: real Synapse, PostgreSQL and browser.
test: postgresql | $(UV) $(CHROMIUM)
	@echo "==> installing Hermes with every extra and the test tools into .venv/ from uv.lock"
	$(UV) sync --frozen --all-extras
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest

format: | $(UV)
	$(UV) sync --frozen --all-extras
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: | $(UV)
	$(UV) sync --frozen --all-extras
	for b in bench/*.py; do PYTHONPATH=. .venv/bin/python $$b; done
