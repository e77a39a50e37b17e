# `make run` is the main job (check every local QEMU against the table, prove
# generated/ is current); `make test` is the full test suite. Each sets itself
# up: Debian packages via scripts/ensure-deps, Python packages in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs only the package; `make test` adds the test and dev tools.
RUN_STAMP := $(VENV)/.run
TEST_STAMP := $(VENV)/.test

.PHONY: run test bench evaluate deps generate golden clean

run: $(RUN_STAMP)
	$(BIN)/hmp-perms check --all-local
	$(BIN)/hmp-perms generate --check

# Its prerequisites inherit DEPS: ensure-deps adds what the tests need.
test: DEPS = test
test: $(TEST_STAMP)
	$(BIN)/ruff check generator tests bench generated/hmp_perms.py
	$(BIN)/ruff format --check generator tests bench
	$(BIN)/mypy --strict generator generated/hmp_perms.py
	$(BIN)/hmp-perms lint
	$(BIN)/hmp-perms generate --check
	$(BIN)/pytest

# Byte-compile first, as installing a wheel does: an environment that sets
# PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run.
bench: $(RUN_STAMP)
	$(BIN)/python -m compileall -q generator
	$(BIN)/python bench/run.py

# Measure the suggestion rules against the table's decisions (docs/suggest.md).
evaluate: $(RUN_STAMP)
	$(BIN)/python bench/evaluate_rules.py

generate: $(RUN_STAMP)
	$(BIN)/hmp-perms generate

# Rewrite tests/golden/CASE/* from the current templates; review the diff.
golden: $(TEST_STAMP)
	$(BIN)/pytest tests/generate/test_render.py -k goldens --update-goldens

deps:
	@sh scripts/ensure-deps $(DEPS)

$(RUN_STAMP): pyproject.toml | deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[fast]'
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
