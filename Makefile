# Two commands set everything up on a fresh machine: `make run` and `make test`.
# Needs: Python 3.11+, OpenJDK 17+, Maven, PostgreSQL 15+ server binaries.
SHELL := /bin/bash
TOOLS := .state/tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
TW := $(UV) run --frozen tw
# The console's browser tests drive Debian's chromium package through Playwright.
CHROMIUM := /usr/bin/chromium

# Everything that needs no server, over two processes (pytest-xdist): seconds, for every edit.
# tests/integration holds only server tests; not even importing it saves each worker seconds.
UNIT := -m "not integration" -n 2 --ignore=tests/integration

.PHONY: run stop status test test-unit lint format bench contracts setup browser clean

run: setup ## set up, start the platform and its sinks, load demo data
	$(TW) stack up
	$(TW) stack demo

stop: $(UV) ## stop every process `make run` started
	$(TW) stack down

status: $(UV)
	$(TW) stack status

test: setup browser ## set up and run the whole suite (starts and stops its own Kafka and PostgreSQL)
	$(UV) run --frozen pytest

test-unit: setup ## the fast tier: domain rules, fakes, in-process HTTP; no Kafka or PostgreSQL
	TW_TEST_TIER=unit $(UV) run --frozen pytest $(UNIT)

lint: setup ## ruff (lint + format) and mypy --strict
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

contracts: setup ## regenerate docs/contracts (event JSON Schemas, AsyncAPI) from the code
	$(TW) contracts

bench: setup ## benchmarks beside baselines measured in the same run (about 8 minutes)
	$(UV) run --frozen python -m benchmarks
	$(UV) run --frozen python -m benchmarks.matching_index --gc-freeze
	$(UV) run --frozen python -m benchmarks.log_lines
	$(UV) run --frozen python -m benchmarks.matching_writes
	$(UV) run --frozen python -m benchmarks.pipeline

format: setup
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

setup: $(UV) ## Python environment from uv.lock, Kafka jars from Maven Central
	$(UV) sync --frozen --all-packages
	$(TW) stack prepare

# Playwright's own browser download does not work everywhere; Debian's package does. Without
# root or password-less sudo this says why and carries on: the browser tests then skip. The Noto
# fonts draw Arabic and Chinese alerts as suppliers see them (docs/notify's screenshots).
BROWSER_PACKAGES := chromium fonts-noto-core fonts-noto-cjk
browser: ## Debian's chromium and fonts for the browser tests, installed if missing
	@if [ -x $(CHROMIUM) ] && fc-list | grep -q "Noto Sans CJK" && fc-list | grep -q "Noto Naskh Arabic"; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif ! command -v sudo >/dev/null; then sudo=none; \
	elif [ -t 0 ]; then sudo="sudo"; \
	else sudo="sudo -n"; fi; \
	if [ "$$sudo" != none ] && command -v apt-get >/dev/null \
		&& $$sudo apt-get update -qq \
		&& $$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) \
		&& [ -x $(CHROMIUM) ]; then \
		echo "browser: $(BROWSER_PACKAGES) installed"; \
	else \
		echo "browser: could not install chromium at $(CHROMIUM) (needs apt-get, and root or sudo)."; \
		echo "browser: the console's browser tests will be skipped; install Debian's chromium to run them."; \
	fi

# uv lives in the project's own gitignored tools folder, so set-up never touches the system.
$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

clean: ## stop everything and delete all local state (databases, Kafka data, caught mail)
	-$(TW) stack down
	rm -rf .state .venv deploy/local/kafka/target
