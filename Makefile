# The two commands: `make run` (everything, embedded, on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Local development and tests run with DEBUG on; production sets DEBUG=false and real keys.
export DEBUG ?= true

.PHONY: run test install lint bench screenshots clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# HOST and PORT (default 127.0.0.1:8000) choose where the web server listens. The script
# migrates, loads the demo data into an empty database, starts everything and prints the
# banner once all is up.
run: install
	exec scripts/run-embedded

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# When the suite ran on PostgreSQL (CI), intake's tests run once more on SQLite, the
# database of `make run`, whose write path is its own (orders/services/intake.py), and so
# does the billing audit, whose SQL reads the summaries' JSON with SQLite's own functions.
SQLITE_TESTS := orders/tests/test_intake_api.py orders/tests/test_bad_input.py \
	orders/tests/test_intake_fast_path.py orders/tests/test_commands.py \
	statements/tests/test_summaries_audit.py

# pytest's exit code 5 means it collected no test: that is a failure, said plainly.
test: lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	@rc=0; $(BIN)/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; failing." >&2; fi; \
	case "$$DATABASE_URL" in postgres*) pg=1;; *) pg=0;; esac; \
	if [ $$rc -eq 0 ] && [ $$pg -eq 1 ] && [ -z "$(PYTEST_ARGS)" ]; then \
		echo "make test: intake's tests again on SQLite (the embedded path)"; \
		env -u DATABASE_URL $(BIN)/pytest -q -m "not postgres and not browser" \
			$(SQLITE_TESTS) || rc=$$?; \
	fi; \
	exit $$rc

# Every portal page in the real browser at 1366x800 and 390x844, saved under var/screenshots/
# (the same walk the tests make), and the help page's picture of the edit page made again
# (static/portal/help/edit-order.png; commit it if it changed).
screenshots: install
	rm -rf var/screenshots
	SCREENSHOTS_DIR=$(CURDIR)/var/screenshots HELP_SCREENSHOT=1 $(BIN)/pytest -q \
		orders_portal/tests/test_portal_pages_browser.py $(PYTEST_ARGS)
	@echo "make screenshots: $$(ls var/screenshots | wc -l) screenshots in var/screenshots/"

bench: install
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) var
