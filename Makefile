# ocula: `make demo` and `make test` work on a fresh machine (Python 3.11 + pip).
# Every install goes through constraints.txt, which pins the CPU build of torch.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.ocula-installed
DEMO   ?= .ocula-demo

.PHONY: install demo test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[test,moderation,train,serve,mcp]'
	# facenet-pytorch pins torch<2.3 and numpy<2 in its metadata; ocula only reads its MTCNN weights
	$(PIP) install -q -c constraints.txt --no-deps 'facenet-pytorch==2.6.0'
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

bench: $(STAMP)
	$(BIN)/python bench/analyze.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache test-output bench/results
