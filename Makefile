# frontdoor: two commands do everything. `make run` starts the whole stack; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# test processes (pytest-xdist): each file runs whole in one; 0 runs everything in this process
TEST_WORKERS ?= 2
XDIST  := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: run test test-postgres fuzz install lint bench clean help

help:
	@echo "make run    - create .venv, install, start Temporal dev server + worker + web app (Ctrl-C stops)"
	@echo "make test   - create .venv, install, run the whole test suite on real servers"
	@echo "make test-postgres - the workflow, web and store tests with the case record on PostgreSQL"
	@echo "make fuzz   - the model-based test for 10,000 steps and Schemathesis for 2 minutes per role (long)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - run the benchmarks in bench/ (prints figures)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[web,test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/frontdoor run

test: install
	FRONTDOOR_TEST_POSTGRES_URL="$${FRONTDOOR_TEST_POSTGRES_URL:-$$(./scripts/ensure_postgres.sh)}" $(BIN)/pytest -q $(XDIST) $(PYTEST_ARGS)

# The two fuzz tests of `make test`, run long: the model-based test for 10,000 steps (random
# people, random actions, invariants after each) and Schemathesis for 2 minutes per role.
fuzz: install
	FRONTDOOR_MODEL_STEPS=$${FRONTDOOR_MODEL_STEPS:-10000} FRONTDOOR_FUZZ_SECONDS=$${FRONTDOOR_FUZZ_SECONDS:-120} \
	  $(BIN)/pytest -q -s tests/test_model_based.py tests/test_schemathesis.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# stuck.py runs smaller here (2,000 open contacts, measured at 1,000 and 2,000) so `make bench`
# takes minutes, not half an hour; bench/README.md has the 10,000 figures and the command for them.
bench: install
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/stuck.py --contacts 2000 --checkpoints 1000 2000

clean:
	rm -rf $(VENV) .pytest_cache

# The workflow, web and store tests again with the case record on PostgreSQL (CI runs it
# after `make test`; needs the machine's PostgreSQL 15, started by scripts/ensure_postgres.sh).
test-postgres: install
	@url="$${FRONTDOOR_TEST_POSTGRES_URL:-$$(./scripts/ensure_postgres.sh)}"; \
	test -n "$$url" || { echo "test-postgres: no PostgreSQL here (see scripts/ensure_postgres.sh)"; exit 1; }; \
	FRONTDOOR_TEST_DATABASE_URL="$$url" FRONTDOOR_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q $(XDIST) \
	  tests/test_store.py tests/test_contact_dev.py tests/test_handoff_dev.py tests/test_stuck_dev.py \
	  tests/test_web_api.py tests/test_consultation_dev.py tests/test_early_help_dev.py \
	  tests/test_missing_dev.py tests/test_morning_dev.py tests/test_web_practices.py tests/test_missing_reports.py \
	  tests/test_audit_dev.py tests/test_caseloads_dev.py tests/test_audit_reports.py \
	  tests/test_access.py tests/test_stuck_trend_dev.py tests/test_stuck_paging_dev.py tests/test_report_figures_dev.py \
	  tests/test_report_facts_dev.py tests/test_demo.py $(PYTEST_ARGS)
