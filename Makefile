# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: demo test loadtest install lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly the pinned set (runtime + dev) from requirements.lock, then the project itself.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/ppdb demo

test: install
	$(BIN)/python -m pytest

# Admission day on this machine: fresh embedded PostgreSQL + demo data, production server, Locust scenarios,
# reports under results/loadtest/ (see loadtests/README.md). Exits non-zero when a budget is broken.
loadtest: install
	$(BIN)/python loadtests/run.py $(LOADTEST_ARGS)

# Re-pin after changing dependencies in pyproject.toml.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
