# Two entry points do all the set-up: `make demo` and `make test`.
# uv (pinned below) installs the exact versions in uv.lock into .venv.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
STAMP := $(VENV)/.installed
# the demo's install: the runtime only (no dev or bench groups: no pyspark, Splink, Playwright)
DEMO_STAMP := $(VENV)/.installed-runtime
DEMO_DIR ?= demo-data
# axe-core (pinned in tests/web/axe/package-lock.json) for the browser tests' accessibility
# check: installed from the npm registry here, at build time, never at test run time.
AXE := tests/web/axe/node_modules/axe-core/axe.min.js

export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test test-pythons install system-packages axe lint bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	touch $(STAMP)

# A full install (make test's) already holds the runtime: the demo reuses it rather than
# stripping the dev tools out of .venv. Otherwise only the runtime is installed, and the full
# stamp goes (uv sync removed what the tests need: `make test` installs it again).
$(DEMO_STAMP): $(UV) uv.lock pyproject.toml
	if [ -f $(STAMP) ] && [ $(STAMP) -nt uv.lock ] && [ $(STAMP) -nt pyproject.toml ]; then :; \
	else $(UV) sync --frozen --no-default-groups --python $(PYTHON) && rm -f $(STAMP); fi
	touch $(DEMO_STAMP)

install: $(STAMP)

# builds into ./demo-data and reuses it when whole; DEMO_ARGS="--fresh" rebuilds it,
# DEMO_ARGS="--no-serve --dir X" builds elsewhere without serving (the last --dir wins)
demo: $(DEMO_STAMP)
	$(VENV)/bin/tiemchung demo --dir $(DEMO_DIR) $(DEMO_ARGS)

system-packages:
	scripts/system-packages

$(AXE): tests/web/axe/package-lock.json
	cd tests/web/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

axe: system-packages $(AXE)

# mypy before pytest: a type error fails the build in seconds, before the long suite starts
# (strict on identity/ and store/: see [tool.mypy] in pyproject.toml)
test: $(STAMP) system-packages $(AXE)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(MAKE) test-pythons

# a subset of the suite on Python 3.12 and 3.13 when found on this machine (skipped, not failed,
# when absent), each in its own venv in a temporary copy: scripts/test-pythons
test-pythons: $(UV)
	UV=$(UV) scripts/test-pythons

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache .mypy_cache tests/web/axe/node_modules
