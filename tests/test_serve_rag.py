"""`nescio serve --rag`: an in-process server (real uvicorn, the real `openai` client) answers
from an index exactly as `ask --rag` does — same retrieval, prompt, no-evidence policy and
guard decision; a bad index path is a one-line error from the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

from serve_support import ThreadServer  # noqa: E402
from test_rag import CORPUS, HashEmbedder  # noqa: E402

from nescio.models.backend import HFBackend  # noqa: E402
from nescio.pipeline import rag_answer  # noqa: E402
from nescio.rag.answer import NO_EVIDENCE_REASON, RagSettings  # noqa: E402
from nescio.rag.filter import RelevanceFilter  # noqa: E402
from nescio.rag.index import Index  # noqa: E402
from nescio.types import Outcome, Question  # noqa: E402

NAME = "tiny-rag"
SIGNALS = ("sequence_nll", "mean_token_nll", "rag_top_relevance", "rag_passages_kept", "rag_support_lexical",
           "rag_context_reliance")
ASKED = ["What is the capital of France?", "What is the currency of Japan?", "What is the capital of Germany?"]
NOTHING = "Who painted the Mona Lisa?"


@pytest.fixture(scope="module")
def rag_env(tiny, tmp_path_factory):
    """(guard, settings, filter): a guard fitted on tiny-model RAG generations (with the
    context-reliance signal, so the server's extra forward pass is exercised)."""
    import nescio.rag.answer as answer
    import nescio.rag.filter as filt
    from nescio.models import generate
    from nescio.policy.guard import Guard
    from nescio.rag.signals import score_context_reliance
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("serve-rag")
    Index.build(CORPUS, embedder=HashEmbedder(), progress=False).save(root / "idx")
    f = RelevanceFilter(max_kept=1, degree=1)
    f.coef_, f.intercept_, f.threshold_ = np.array([2.0, 2.0, 1.0, 4.0, -1.0, -0.5, -1.0, 2.0, 1.0]), -8.0, 0.5
    f.mean_, f.scale_ = np.zeros(len(f.coef_)), np.ones(len(f.coef_))
    mp.setattr(answer, "_load_index", lambda path: Index.load(path, embedder=HashEmbedder()))
    mp.setattr(filt, "default_filter", lambda: f)
    settings = RagSettings(str(root / "idx"), k=4, no_evidence="abstain", require_support=False)
    qs = settings.attach([Question(f"f{i}", f"{ASKED[i % 3]} ({i})", ("x",)) for i in range(24)])
    guard = Guard(alpha=0.4, delta=0.3, signals=SIGNALS, use_precheck=False, hedge_alpha=0.6, max_new_tokens=4)
    gens = score_context_reliance(tiny, generate(tiny, qs, guard.generation_config(), progress=False))
    outcomes = [Outcome.CORRECT, Outcome.HALLUCINATED, Outcome.CORRECT] * 8
    guard.fit(gens[:12], outcomes[:12], gens[12:], outcomes[12:], model_id=tiny.model_id)
    try:
        yield guard, settings, f
    finally:
        mp.undo()


@pytest.fixture
def serving(tiny, rag_env):
    """A function starting an in-process `serve --rag` server for given settings (stopped after the test)."""
    from nescio.serve import ServeConfig, create_app

    servers = []

    def start(settings):
        servers.append(ThreadServer(create_app(tiny, rag_env[0], ServeConfig(served_model_name=NAME), rag=settings)))
        return servers[-1]

    yield start
    for srv in servers:
        srv.stop()


def _client(srv):
    return openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0, timeout=120)


def _chat(c, content):
    return c.chat.completions.create(model=NAME, messages=[{"role": "user", "content": content}])


def test_serve_rag_answers_as_ask_rag_does(rag_env, serving, tiny):
    guard, settings, _ = rag_env
    c = _client(serving(settings))
    info = c.models.retrieve(NAME).model_extra["nescio"]
    assert info["rag"] == {"index": settings.index, "k": 4, "no_evidence": "abstain"}
    expected = rag_answer(tiny, guard, settings, ASKED)
    for i, q in enumerate(ASKED):
        d = expected[i]
        r = _chat(c, q)
        ext = r.choices[0].model_extra["nescio"]
        assert r.choices[0].message.content == d.text
        assert ext["action"] == ("abstain" if d.abstained else "hedge" if d.hedged else "answer")
        assert ext["p_correct"] == pytest.approx(d.p_correct, abs=1e-4)
        assert ext["raw_answer"] == d.answer
        assert r.usage.completion_tokens > 0
        assert ext["reason"] == d.reason
    # the prompt the server generated from is the retrieval prompt with the kept evidence sentence
    q = settings.attach([Question("x", ASKED[0])])[0]
    assert [p.text for p in q.retrieval.kept] == ["The capital of France is Paris."]
    assert _chat(c, ASKED[0]).usage.prompt_tokens == len(tiny.tokenizer(tiny.format_prompt(q),
                                                                        add_special_tokens=False)["input_ids"])


def test_serve_rag_applies_the_support_rule_as_ask_rag_does(rag_env, serving, tiny):
    from dataclasses import replace

    from nescio.rag.answer import UNSUPPORTED_REASON

    guard, settings, _ = rag_env
    strict = replace(settings, require_support=True)
    c = _client(serving(strict))
    loose = rag_answer(tiny, guard, settings, ASKED)
    expected = rag_answer(tiny, guard, strict, ASKED)
    # the tiny model's answers are noise: not in the evidence sentence, so the rule abstains on them
    assert all(d.reason == UNSUPPORTED_REASON and d.abstained for d in expected)
    for q, d, free in zip(ASKED, expected, loose):
        r = _chat(c, q)
        ext = r.choices[0].model_extra["nescio"]
        assert r.choices[0].message.content == d.text and ext["action"] == "abstain"
        assert ext["reason"] == UNSUPPORTED_REASON and ext["raw_answer"] == free.answer


def test_serve_rag_abstains_without_running_the_model_when_nothing_passes(rag_env, serving, tiny, monkeypatch):
    import nescio.serve.backend as backend

    guard, settings, f = rag_env
    c = _client(serving(settings))
    expected = rag_answer(tiny, guard, settings, [NOTHING])[0]
    assert expected.abstained and expected.reason == NO_EVIDENCE_REASON
    monkeypatch.setattr(HFBackend, "generate", lambda *a, **k: pytest.fail("the model ran"))
    r = _chat(c, NOTHING)
    ext = r.choices[0].model_extra["nescio"]
    assert r.choices[0].message.content == expected.text
    assert ext["action"] == "abstain" and ext["reason"] == NO_EVIDENCE_REASON and ext["raw_answer"] is None
    assert r.usage.completion_tokens == 0


def test_serve_rag_takes_one_question_per_chat(rag_env, serving):
    c = _client(serving(rag_env[1]))
    with pytest.raises(openai.BadRequestError, match="one message"):
        c.chat.completions.create(model=NAME, messages=[{"role": "system", "content": "Be brief."},
                                                        {"role": "user", "content": ASKED[0]}])
    with pytest.raises(openai.BadRequestError, match="chat/completions"):
        c.completions.create(model=NAME, prompt=ASKED[0])


def test_cli_serve_with_a_bad_index_is_a_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "nescio.cli", "serve", "--rag", str(tmp_path / "nowhere")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "not an index directory" in lines[0] and "nescio index" in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout
