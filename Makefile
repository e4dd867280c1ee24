# Short verbs for a newcomer. Everything runs inside .venv/, made with a Python >= 3.12 found on its own.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell bin/find-python)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test serve install lint format migrations-check bench clean

# Reinstall only when the lock file changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found; see bin/find-python." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

install: $(VENV)/.installed

## make run: set up, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite, tasks in-process)
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py export_snapshot --request-key demo
	@echo "Flock is starting on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: the whole suite (SQLite by default; DATABASE_URL / REDIS_URL select the real services)
test: install
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
bench: install
	$(PY) -m bench.writing
	$(PY) -m bench.review
	$(PY) -m bench.leaderboard
	$(PY) -m bench.dedupe
	$(PY) -m bench.export

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache staticfiles
