# The two commands of the README: `make demo` and `make test`.
# Both create or update .venv, install what is missing, then run.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# Every install goes through the constraints file, so nothing can replace the CPU torch.
PIPI := $(PIP) install -c constraints.txt
STAMP := $(VENV)/.tinykws-installed
# Debian packages used by optional parts: the synthetic speech engines, and the Cortex-M
# toolchain and emulator (tinykws.mcu: build, run on qemu, profile; its tests need them).
SPEECH_PACKAGES ?= espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
MCU_PACKAGES ?= gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
DEBIAN_PACKAGES ?= $(SPEECH_PACKAGES) $(MCU_PACKAGES)
PYTEST_ARGS ?=
# `make fuzz`: seconds per fuzz target (bench/fuzz.py), on one core at the lowest priority.
FUZZ_SECONDS ?= tflite=900,audio=1200,recipe=600,checkpoint=900

.PHONY: setup system-deps demo test fuzz bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PIPI) torch==2.13.0
	$(PIPI) -e '.[dev,tflite,synth,piper,golden,fuzz,onnx,serial,ray]'
	touch $(STAMP)

system-deps:
	@bash scripts/ensure_debian_packages.sh $(DEBIAN_PACKAGES)

setup: system-deps $(STAMP)

demo: setup
	$(VENV)/bin/tinykws demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

fuzz: setup
	PYTHONPATH=src nice -n 19 taskset -c 0 $(PY) bench/fuzz.py --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
