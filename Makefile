# Two entry points do all the set-up: `make demo` and `make test`.
# uv (pinned below) installs the exact versions in uv.lock into .venv.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
STAMP := $(VENV)/.installed
# axe-core (pinned in tests/web/axe/package-lock.json) for the browser tests' accessibility
# check: installed from the npm registry here, at build time, never at test run time.
AXE := tests/web/axe/node_modules/axe-core/axe.min.js

export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test install system-packages axe lint bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tiemchung demo $(DEMO_ARGS)

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

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	for b in bench/*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache .mypy_cache tests/web/axe/node_modules
