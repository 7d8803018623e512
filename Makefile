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

# The project's suite, then the aperturedb SDK's own suite against the emulator (tests/sdk_suite/);
# both always run, and the target fails if either fails.
test: install
	DJANGO_DB=$(DB) $(BIN)/python -m pytest $(PYTEST_ARGS); main=$$?; \
	$(BIN)/python -m tests.sdk_suite.run; sdk=$$?; \
	[ $$main -eq 0 ] && [ $$sdk -eq 0 ]

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
