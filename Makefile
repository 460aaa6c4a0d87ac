# Fresh-machine entry points: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup demo test bench clean

$(BIN)/realtime-mask: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

setup: $(BIN)/realtime-mask

demo: setup
	$(BIN)/realtime-mask assets --build
	$(BIN)/realtime-mask serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest -v tests

bench: setup
	$(BIN)/python benchmarks/frame_budget.py
	$(BIN)/python benchmarks/privacy.py

clean:
	rm -rf $(VENV) .pytest_cache
