# Two commands do all the set-up on a fresh machine (Python 3.11+ and make):
#   make paper   - install, then a 30-day paper-trading validation session on embedded defaults
#   make test    - install, then the whole test suite
# The virtualenv is built from requirements.lock (pinned, hashed) for reproducible installs.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: paper test install lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

paper: $(STAMP)
	$(VENV)/bin/quantshift paper --days 30

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 -q

# Regenerate the lock after changing dependencies in pyproject.toml.
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --python-platform linux -o requirements.lock

clean:
	rm -rf $(VENV)
