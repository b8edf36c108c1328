# One place for the commands people type. `make test` is exactly what CI runs.
# The interpreter: the first of Python 3.11, 3.12 and 3.13 that is installed and runs (or name one:
# `make PYTHON=/path/to/python3.13`). A second venv beside the first: `make test PYTHON=... VENV=.venv-3.13`.
SUPPORTED := python3.11 python3.12 python3.13 python3
PYTHON ?= $(shell for p in $(SUPPORTED); do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test check lint demo bench reliability clean install

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "No Python 3.11, 3.12 or 3.13 found; install one, or name it:" \
		"make PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list or the pins change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Test workers (pytest-xdist): one per core; `PYTEST_WORKERS=0` runs the tests in one process. The tests
# that time a real bot process share the xdist_group "bot-process", which loadgroup keeps on one worker,
# one at a time: two of them at once on two cores starve each other's timers.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

# Everything: lint and the whole suite, slow tests included. What CI runs.
test: lint
	$(PYTEST)

# The inner loop: lint and the tests not marked `slow` (about a minute; see README, Development).
# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): otherwise
# every test worker recompiles bot/ and re-rewrites the tests' asserts on each run, 5 to 10 s a worker.
check: export PYTHONDONTWRITEBYTECODE =
check: lint
	$(PYTEST) -m "not slow"

# The real bot against local fakes of VRChat and Discord: no credentials, no network, about 40 s.
demo: $(STAMP)
	$(BIN)/python -m bot.demo

# Prints figures (feed drain rate, VRChat requests per poll, ingest rate, peak RSS); never asserts them.
bench: $(STAMP)
	$(BIN)/python -m tests.bench

# 20 SIGKILLs through 2,000 audit entries, and every VRChat / Discord / database fault; prints one table
# and writes reliability-results.json (about 6 minutes). Exit 1 if anything was lost, repeated or
# reordered. `make test` runs the same suite at CI sizes.
reliability: $(STAMP)
	$(BIN)/python -m tests.reliability

clean:
	rm -rf .venv .venv-3.* .pytest_cache .ruff_cache *.egg-info build dist
