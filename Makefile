# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

WEB := ppdb/web
# apt-get update at most once per checkout (for npm and Chromium, when root on Debian and they are missing).
APT_UPDATE := { [ -f .apt-updated ] || { apt-get update -qq && touch .apt-updated; }; }

.PHONY: demo test lint loadtest loadtest-compete loadtest-shape phone-budget install lock clean chromium pgbouncer

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly the pinned set (runtime + dev) from requirements.lock, then the project itself.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# Front-end assets (htmx, Leaflet, Chart.js, Swagger UI) from npm, pinned by package-lock.json; pages work without them.
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		$(APT_UPDATE) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi
	@if command -v npm >/dev/null; then cd $(WEB) && npm ci --silent --no-audit --no-fund --ignore-scripts && touch node_modules/.installed; \
	else echo "*** npm not found: pages are served without htmx, maps and charts (install Node.js, then make install) ***"; fi

install: $(VENV)/.installed $(WEB)/node_modules/.installed

# Browser tests drive Debian's Chromium; installed here when missing and possible (root + apt), else skipped loudly.
chromium:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		$(APT_UPDATE) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "*** Chromium is missing and cannot be installed here (needs root and apt): browser tests will be SKIPPED."; \
		echo "*** Enable them with: sudo apt-get install chromium   (then: make test)"; fi

# The production-shape tests put Debian's PgBouncer in front of PostgreSQL; installed here like Chromium.
pgbouncer:
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		$(APT_UPDATE) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	else echo "*** PgBouncer is missing and cannot be installed here (needs root and apt): the pooler parts of"; \
		echo "*** tests/integration/shape run without it (a warning says so). Enable: sudo apt-get install pgbouncer"; fi

demo: install
	$(BIN)/ppdb demo

# Lint, format and type check (ruff, mypy), then every test.
lint: install
	$(BIN)/ruff check ppdb tests loadtests migrations
	$(BIN)/ruff format --check ppdb tests loadtests migrations
	$(BIN)/mypy

test: install chromium pgbouncer lint
	$(BIN)/python -m pytest

# Admission day on this machine: fresh embedded PostgreSQL + demo data, production server, Locust scenarios,
# reports under results/loadtest/ (see loadtests/README.md). Exits non-zero when a budget is broken.
loadtest: install
	$(BIN)/python loadtests/run.py $(LOADTEST_ARGS)

# The same beside a neighbour: half of one core kept busy by another process for the whole run.
loadtest-compete: install
	$(BIN)/python loadtests/run.py --compete 0.5 $(LOADTEST_ARGS)

# The production shape (docs/scaling.md): two instances, PgBouncer in transaction mode, a streaming replica;
# throughput and result day, bounded (about five minutes).
loadtest-shape: install pgbouncer
	$(BIN)/python loadtests/run.py --shape --only floor-insert,floor-read,register-capacity,status-capacity,result-day $(LOADTEST_ARGS)

# Each page a parent uses, on a 360 x 740 Chromium with Slow 3G (2 s latency, 50 kB/s): bytes, first paint,
# a repeat visit (loadtests/phone.py; budget: <= 60 KB and first paint <= 3 s).
phone-budget: install chromium
	$(BIN)/python loadtests/phone.py

# Re-pin after changing dependencies in pyproject.toml.
lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(WEB)/node_modules results .apt-updated
