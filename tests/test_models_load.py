"""Model loading: errors name what is accepted; the GGUF cache is atomic and checked; real SmolLM2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nescio.models import cache, generate, load_model
from nescio.types import CaptureSpec, GenerationConfig, NescioError, Question


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NESCIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(NescioError, match="accepted: an embedded name"):
        load_model("no-such-model")
    with pytest.raises(NescioError, match="GGUF file not found"):
        load_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NescioError, match="without config.json"):
        load_model(str(tmp_path / "empty"))


def test_bad_and_unsupported_gguf(tmp_path, cache_dir):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all")
    with pytest.raises(NescioError, match="not a readable GGUF"):
        load_model(str(junk))
    import gguf

    path = tmp_path / "fancy.gguf"
    writer = gguf.GGUFWriter(str(path), "fancyarch")
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(NescioError, match="'fancyarch' is not supported; accepted: .*llama"):
        load_model(str(path))


def test_local_hf_directory(tiny, tmp_path):
    tiny.model.save_pretrained(tmp_path / "tiny-base")
    tiny.tokenizer.save_pretrained(tmp_path / "tiny-base")
    lm = load_model(str(tmp_path / "tiny-base"))
    assert lm.prompt_format == "fewshot" and lm.architecture == "llama"
    assert lm.model_id == f"path:{(tmp_path / 'tiny-base').resolve()}"
    assert (lm.n_layers, lm.hidden_size, lm.intermediate_size) == (tiny.n_layers, 64, 128)
    assert load_model(str(tmp_path / "tiny-base"), prompt_format="chat").prompt_format == "chat"
    with pytest.raises(NescioError, match="prompt format"):
        load_model(str(tmp_path / "tiny-base"), prompt_format="poetry")


def test_cache_entry_is_atomic_and_checked(cache_dir):
    def write(tmp):
        (tmp / "weights.bin").write_bytes(b"x" * 1000)
        (tmp / "config.json").write_text("{}")

    entry = cache.build_entry("demo", write, {"source": "test"})
    assert entry == cache.entry_dir("demo") and cache.is_complete(entry, verify_hashes=True)
    assert not list(entry.parent.glob(".tmp-*"))
    (entry / "weights.bin").write_bytes(b"x" * 999)  # truncated
    assert not cache.is_complete(entry)
    (entry / "weights.bin").write_bytes(b"y" * 1000)  # same size, other content
    assert cache.is_complete(entry) and not cache.is_complete(entry, verify_hashes=True)
    cache.build_entry("demo", write, {"source": "test"})  # rebuilt in place
    assert cache.is_complete(entry, verify_hashes=True)
    (entry / cache.MANIFEST).unlink()  # partial: no manifest
    assert not cache.is_complete(entry)

    def failing(tmp):
        (tmp / "half").write_bytes(b"h")
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        cache.build_entry("other", failing, {})
    assert not cache.entry_dir("other").exists() and not list(entry.parent.glob(".tmp-*"))


def test_gguf_hash_is_memoised(cache_dir, tmp_path, monkeypatch):
    f = tmp_path / "weights.gguf"
    f.write_bytes(b"abc" * 1000)
    first = cache.file_sha256(f)
    monkeypatch.setattr(cache, "_sha256_file", lambda p: pytest.fail("re-hashed an unchanged file"))
    assert cache.file_sha256(f) == first
    monkeypatch.undo()
    f.write_bytes(b"abd" * 1000)
    assert cache.file_sha256(f) != first


@pytest.mark.slow
def test_smollm2_answers_paris_with_finite_logprobs(smollm2):
    assert smollm2.model_id.startswith("gguf-sha256:") and smollm2.prompt_format == "chat"
    assert (smollm2.n_layers, smollm2.hidden_size, smollm2.intermediate_size) == (30, 576, 1536)
    cfg = GenerationConfig(
        max_new_tokens=16,
        capture=(CaptureSpec("resid", "all", ("last_prompt",)), CaptureSpec("mlp_act", (3,), ("answer", "answer_mean"))),
    )
    (g,) = generate(smollm2, [Question("fr", "What is the capital of France?", answers=("Paris",))], cfg, progress=False)
    assert "Paris" in g.text
    assert g.token_logprobs and all(math.isfinite(x) and x <= 0 for x in g.token_logprobs)
    assert all(math.isfinite(x) for x in g.token_entropies)
    for layer in range(30):
        assert g.activations[f"resid/{layer}/last_prompt"].shape == (576,)
    n_fed = len(g.token_ids) - (g.stop_reason == "max_tokens")
    assert g.activations["mlp_act/3/answer"].shape == (n_fed, 1536)
    assert np.isfinite(g.activations["mlp_act/3/answer_mean"].astype(np.float32)).all()


@pytest.mark.slow
def test_a_load_failure_that_is_not_corruption_keeps_the_cache(smollm2, monkeypatch):
    """An error while loading a sound cache entry (bad device, out of memory) is raised as is;
    the entry is not deleted and re-dequantised."""
    from nescio.models import load as load_module

    digest = smollm2.model_id.split(":", 1)[1]
    directory = cache.entry_dir(f"gguf-{digest[:32]}")
    assert cache.is_complete(directory), "the smollm2 fixture should have left a cache entry"
    written = (directory / cache.MANIFEST).stat().st_mtime_ns

    def failing_load(*args, **kwargs):
        raise RuntimeError("simulated out of memory")

    monkeypatch.setattr(load_module, "_load_hf", failing_load)
    with pytest.raises(RuntimeError, match="simulated out of memory"):
        load_model("smollm2-135m-instruct")
    assert (directory / cache.MANIFEST).stat().st_mtime_ns == written  # not deleted and rebuilt


def test_embedded_models_come_from_one_table():
    from typer.testing import CliRunner

    from nescio.cli import app
    from nescio.models import DEFAULT_MODEL, EMBEDDED_MODELS
    from nescio.models.embedded import EMBEDDED, embedded_gguf_path
    from nescio.models.load import _ACCEPTED, _NAMED_FORMATS

    names = [m.name for m in EMBEDDED]
    assert list(EMBEDDED_MODELS) == names and list(_NAMED_FORMATS) == names and DEFAULT_MODEL == names[0]
    assert all(n in _ACCEPTED for n in names)
    listing = CliRunner().invoke(app, ["models"]).output
    assert all(f"{m.name}\t{m.description}" in listing for m in EMBEDDED)
    with pytest.raises(NescioError, match=", ".join(names)):
        embedded_gguf_path("nope")
