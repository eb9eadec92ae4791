# Pantry: two commands. `make demo` runs the portal on embedded services;
# `make test` runs the whole suite. Both create the virtualenv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)
# pytest-xdist workers; each runs its own sandbox and Celery worker.
TEST_WORKERS ?= auto

export PANTRY_ENV ?= development
export DEBUG ?= true

.PHONY: install demo test lint format bench clean check-deploy

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pantry needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python manage.py demo $(DEMO_ARGS)

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Django's deployment checks with the environment's production settings; any warning fails.
check-deploy: install
	$(BIN)/python manage.py check --deploy --fail-level WARNING

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/cloudtrail.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
