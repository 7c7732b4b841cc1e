# Two commands for a newcomer: `make run` serves the app on http://localhost:8080 with data in ./data;
# `make test` installs everything the tests need (Python packages, Debian packages, the test cluster)
# and runs every test. Both create the virtual environment .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint venv dev-venv system-deps test-cluster cluster bench screenshots clean

run: venv
	@mkdir -p data
	@echo "Serving on port $${PORT:-8080} of every interface: http://localhost:$${PORT:-8080} (data in $${DATA_DIR:-./data}); Ctrl-C stops."
	DATA_DIR=$${DATA_DIR:-./data} $(BIN)/gunicorn --config config.py wsgi:application

test: system-deps dev-venv test-cluster lint
	$(BIN)/pytest $(PYTEST_ARGS)

# ruff, with the settings in pyproject.toml (also run by make test).
lint: dev-venv
	$(BIN)/ruff check .

venv: $(BIN)/.installed

dev-venv: $(BIN)/.dev-installed

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.dev-installed: requirements-dev.txt $(BIN)/.installed tests/js/package-lock.json
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@command -v npm >/dev/null || { echo "error: the accessibility test needs npm (Debian: apt-get install nodejs npm)" >&2; exit 3; }
	cd tests/js && npm ci --silent --no-audit --no-fund   # axe-core for the accessibility check
	touch $@

# Debian's chromium/chromium-driver (browser tests) and apache2-utils (htpasswd -vb).
system-deps:
	hack/install-system-deps.sh

# kube-apiserver and etcd built from Go modules, cached under ~/.cache/workshop-registration.
test-cluster:
	hack/build-test-cluster.sh >/dev/null

# The tests' API server, started by hand for debugging: prints how to point kubectl at it.
cluster: dev-venv test-cluster
	$(BIN)/python -m tests.kube

# The workshop-start burst and the workshop trickle, measured (minutes; not part of make test): tables, JSON.
bench: dev-venv test-cluster
	$(BIN)/python -m bench --json bench-results.json

# Refresh the pictures in docs/ from the browser tests.
screenshots: system-deps dev-venv
	SCREENSHOT_DIR=docs $(BIN)/pytest -q -m browser -k "screenshot or phone or claiming or success_view or \
	  streamer_mode or qr_code" tests/test_browser.py tests/test_browser_experience.py tests/test_browser_admin.py

clean:
	rm -rf $(VENV) .pytest_cache
