# Two commands do all the set-up on a fresh machine:
#   make demo   installs into .venv and runs the main job on the embedded default (SQLite, no cloud account)
#   make test   installs the test tools into .venv and runs ruff, mypy and the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean redis-server chromium promtool systemd-analyze valgrind

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

DEMO_PORT ?= 8765
DEMO := --config examples/demo/monitor.yaml

demo: $(VENV)/.installed-run
	@$(BIN)/python examples/demo/receiver.py --port $(DEMO_PORT) --seconds 60 & receiver=$$!; \
	  sleep 1; \
	  DEMO_PORT=$(DEMO_PORT) $(BIN)/monitor run $(DEMO) --once; status=$$?; \
	  kill $$receiver 2>/dev/null; exit $$status
	@echo "--- event log ---"; $(BIN)/monitor events $(DEMO)
	@echo "--- dead letters ---"; $(BIN)/monitor dead-letters $(DEMO)
	@echo "--- alerts ---"; $(BIN)/monitor alerts list $(DEMO)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

# The Redis state backend's tests start their own redis-server on 127.0.0.1 (no service): Debian's package.
redis-server:
	@command -v redis-server >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server)

# bench.cold_start --instructions counts instructions with valgrind's cachegrind (its test counts a small one).
valgrind:
	@command -v valgrind >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind)

# The web page's browser tests drive Debian's chromium through Playwright (never `playwright install`).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# README's Prometheus rules and the metrics endpoint are checked by promtool, taken out of Debian's prometheus
# package into the venv without installing the package (no server is set up or started).
$(BIN)/promtool: | $(BIN)/python
	@folder=$$(mktemp -d) && cd $$folder && \
	  (apt-get download prometheus 2>/dev/null || (apt-get update && apt-get download prometheus)) && \
	  dpkg-deb -x prometheus_*.deb root && cp root/usr/bin/promtool $(abspath $@) && rm -rf $$folder

promtool: $(BIN)/promtool

# deploy/systemd's unit is checked by systemd-analyze (verify, security --offline): Debian's systemd package,
# installed only for that tool (nothing is started).
systemd-analyze:
	@command -v systemd-analyze >/dev/null || (apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd)

test: lint redis-server chromium promtool systemd-analyze valgrind
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.normalize
	$(BIN)/python -m bench.rules
	$(BIN)/python -m bench.detectors
	$(BIN)/python -m bench.end_to_end
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.state_memory
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.outputs

clean:
	rm -rf $(VENV) examples/demo/.monitor
