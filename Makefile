# The README's two commands are `make run` and `make test`; every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
# `make run` keeps its data in the checkout's var/ (the README's curl examples source var/demo-tokens.env);
# an installed `council` elsewhere uses COUNCIL_DATA_DIR or ~/.local/share/par-council.
RUN_ENV = COUNCIL_DATA_DIR=$(CURDIR)/var

.PHONY: run test install install-dev bench faults lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'

run: install
	$(RUN_ENV) $(BIN)/council db init
	$(RUN_ENV) $(BIN)/council demo
	$(RUN_ENV) $(BIN)/council up

# The browser tests (tests/browser) drive Debian's Chromium through Playwright, never a downloaded browser: installed
# here when missing and run as root; without it they fail, saying what to do.
test: install-dev
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive && \
	  (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)); } || \
	  echo "make test: /usr/bin/chromium is missing (apt-get install chromium as root); the browser tests will fail"
	$(BIN)/python -m pytest

# bench/all.py drives gunicorn with wrk (Debian's package): installed here when missing and run as root.
bench: install-dev
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)); }
	$(BIN)/python bench/all.py

faults: install-dev
	for backend in sqlite postgres; do \
	  $(BIN)/python bench/faults/worker_kill.py --backend $$backend && \
	  $(BIN)/python bench/faults/same_key_race.py --backend $$backend && \
	  $(BIN)/python bench/faults/projections_kill.py --backend $$backend || exit 1; \
	done
	$(BIN)/python bench/faults/postgres_restart.py

lint: install-dev
	$(BIN)/ruff check domain council api projections tests bench
	$(BIN)/mypy
