# The shop's everyday commands. `make run` serves the demo shop; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The tests need PostgreSQL (locking is only proven there): the current OS user on localhost by default.
TEST_DATABASE_URL ?= postgres://localhost/
PORT ?= 8000

MANAGE := $(BIN)/python manage.py

.PHONY: bench bench-load bench-stress serve worker scheduler run migrate makemigrations createsuperuser shell dbshell test lint format install install-dev browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install  ## Serve the shop with a demo catalog on http://localhost:8000 (SQLite unless configured).
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_catalog
	DEBUG=$${DEBUG:-True} $(MANAGE) runserver $(PORT)

# Benchmarks against the local PostgreSQL (they create their own databases). QUICK=1 for the short CI mode.
bench: bench-load bench-stress  ## Load benchmark with the database ceiling, then the stress test with invariants.

bench-load: install-dev
	$(BIN)/python bench/load.py $(if $(QUICK),--quick)

bench-stress: install-dev
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python bench/stress.py $(if $(QUICK),--quick)

serve: install  ## The production server (gunicorn, DEBUG off) on http://127.0.0.1:8000; HTTPS=True behind TLS.
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput -v 0
	DEBUG=False DATABASE_POOL=$${DATABASE_POOL:-True} $(BIN)/gunicorn config.wsgi -c config/gunicorn.conf.py

worker: install  ## One task worker (emails, webhooks); run several, on several machines, for more throughput.
	$(MANAGE) db_worker --queue-name default

scheduler: install  ## The periodic jobs: reconcile payments, release expired orders, purge idempotency keys.
	$(MANAGE) run_scheduler

migrate: install
	$(MANAGE) migrate

makemigrations: install
	$(MANAGE) makemigrations

createsuperuser: install
	$(MANAGE) createsuperuser

shell: install
	$(MANAGE) shell

dbshell: install
	$(MANAGE) dbshell

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser tests drive Debian's Chromium; Playwright's own browser download is never used.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install-dev lint browser  ## The whole suite, on PostgreSQL (DATABASE_URL overrides the default server).
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/pytest $(PYTEST_ARGS)
