# Two commands do all the set-up on a fresh machine (Python 3.11+ and make):
#   make paper   - install, then a 30-day paper-trading validation session on embedded defaults
#   make test    - install (and Debian's chromium and prometheus for their tests), then the whole test suite
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

# The dashboard's browser test drives Debian's chromium through Playwright (which never
# downloads a browser here); installed from Debian's packages when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

# The alert rules' tests and the Grafana dashboard's test run Debian's prometheus and promtool
# (deploy/prometheus/). Installed without the recommended node exporter; the service the
# package enables is disabled again (and stopped, where systemd runs): the tests start their
# own server on a free port, and nothing should stay on 9090 or start at the next boot.
PROMTOOL := /usr/bin/promtool

$(PROMTOOL):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
	if command -v systemctl >/dev/null; then $(SUDO) systemctl disable prometheus; fi
	if [ -d /run/systemd/system ]; then $(SUDO) systemctl stop prometheus; fi

# Four workers on two cores: most end-to-end tests wait on the processes they drive.
test: $(STAMP) $(CHROMIUM) $(PROMTOOL)
	$(VENV)/bin/python -m pytest -n 4 -q

# Regenerate the lock after changing dependencies in pyproject.toml.
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --python-platform linux -o requirements.lock

clean:
	rm -rf $(VENV)
