# The two commands: `make run` and `make test`. Everything else is a helper.
# Only Python 3.11 is needed on the machine; every package comes from requirements.txt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# The port reaches every printed URL and every link in the emails (PUBLIC_BASE_URL follows it).
export PORT

.PHONY: setup run test lint migrate browser shell

# The virtualenv is rebuilt only when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check -r requirements.txt
	@touch $@

setup: $(VENV)/.installed

migrate: setup
	$(BIN)/python manage.py migrate --noinput --verbosity 0

# Embedded mode by default: SQLite in var/, a broker that needs no server, mail in var/outbox/.
# Set DATABASE_URL / REDIS_URL to run the same thing on PostgreSQL and Redis.
run: export DEBUG ?= 1
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup --box-later
	$(BIN)/python manage.py runall --port $(PORT)

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The admin's browser test drives Debian's Chromium and ChromeDriver: installed here when missing
# and this machine allows it (root with apt-get); otherwise that one test says it was skipped.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser test"; \
			apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }; \
		else \
			echo "Chromium is missing and cannot be installed here: the browser test will be skipped."; \
		fi; \
	fi

# A Django shell on the same database as `make run`.
shell: setup
	$(BIN)/python manage.py shell

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	KRAITER_TESTING=1 $(BIN)/mypy .
