"""``nescio score``: answers made elsewhere, teacher-forced through the guard's model.

The round trip: the raw answers of a ``nescio eval`` run, fed back through ``score`` with the
same guard, get the same decisions. On the tiny model (random bytes for answers, which do
not survive decoding and re-encoding) the lines carry the answers' token ids, as a log of an
engine sharing the tokenizer does; from text alone SmolLM2's answers are checked by
``benchmarks/score_equivalence.py`` and the slow test below.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pytest

from nescio.types import NescioError, Outcome

DEFAULT_SIGNALS_GUARD = dict(alpha=0.3, delta=0.2, max_new_tokens=6)  # the default signals: probes on captures


def _grade_by_id(gens):
    """Synthetic outcomes fixed by question id (the tiny model knows nothing), the same in every run."""
    out = []
    for g in gens:
        h = int(hashlib.sha256(g.question.id.encode()).hexdigest()[:8], 16) % 10
        out.append(Outcome.CORRECT if g.question.answerable and h < 6 else Outcome.HALLUCINATED)
    return out


@pytest.fixture(scope="module")
def eval_run(tiny, tmp_path_factory):
    from nescio import grading
    from nescio.evaluate import evaluate
    from nescio.evaluate import run as run_mod
    from nescio.models.io import GenerationStore

    mp = pytest.MonkeyPatch()
    mp.setattr(run_mod, "grade_outcomes", _grade_by_id)
    mp.setattr(grading, "grade_outcomes", _grade_by_id)
    tmp = tmp_path_factory.mktemp("score")
    bench = tmp / "bench.jsonl"
    cats = ["fact/geography", "fact/science", "fabricated", "future"]
    with bench.open("w") as f:
        for i in range(96):
            c = cats[i % 4]
            f.write(json.dumps({"id": f"q{i}", "question": f"What is thing {i} in set {i % 7}?",
                                "answers": ["x"] if c.startswith("fact") else [], "category": c}) + "\n")
    res = evaluate(tiny, f"jsonl:{bench}", tmp / "run", progress=False, **DEFAULT_SIGNALS_GUARD)
    stores = [p.parent for p in (tmp / "run").rglob("index.jsonl")] or [p for p in (tmp / "run").rglob("*") if p.is_dir()]
    gens = {g.question.id: g for d in stores for g in _load(GenerationStore, d)}
    yield tmp, res, gens, mp
    mp.undo()


def _load(store_cls, d):
    try:
        return store_cls(d).load()
    except Exception:  # noqa: BLE001 - not a store directory
        return []


def _lines(res, gens, *, with_ids=True, with_gold=True):
    rows = []
    for r in res.records:
        g = gens[r.id]
        row = {"id": r.id, "question": r.question, "answer": g.text, "category": r.category,
               "answerable": r.answerable, "finish_reason": "length" if g.stop_reason == "max_tokens" else "stop"}
        if with_gold:
            row["answers"] = list(g.question.answers)
        if with_ids:
            row["token_ids"] = list(g.token_ids)
        rows.append(row)
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_answers_scored_back_get_the_eval_decisions(eval_run, tiny):
    from nescio.evaluate.result import EvalResult, read_decisions
    from nescio.evaluate.score import score_file

    tmp, res, gens, _ = eval_run
    assert res.n >= 20 and {r.id for r in res.records} <= set(gens)
    guard_dir = tmp / "run" / "tiny-llama" / "guard"
    answers = _write(tmp / "answers.jsonl", _lines(res, gens))
    s = score_file(tiny, guard_dir, answers, tmp / "scored", progress=False)
    assert s["graded"] and s["n"] == res.n
    back = read_decisions(tmp / "scored" / "decisions.jsonl")
    assert [r.id for r in back] == [r.id for r in res.records]
    assert [r.action for r in back] == [r.action for r in res.records]
    np.testing.assert_allclose([r.p_correct for r in back], [r.p_correct for r in res.records], atol=1e-5)
    np.testing.assert_allclose([r.score for r in back], [r.score for r in res.records], atol=1e-4)
    for a, b in zip(back, res.records):
        assert a.signals.keys() == b.signals.keys() and "probe_answer_mean" in a.signals
        np.testing.assert_allclose(list(a.signals.values()), list(b.signals.values()), atol=1e-4)
    scored = EvalResult.read(tmp / "scored" / "results.json")
    assert scored.guarded == res.guarded and scored.raw == res.raw and scored.frontier == res.frontier
    assert "<html" in (tmp / "scored" / "report.html").read_text().lower()


def test_score_resumes_after_an_interruption_without_lost_or_duplicated_rows(eval_run, tiny, monkeypatch):
    from nescio.evaluate.score import score_file
    from nescio.models.backend import HFBackend

    tmp, res, gens, _ = eval_run
    guard_dir = tmp / "run" / "tiny-llama" / "guard"
    answers = _write(tmp / "resume.jsonl", _lines(res, gens, with_gold=False))
    real, calls = HFBackend.score, []

    def dies_after_one_batch(self, *a, **k):
        if calls:
            raise KeyboardInterrupt  # as a kill between batches: the first batch is committed
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(HFBackend, "score", dies_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        score_file(tiny, guard_dir, answers, tmp / "resumed", progress=False)
    monkeypatch.setattr(HFBackend, "score", real)
    counted = []
    monkeypatch.setattr(HFBackend, "score", lambda self, qs, *a, **k: counted.append(len(qs)) or real(self, qs, *a, **k))
    s = score_file(tiny, guard_dir, answers, tmp / "resumed", progress=False)
    assert not s["graded"] and sum(counted) == res.n - 16  # only what the first run had not committed
    rows = [json.loads(x) for x in (tmp / "resumed" / "decisions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [r.id for r in res.records]
    assert [r["action"] for r in rows] == [r.action.value for r in res.records]


def test_a_truncated_answer_is_flagged_not_certified(eval_run, tiny):
    from nescio.evaluate.score import TRUNCATED_NOTE, score_file

    tmp, res, gens, _ = eval_run
    rows = _lines(res, gens, with_gold=False)[:3]
    for row, reason in zip(rows, ("stop", "length", "stop")):
        row["finish_reason"] = reason
    s = score_file(tiny, tmp / "run" / "tiny-llama" / "guard", _write(tmp / "trunc.jsonl", rows), tmp / "t",
                   progress=False)
    out = [json.loads(x) for x in (tmp / "t" / "decisions.jsonl").read_text().splitlines()]
    assert s["truncated"] == 1 and TRUNCATED_NOTE in out[1]["reason"] and TRUNCATED_NOTE not in out[0]["reason"]


@pytest.mark.parametrize("line, match", [
    ('{"question": "Q?"}', "line 2: 'answer' missing"),
    ('{"question": "", "answer": "a"}', "line 2: question is empty"),
    ('not json', "line 2: bad JSON"),
    ('{"question": "Q?", "answer": "a", "finish_reason": "done"}', "line 2: unknown finish_reason"),
    ('{"question": "Q?", "answer": "a", "token_ids": ["x"]}', "line 2: 'token_ids' must be"),
    ('{"question": "Q?", "answer": "a", "id": "one"}', "line 2: id 'one' appears twice"),
    ('[1, 2]', "line 2: expected a JSON object"),
])
def test_a_malformed_line_is_a_one_line_error_naming_file_and_line(tmp_path, monkeypatch, capsys, line, match):
    from nescio.cli import main

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "one", "question": "Q?", "answer": "a"}\n' + line + "\n")
    monkeypatch.setattr(sys, "argv", ["nescio", "score", "--guard", str(tmp_path / "no-guard"), "--in", str(path),
                                      "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err and match in err
    assert not (tmp_path / "o").exists()  # checked before any work


def test_read_answers_defaults(tmp_path):
    from nescio.evaluate.score import read_answers

    path = _write(tmp_path / "a.jsonl", [{"question": " Q? ", "answer": " Paris "},
                                         {"question": "R?", "answer": "x", "answers": ["x"], "answerable": True}])
    a, b = read_answers(path)
    assert (a.question.id, a.question.text, a.answer, a.stop_reason, a.has_gold) == ("line-1", "Q?", "Paris", "eos", False)
    assert b.has_gold and b.question.answers == ("x",)
    with pytest.raises(NescioError, match="not found"):
        read_answers(tmp_path / "missing.jsonl")


@pytest.mark.slow
def test_smollm2_scores_its_own_answers_from_text_with_the_same_decisions(smollm2):
    """On a real tokenizer the text round trip holds for short answers: same signals, same decisions."""
    from nescio.data import builtin_questions
    from nescio.models.backend import HFBackend
    from nescio.policy.guard import Guard

    backend = HFBackend(smollm2)
    qs = builtin_questions()
    train = [q for q in qs if q.split == "train"][::6]  # spread over the categories
    cal = [q for q in qs if q.split == "calibration"][::3]
    test = [q for q in qs if q.split == "test"][::12]
    guard = Guard.from_model(backend, train=train, calibration=cal, alpha=0.3, progress=False)
    gens = backend.generate(test, guard.generation_config_)
    scored = backend.score(test, [g.text for g in gens], guard.generation_config_,
                           stop_reasons=[g.stop_reason for g in gens])  # as a log's finish_reason says
    same = [i for i, (g, s) in enumerate(zip(gens, scored)) if g.token_ids == s.token_ids]
    assert len(same) >= 0.8 * len(test)
    d_g, d_s = guard.decide([gens[i] for i in same]), guard.decide([scored[i] for i in same])
    assert d_g.actions == d_s.actions
    # token-probability signals agree to float32 noise; the probes read activations the guard stores
    # as float16, where one rounding step of a captured value moves a probe's output by up to ~2e-4
    probes = [j for j, n in enumerate(guard.signal_names_) if n.startswith("probe_")]
    rest = [j for j in range(len(guard.signal_names_)) if j not in probes]
    np.testing.assert_allclose(d_g.signals[:, rest], d_s.signals[:, rest], atol=1e-4)
    np.testing.assert_allclose(d_g.signals[:, probes], d_s.signals[:, probes], atol=1e-3)
