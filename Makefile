# Two commands: `make run` and `make test`. Everything else is a helper of theirs, or a
# chore (`make screenshots`, `make lint`, `make format`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test screenshots lint format clean

# The set-up writes .env too (when missing), so that manage.py works as soon as it exists.
$(STAMP): pyproject.toml | .env
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is required (set PYTHON=python3.X)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Local settings for `make run` and manage.py, written once and never overwritten:
## debug on and a random SECRET_KEY. settings.py reads it (the environment wins over it);
## the test suite never does.
.env:
	@umask 077 && $(PYTHON) -c 'import secrets; print("# Local development settings (git-ignored); the environment wins over them."); print("DJANGO_DEBUG=true"); print("SECRET_KEY=" + secrets.token_urlsafe(50))' > $@.tmp && mv $@.tmp $@
	@echo "Wrote .env (DJANGO_DEBUG=true and a random SECRET_KEY)."

## Set up, migrate, create the demo tenant/login/API key, serve on :8000 with a worker.
run: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_demo
	./scripts/run-dev

## The whole test suite (SQLite unless DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## Refresh the admin screenshots in docs/ (the browser tests save them there instead of a
## temporary folder); needs Chromium.
screenshots: $(STAMP)
	FLOWNALLY_SCREENSHOT_DIR=$(CURDIR)/docs $(BIN)/pytest tests/browser/test_admin_flows.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
