# Two commands do all setup on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
REPLICAS     ?= 3
CLUSTER_PORT ?= 8080

.PHONY: run test lint bench seed sample clean help cluster cluster-stop

help:
	@echo "make run    - create the venv, install, seed the demo database, serve http://localhost:$(PORT) (PORT=8502 for another)"
	@echo "make test   - install the test tools and run the whole suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks, written to docs/BENCHMARKS.md (needs Postgres and Redis)"
	@echo "make cluster - REPLICAS=3 replicas behind HAProxy on :CLUSTER_PORT=8080 (needs Postgres, Redis, HAProxy)"
	@echo "make cluster-stop - stop the cluster"

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
	@echo "ebaydash: serving http://localhost:$(PORT) (no browser is opened; make run PORT=8502 for another port)"
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(BENCH_ARGS)

# Cluster mode needs EBAYDASH_DATABASE_URL (Postgres) and EBAYDASH_REDIS_URL; the command says so.
cluster: $(VENV)/.installed
	$(BIN)/ebaydash seed-demo
	$(BIN)/ebaydash cluster start --replicas $(REPLICAS) --port $(CLUSTER_PORT)

cluster-stop: $(VENV)/.installed
	$(BIN)/ebaydash cluster stop

sample: $(VENV)/.installed
	$(BIN)/ebaydash sample --out sample_data

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
