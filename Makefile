# gepa-rl — the two commands a user needs: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
RESULTS := .data/test-results

.PHONY: help setup build up down status demo test test-unit check test-ts test-py test-slow bench-graders bench-gepa bench-rl bench-rl-vs-trl bench-faults clean

help:
	@echo "make demo    install everything, start the stack, run a GEPA+RL experiment on arithmetic, write the report"
	@echo "make test    run every test (type check, ruff, jest, pytest), ending with one line 'N passed, N failed'"
	@echo "make test-unit  the tests that start no server and no model (seconds)"
	@echo "make setup | build | up | down | status | check | test-slow | bench-graders | bench-gepa | bench-rl | bench-rl-vs-trl | bench-faults | clean"

setup:
	@bash scripts/setup.sh

build:
	@npx tsc -p tsconfig.build.json && chmod +x dist/cli/main.js

up: setup
	@bash scripts/stack.sh up

down:
	@bash scripts/stack.sh down

status:
	@bash scripts/stack.sh status

demo: setup
	@bash scripts/demo.sh

# Everything, as CI runs it (.ci/run): the static checks (tsc over src/ test/ bench/, ruff over
# trainer/ bench/: scripts/static-checks.sh), jest, pytest; the last line sums them all.
test: setup
	@mkdir -p $(RESULTS); rm -f $(RESULTS)/*; rc=0; \
	bash scripts/static-checks.sh $(RESULTS) || rc=1; \
	npx jest --ci --json --outputFile=$(RESULTS)/jest.json || rc=1; \
	( cd trainer && ../.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml=../$(RESULTS)/pytest.xml ) || rc=1; \
	node scripts/test-summary.js $(RESULTS) || rc=1; \
	exit $$rc

# The tests that start nothing (no server, no trainer, no model, no browser): seconds. The jest files
# are chosen by what they import (jest.unit.config.js); the Python ones are the trainer's pure rules.
test-unit: setup
	@rc=0; npx jest -c jest.unit.config.js || rc=1; \
	( cd trainer && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_losses.py tests/test_requests.py tests/test_errors.py ) || rc=1; \
	exit $$rc

# The static checks alone (also part of make test).
check: setup
	@bash scripts/static-checks.sh $$(mktemp -d)

test-ts: setup
	@npx jest

test-py: setup
	@cd trainer && ../.venv/bin/python -m pytest -q

# The tests that run the real SmolLM2-135M-Instruct instead of the tiny random model (the local LM
# server on its GGUF; on-policy sampling with its weights; loading and dequantising it), alone. They are
# part of `make test` too.
test-slow: setup
	@rc=0; npx jest -c bench/jest.slow.config.js || rc=1; \
	( cd trainer && ../.venv/bin/python -m pytest -q tests/test_*smollm2*.py tests/test_models.py ) || rc=1; \
	exit $$rc

bench-graders: setup
	@npx jest -c bench/graders/jest.config.js
	@PYTHONPATH=trainer .venv/bin/python bench/graders/math_verify_bench.py

# Our gepaOptimization vs the reference `gepa` library (own venv bench/gepa/.venv), same data, model, budget.
bench-gepa: setup
	@bash bench/gepa/run.sh

# RL on arithmetic with SmolLM2-135M-Instruct through the real stack, fixed seed (about 10 min on CPU):
# test accuracy and mean reward at start and end. Overrides: make bench-rl ARGS="n_batches=20".
bench-rl: setup
	@bash bench/rl-arithmetic/run.sh $(ARGS)

# Our rlTraining workflow (on a stack of its own) vs TRL's GRPOTrainer on the same prompts (own venv
# bench/.venv-trl, made on first run): seconds per step, our step's orchestration share, peak memory
# and the ratios (bench/rl-vs-trl/README.md).
bench-rl-vs-trl: setup
	@bash bench/rl-vs-trl/run.sh

# kill -9 of random stack processes (trainer, TS worker, Temporal, LM server) at random moments during
# rlTraining, gepaOptimization, expertIteration and gepaRlAlternation runs on the local model; checks
# rows lost/duplicated, budget, redone sampling and recovery time. Overrides: make bench-faults
# ARGS="--kills 3 --workflows rl,gepa --procs trainer,worker --seed 2 --delay 5,25 --parallel --policy tiny-random".
bench-faults: setup
	@bash bench/faults/run.sh $(ARGS)

clean:
	@bash scripts/stack.sh down || true
	rm -rf dist .data runs
