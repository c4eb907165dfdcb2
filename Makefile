# Tierdesk: `make run` to try it, `make test` to test it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install run test test-postgres check lint typecheck migrations-check schema schema-check bench bench-sla bench-routing bench-email bench-alerts bench-major-incidents bench-knowledge clean

$(STAMP): pyproject.toml package.json package-lock.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Front-end packages (htmx, Bootstrap) from the npm registry, served locally by Django.
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(STAMP)

install: $(STAMP)

## Create the SQLite database under var/, load the demo data and serve on :8000.
run: install
	$(BIN)/tierdesk migrate --noinput
	$(BIN)/tierdesk demo-data
	$(BIN)/tierdesk run --host 127.0.0.1 --port 8000 --mail-listener 127.0.0.1:2525

## The default suite on SQLite (browser tests run when /usr/bin/chromium exists).
test: install
	@test -x /usr/bin/chromium || echo "note: browser tests will be skipped: no /usr/bin/chromium (apt-get install chromium)"
	$(BIN)/pytest $(PYTEST_ARGS)

## The same suite against PostgreSQL (DATABASE_URL must point at a server).
test-postgres: install
	bash .ci/postgres-suite

## Static checks: lint, types, migrations and the committed OpenAPI schema.
check: lint typecheck migrations-check schema-check

lint: install
	$(BIN)/ruff check tierdesk benchmarks
	$(BIN)/ruff format --check tierdesk benchmarks

typecheck: install
	$(BIN)/mypy tierdesk benchmarks

migrations-check: install
	TIERDESK_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

schema: install
	TIERDESK_ENV=test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/api/openapi.yaml

schema-check: install
	TIERDESK_ENV=test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file $(VENV)/openapi.current.yaml
	@diff -u docs/api/openapi.yaml $(VENV)/openapi.current.yaml \
	  || (echo "docs/api/openapi.yaml is out of date: run 'make schema' and commit it" && exit 1)

## Speed figures (SQLite, and PostgreSQL when reachable).
bench: install
	$(BIN)/python -m benchmarks

bench-sla: install
	BENCH_ONLY=sla $(BIN)/python -m benchmarks

bench-routing: install
	BENCH_ONLY=routing $(BIN)/python -m benchmarks

bench-email: install
	BENCH_ONLY=email $(BIN)/python -m benchmarks

bench-alerts: install
	BENCH_ONLY=alerts $(BIN)/python -m benchmarks

bench-major-incidents: install
	BENCH_ONLY=major_incidents $(BIN)/python -m benchmarks

bench-knowledge: install
	BENCH_ONLY=knowledge $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var node_modules test-artifacts .pytest_cache .mypy_cache .ruff_cache
