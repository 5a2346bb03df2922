# One command per task; CI runs the same ones (`.ci/run` calls `make test`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help demo test check bench lint clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install Palate with its dev tools

demo: $(STAMP)  ## simulate a city, build the indexes, serve the API and UI on 127.0.0.1:8000
	$(BIN)/palate demo

test: $(STAMP)  ## the whole suite: checks, unit, integration (real Redis), e2e
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(BIN)/pytest -m "not benchmark" -q

bench: $(STAMP)  ## benchmarks; they print their figures
	$(BIN)/pytest benchmarks -m benchmark -q -s

lock:  ## refresh requirements.lock from a clean resolve
	rm -rf /tmp/palate-lock && $(PYTHON) -m venv /tmp/palate-lock
	/tmp/palate-lock/bin/pip install -q -e '.[dev]'
	/tmp/palate-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
