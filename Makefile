# The two commands of the quick start are `make build` and `make test`; everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
TESTDEPS := $(VENV)/.test-installed
NODE_TOOLS := tests/tools/node_modules/.installed

.PHONY: build test serve check bench bench-full audit lint clean

build: $(RUNTIME)  # make build [BASE_URL=https://…/] [PREVIEW=1] [STRICT=1]
	$(PY) build.py $(if $(BASE_URL),--base-url '$(BASE_URL)') $(if $(PREVIEW),--preview) $(if $(STRICT),--strict)

$(RUNTIME): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(TESTDEPS): $(RUNTIME) requirements-test.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

$(NODE_TOOLS): tests/tools/package.json tests/tools/package-lock.json
	bash tests/tools/ensure-system.sh
	cd tests/tools && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

test: $(TESTDEPS) $(NODE_TOOLS)
	$(PY) -m ruff check engine build.py tests bench tools/seeds
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(TESTDEPS)
	$(PY) -m ruff check engine build.py tests bench tools/seeds
	$(PY) -m mypy

serve: $(RUNTIME)  # make serve [HOST=127.0.0.1] [PORT=8000]
	$(PY) build.py serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

check: $(RUNTIME)
	$(PY) build.py check

bench: $(RUNTIME)
	$(PY) bench/run.py --results bench/RESULTS.md

bench-full: $(RUNTIME)
	$(PY) bench/run.py --with-10000 --results bench/RESULTS.md

# Lighthouse 13 needs Node >= 22.19: tools/audit brings its own Node binary from the npm registry.
AUDIT_TOOLS := tools/audit/node_modules/.installed
$(AUDIT_TOOLS): tools/audit/package.json tools/audit/package-lock.json
	bash tests/tools/ensure-system.sh
	cd tools/audit && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

audit: $(RUNTIME) $(AUDIT_TOOLS)
	PY=$(PY) bash tools/audit/audit.sh

clean:
	rm -rf output .output.spare .output.trees.json .cache tests/artifacts bench/.work
