# permaudit — the two set-up commands are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
# pytest-xdist workers for `make test` (0 or 1: one process, serially); the suite waits on
# sockets and timers more than it computes, so more workers than cores pay off. Work
# stealing: a worker that runs dry takes tests from the busiest one, so the long crawl
# tests never end up queued behind each other on one worker (--dist load did that).
PYTEST_WORKERS ?= 4
PYTEST_XDIST := $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist worksteal,-n 0)

.PHONY: demo test lint bench clean browser wheel screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's chromium for the browser test of the HTML report (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	$(BIN)/permaudit demo -o reports/demo

lint: $(STAMP)
	$(BIN)/ruff check audit tests templates benchmarks
	$(BIN)/mypy --strict audit benchmarks
	$(BIN)/lint-imports --no-cache   # the layout rules of DESIGN.md (.importlinter)

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_XDIST) tests

# make bench: the generated site behind gunicorn; make bench URL=https://erp.example.com CONFIG=audit.toml: a real site (safe mode)
bench: $(STAMP) browser
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks $(if $(URL),--url '$(URL)' --config '$(CONFIG)')

# the README's pictures of the demo report, taken in headless chromium
screenshot: $(STAMP) browser
	$(BIN)/python tests/tools/screenshot.py --out docs

wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
