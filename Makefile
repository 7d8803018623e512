# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Label Studio's database for the test suite: postgresql (default, as in production) or sqlite.
DB ?= postgresql
PYTEST_ARGS ?=

export ADB_LOG_FILE :=
export POSTGRE_HOST ?= 127.0.0.1
export POSTGRE_PORT ?= 5432
export POSTGRE_USER ?= postgres
export POSTGRE_NAME ?= ls_aperturedb

.PHONY: install test test-sdk test-sqlite demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The forced-interleaving tests (stalled export writer, sync racing annotations and deletions) also run
# on the other database: their guarantees rest on each database's locking.
OTHER_DB := $(if $(filter sqlite,$(DB)),postgresql,sqlite)
RACE_TESTS := tests/test_export.py tests/test_import_sync.py -k "stalled or while_it_runs or between_pages"

# The project's suite, the race tests on the other database, then the aperturedb SDK's own suite against
# the emulator (tests/sdk_suite/); all always run, and the target fails if any fails.
test: install
	DJANGO_DB=$(DB) $(BIN)/python -m pytest $(PYTEST_ARGS); main=$$?; \
	DJANGO_DB=$(OTHER_DB) $(BIN)/python -m pytest -q $(RACE_TESTS); races=$$?; \
	$(BIN)/python -m tests.sdk_suite.run; sdk=$$?; \
	[ $$main -eq 0 ] && [ $$races -eq 0 ] && [ $$sdk -eq 0 ]

test-sdk: install
	$(BIN)/python -m tests.sdk_suite.run

test-sqlite:
	$(MAKE) test DB=sqlite

demo: install
	$(BIN)/ls-aperturedb demo

bench: install
	$(BIN)/python bench/emulator.py

clean:
	rm -rf $(VENV) build *.egg-info
