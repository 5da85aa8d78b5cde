# Switchboard: `make run` starts everything on the embedded default; `make test` runs the suite,
# `make test-fast` all of it but the slow tests (those that start processes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HTMX_VERSION := 2.0.8
HTMX_WS_VERSION := 2.0.4
EMOJIBASE_VERSION := 17.0.0
EMOJI_LANGUAGES := en fr de es

.PHONY: run test test-fast test-browser install install-dev translations vendor extract-messages bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile --use-fuzzy -d app/translations >/dev/null

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot --no-location --sort-output -w 100 .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching -w 100

run: install
	$(BIN)/python -m app.dev.launcher

test: install-dev
	$(BIN)/python -m pytest tests --ignore=tests/browser -q

# The quick loop: leaves out the tests marked slow (servers, the worker, the mail sink, subprocesses).
test-fast: install-dev
	$(BIN)/python -m pytest tests --ignore=tests/browser -q -m "not slow"

test-browser: install-dev
	$(BIN)/python -m pytest tests/browser -q

# Re-vendor htmx, its ws extension and the emoji data set (pinned) from npm into static/vendor.
vendor:
	npm ci --no-audit --no-fund
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx-$(HTMX_VERSION).min.js
	cp node_modules/htmx-ext-ws/dist/ws.min.js static/vendor/htmx-ext-ws-$(HTMX_WS_VERSION).min.js
	for lang in $(EMOJI_LANGUAGES); do mkdir -p static/vendor/emojibase-data-$(EMOJIBASE_VERSION)/$$lang; \
	  cp node_modules/emojibase-data/$$lang/compact.json static/vendor/emojibase-data-$(EMOJIBASE_VERSION)/$$lang/; done
	cp node_modules/emojibase-data/LICENSE static/vendor/emojibase-data-$(EMOJIBASE_VERSION)/

bench: install-dev
	$(BIN)/python bench/push_latency.py
	$(BIN)/python bench/sockets.py

clean:
	rm -rf $(VENV) instance
