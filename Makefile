# Railyard: `make run` serves the demo, `make test` runs every test.
# Both install what is missing first (scripts/setup).

.PHONY: run test setup e2e build chaos bench

run:
	scripts/run

test:
	scripts/test

setup:
	scripts/setup

e2e:
	scripts/e2e

build:
	scripts/build

chaos:
	scripts/chaos

bench:
	bench/run
