# Short verbs for a newcomer. Everything runs inside .venv/, made with a Python >= 3.12 found on its own.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell bin/find-python)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test serve install install-dev lock lint format migrations-check bench load scale clean

# Two locked sets, both with hashes: what Flock needs to run (requirements.lock), and on top of it
# what tests, benchmarks and linters need (requirements-dev.lock). Each reinstalls only when its
# lock file changes; `make run` installs the first alone. --no-compile: Python compiles what it
# imports on first use, and compiling every installed module up front cost a first run 4 s.
$(VENV)/.runtime: requirements.lock
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found; see bin/find-python." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Flock's runtime packages into $(VENV) (requirements.lock)…"
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes \
		-r requirements.lock
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	@echo "Installing the test, benchmark and lint packages (requirements-dev.lock)…"
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes \
		-r requirements-dev.lock
	@touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## make lock: recompile both lock files from pyproject.toml (needs the network); the dev set is
## constrained to the runtime pins, so that tests run on exactly what `make run` installs. uv goes
## into a folder of its own, outside the runtime set.
UV := $(VENV)/lock-tools/bin/uv
lock: install
	@test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check \
		--target $(VENV)/lock-tools uv
	$(UV) pip compile pyproject.toml --universal --python-version 3.12 --generate-hashes \
		-o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.12 \
		--generate-hashes -c requirements.lock -o requirements-dev.lock

## make run: set up, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite, tasks in-process)
run: install
	@$(PY) manage.py serve_demo $(HOST):$(PORT)

## make test: the whole suite (SQLite by default; DATABASE_URL / REDIS_URL select the real services)
test: install-dev
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make serve: production-style processes (gunicorn, Celery worker and beat); needs DATABASE_URL, REDIS_URL
serve: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input
	trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/celery -A config worker --loglevel=info & \
	$(VENV)/bin/celery -A config beat --loglevel=info & \
	$(VENV)/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers 3 & \
	wait

## make bench: benchmarks that print their figures (DATABASE_URL selects PostgreSQL)
## make load: the drive-day load run (bench.load: gunicorn, a worker, locust); needs DATABASE_URL, REDIS_URL
load: install-dev
	$(PY) -m bench.load $(LOAD_ARGS)

## make scale: a million entries and issue 16's table (bench.scale); needs DATABASE_URL, REDIS_URL
scale: install-dev
	$(PY) -m bench.scale $(SCALE_ARGS)

bench: install-dev
	$(PY) -m bench.first_run
	$(PY) -m bench.writing
	$(PY) -m bench.review
	$(PY) -m bench.leaderboard
	$(PY) -m bench.dedupe
	$(PY) -m bench.export
	$(PY) -m bench.drive

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache staticfiles
