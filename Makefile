# Paperless congress: build, run and test.
#
#   make run        start the embedded system (NATS, the three services, Caddy) on PORT (8000)
#   make test       unit + integration + e2e tests (SQLite), not the slow ones
#   make test-pg    integration + e2e tests against PostgreSQL on 127.0.0.1:5432
#   make bench      performance figures (one table, non-zero exit on any miss)
#   make cluster    slow tests of a 3-node NATS cluster (tests/cluster)
#   make chaos      slow crash/fault tests (tests/chaos)
#
# VENV=/path/to/venv uses (and installs into) another virtualenv than ./.venv, e.g. to
# share one between several checkouts. The install is skipped while a stamp file in the
# virtualenv matches the current pyproject.toml.

SHELL := /bin/bash
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYPROJECT_HASH := $(shell sha256sum pyproject.toml 2>/dev/null | cut -c1-16)
STAMP := $(VENV)/.installed-$(PYPROJECT_HASH)
SYSTEM_PACKAGES := chromium poppler-utils libnss3-tools softhsm2
PYTEST_ARGS ?=

# $(call pytest,<args>[,<env assignments>]).
# pytest exits 5 when a tier collected no tests: that is not a failure here.
define pytest
	@rc=0; $(2) $(PYTHON) -m pytest $(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests were collected (exit 5): not a failure"; rc=0; fi; exit $$rc
endef

.PHONY: venv install run test test-pg bench cluster chaos system-packages clean distclean

venv install: $(STAMP)

# Debian's python3 lacks the venv module until python3-venv is installed: install it if needed.
$(STAMP):
	@test -x $(PYTHON) || python3 -m venv $(VENV) || { \
	  rm -rf $(VENV); sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends python3-venv && python3 -m venv $(VENV); }
	$(PYTHON) -m pip install --disable-pip-version-check -q -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(PYTHON) -m runtime.launcher

# Debian packages the tests use: installed only when missing, apt-get update at most once.
system-packages:
	@if ! command -v dpkg >/dev/null 2>&1; then echo "no dpkg: install $(SYSTEM_PACKAGES) yourself"; exit 0; fi; \
	missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends $$missing; \
	fi

test: install system-packages
	$(call pytest,tests/unit tests/integration tests/e2e -q -m "not slow")

test-pg: install system-packages
	$(call pytest,tests/integration tests/e2e -q -m "not slow",TEST_DATABASE=postgresql)

bench: install
	@if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get install -y --no-install-recommends wrk 2>/dev/null || \
	  { $$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends wrk; }; \
	fi
	$(PYTHON) -m bench

cluster: install
	$(call pytest,tests/cluster -q -m slow)

# The long crash run, the PostgreSQL/NATS outages (a private PostgreSQL made with initdb: the
# Debian postgresql package is installed when missing), load and long API fuzzing.
chaos: install
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES=postgresql
	$(call pytest,tests/chaos -q -s)
	$(call pytest,tests/load tests/fuzz -q -s -m slow)

clean:
	find . -name .venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache build dist *.egg-info

# Also removes the virtualenv. Never removes var/ (the data of your congresses).
distclean: clean
	rm -rf $(VENV)
