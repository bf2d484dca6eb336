# Two commands for a newcomer: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
STACK := $(PY) -m config.stack exec --
PYTEST_ARGS ?=

.PHONY: install run test lint format check-deploy manage totp messages vendor clean-data

# Says what it does: a first install takes a few minutes, and pip shows each package.
$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "[marketbase] creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "[marketbase] installing Marketbase and its dependencies into $(VENV) (a few minutes the first time)"
	@$(PY) -m pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "[marketbase] installed"

install: $(STAMP)

## Start PostgreSQL and Redis (embedded unless DATABASE_URL / CELERY_BROKER_URL are set),
## migrate, load demo data, then run web + Celery worker + Celery beat. Ends its start-up with
## the URLs and the demo accounts (kept in .data/credentials.txt, mode 0600). Ctrl-C stops all.
run: install
	$(PY) -m config.stack serve

## Lint, check migrations are complete, then run the whole test suite.
test: install lint
	DJANGO_SETTINGS_MODULE=config.settings.test $(STACK) sh -c \
	  '$(PY) manage.py makemigrations --check --dry-run && $(PY) -m pytest $(PYTEST_ARGS)'

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m config.layering

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## Run any manage.py command against the stores: make manage ARGS="createsuperuser"
manage: install
	$(STACK) $(PY) manage.py $(ARGS)

## Development only: the demo administrator's current TOTP code.
totp: install
	@$(STACK) $(PY) manage.py totp_code $${DJANGO_SUPERUSER_USERNAME:-admin} 2>/dev/null | grep -E '^[0-9]+$$'

## Re-extract and compile the English and Simplified Chinese message catalogues.
messages: install
	$(STACK) sh -c '$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=bench --no-location && $(PY) manage.py compilemessages --ignore=.venv'

## Fetch the pinned front-end assets (config/vendor.lock.json) into static/vendor/ with npm.
vendor: install
	$(PY) -m config.vendor

## Remove the embedded stores' data (demo database, Redis dump, uploads).
clean-data:
	rm -rf .data
