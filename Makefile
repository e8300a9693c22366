# Two commands do all setup on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test lint bench seed sample clean help

help:
	@echo "make run    - create the venv, install, seed the demo database, start the app on :$(PORT)"
	@echo "make test   - install the test tools and run the whole suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks, written to docs/BENCHMARKS.md (needs Postgres and Redis)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

seed: $(VENV)/.installed
	$(BIN)/ebaydash seed-demo

run: seed
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(BENCH_ARGS)

sample: $(VENV)/.installed
	$(BIN)/ebaydash sample --out sample_data

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
