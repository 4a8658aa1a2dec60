# The same commands the README, CONTRIBUTING.md and CI use: one way to do each thing.
.PHONY: lab test lint format notebooks bench ci

lab:
	uv run jupyter lab notebooks/00-index.ipynb

test:
	uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run lint-imports

format:
	uv run ruff format .
	uv run ruff check --fix .

notebooks:
	uv run python scripts/course.py

bench:
	uv run python benchmarks/run.py

ci:
	bash .ci/run
