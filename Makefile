# The few commands a developer needs; each is a short script under scripts/.
.PHONY: setup run test lint bench

.venv/.installed: pyproject.toml
	scripts/setup
	touch $@

setup: .venv/.installed

run: .venv/.installed
	.venv/bin/videorecs up

test: .venv/.installed
	scripts/test

lint: .venv/.installed
	.venv/bin/ruff check services tests bench

bench: .venv/.installed
	.venv/bin/python -m bench.catalog
