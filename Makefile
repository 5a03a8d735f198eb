# The few commands a developer needs; each is a short script under scripts/.
.PHONY: setup run test lint bench bench-list

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

# `make bench` runs every benchmark in turn (hours); `make bench NAME=catalog` one of them,
# `ARGS="--backend sqlite"` passes its options; `make bench-list` names them all.
bench: .venv/.installed
	scripts/bench $(NAME) $(ARGS)

bench-list:
	@scripts/bench --list
