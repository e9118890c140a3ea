# Two entry points (see README): `make demo` and `make test`. Each builds the venv it needs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
VIDEO ?= $(DATA)/videos/phalp_running_woman.mp4
OUT ?= out

.PHONY: demo test models clean-venv

$(BIN)/.installed: pyproject.toml constraints/ci.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (PoseBake needs Python 3.11, as pip bpy does)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints/ci.txt -e '.[dev,blender,serve]'
	touch $@

models: $(BIN)/.installed
	$(BIN)/posebake models fetch

demo: models
	$(BIN)/posebake models check --video $(VIDEO)

test: models
	timeout 4800 $(BIN)/python -m pytest -q tests

clean-venv:
	rm -rf $(VENV)
