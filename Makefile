# Two commands for a newcomer: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
STACK := $(PY) -m config.stack exec --
PYTEST_ARGS ?=

.PHONY: install run test lint format check-deploy manage totp messages vendor clean-data

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start PostgreSQL and Redis (embedded unless DATABASE_URL / CELERY_BROKER_URL are set),
## migrate, load demo data, then run web + Celery worker + Celery beat. Ctrl-C stops all.
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
