# Everything a newcomer needs: `make demo` and `make test` set up the virtualenv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format catalog wheel serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

## Run the bot against the local Slack sandbox on SQLite and print what everyone saw.
demo: $(STAMP)
	$(BIN)/alignbot demo

## The whole suite, on SQLite and PostgreSQL, on every core; after the linter, the formatter's check
## and the layer contracts (import-linter, see pyproject.toml).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Re-extract the English messages from the templates and merge them into the Persian catalog.
catalog: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header \
		-o message_templates/locales/messages.pot message_templates
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date \
		-i message_templates/locales/messages.pot -l fa -o message_templates/locales/fa.po

wheel: $(STAMP)
	$(BIN)/python -m build --wheel --outdir dist .

serve: $(STAMP)
	$(BIN)/alignbot serve

clean:
	rm -rf $(VENV) build dist *.egg-info demo-output .pytest_cache .ruff_cache
