# Set-up is part of every target: on a fresh Debian machine with Python 3.11, `make sample` and
# `make test` install what they need (ffmpeg, Chromium for the report tests, uv, the locked venv).
SHELL := /bin/bash
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
OUT ?= out

.PHONY: setup system-deps test-deps sample test clean

system-deps:
	@command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg)

test-deps: system-deps
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)

# --compile-bytecode, as the Dockerfile's UV_COMPILE_BYTECODE: where PYTHONDONTWRITEBYTECODE is set (this VM, many
# images) every audit and every decoding child otherwise compiles pandas & co. from source as it starts:
# 1.8 CPU s of the audit's 4.8 (benchmarks/results/cpu_per_hour.md).
$(VENV)/.synced: pyproject.toml uv.lock Makefile
	@python3 -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null || python3 -m pip install -q "uv>=0.5"
	$(UV) sync --frozen --all-extras --compile-bytecode
	@touch $@

setup: system-deps $(VENV)/.synced

## Run the main job: audit the sample class archive into $(OUT)/ (tables, evidence, report).
sample: setup
	$(VENV)/bin/trainaudit audit sample_data --out $(OUT)

## Run the test suite (real face detector on real images from ../shared/data).
test: test-deps $(VENV)/.synced
	$(VENV)/bin/pytest -n 2 -q

clean:
	rm -rf $(OUT) .pytest_cache
