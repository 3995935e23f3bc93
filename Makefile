# Two commands: `make serve` sets everything up and serves the course; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8866

.PHONY: serve test lint typecheck unit browser chromium bench build clean hub

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/ipt-course serve --host $(HOST) --port $(PORT)

build: $(STAMP)
	$(BIN)/ipt-course build

# A local JupyterHub (configurable-http-proxy from npm, PostgreSQL from Debian's packages) serving the course to
# two trainees, a trainer and a supervisor: see deploy/hub/ and src/ipt_course/hubdemo.py. Ctrl-C stops it all.
HUB_PORT ?= 8000
hub: $(STAMP)
	$(BIN)/python -m ipt_course.hubdemo --port $(HUB_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The browser tests need a Chromium: Debian's if installed, else Playwright's own download (where downloads work).
chromium: $(STAMP)
	$(BIN)/python -m ipt_course.browser

test: lint chromium
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf build workshop grading/source grading/release grading/submitted grading/autograded grading/feedback grading/gradebook.db
