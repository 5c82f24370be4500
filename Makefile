# liaison: `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test test-fast lint demo demo-crypto bench bench-quick profile clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "liaison needs Python 3.11 or newer"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install liaison with its dev extras

TEST_WORKERS ?= 3
test: $(STAMP) ## Run the whole test suite (SQLite and PostgreSQL), in TEST_WORKERS processes
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup
	$(BIN)/python -m pytest tests/browser  # in a process of its own (tests/conftest.py says why)

test-fast: $(STAMP) ## Everything but the real-process and fault tests (-m "not slow"): the inner loop
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not slow"

lint: $(STAMP) ## ruff lint and format check, mypy strict on every package, the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crypto policies service clients
	$(BIN)/lint-imports

demo: $(STAMP) ## Two nodes end to end on loopback, as their users would (KEEP=1: stay up for the console)
	$(BIN)/python -m demo.two_nodes $(if $(filter-out 0,$(KEEP)),--keep) $(ARGS)

demo-crypto: $(STAMP) ## The crypto core alone: seal, open, receipt, a tampered copy refused
	$(BIN)/python -m demo.crypto_demo

bench: $(STAMP) ## Crypto figures, two real nodes end to end (10,000 reports), TAXII beside medallion, the data-key re-seal (many minutes)
	$(BIN)/python -m bench.crypto_bench
	$(BIN)/python -m bench.policy_bench
	$(BIN)/python -m bench.audit_bench
	$(BIN)/python -m bench.e2e_bench
	$(BIN)/python -m bench.taxii_bench --objects 100000 --request-timeout 60
	$(BIN)/python -m bench.taxii_bench --objects 1000
	$(BIN)/python -m bench.reseal_bench --reports 20000
	$(BIN)/python -m bench.suite_time

bench-quick: $(STAMP) ## The same benchmarks with small sizes (a few minutes)
	$(BIN)/python -m bench.crypto_bench --seconds 0.2
	$(BIN)/python -m bench.policy_bench --seconds 0.2
	$(BIN)/python -m bench.audit_bench --appends 300 --verify-records 3000 --big 100000
	$(BIN)/python -m bench.e2e_bench --reports 300 --steady-seconds 10 --crypto-seconds 0.2 \
		--concurrency-reports 300
	$(BIN)/python -m bench.taxii_bench --objects 20000 --liaison-only --repeats 3
	$(BIN)/python -m bench.taxii_bench --objects 300 --repeats 3
	$(BIN)/python -m bench.reseal_bench --reports 2000
	$(BIN)/python -m bench.suite_time

profile: $(STAMP) ## py-spy on both nodes during a flood: where a report's time goes (a minute)
	$(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python -m bench.profile_nodes --gil

clean: ## Remove the environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
