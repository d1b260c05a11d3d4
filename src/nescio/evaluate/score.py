"""``nescio score``: the guard's decisions on answers generated anywhere.

Input: JSONL lines ``{"question", "answer"}`` plus optional ``id``, ``answers`` (gold
aliases), ``answerable``, ``category``, ``finish_reason`` (OpenAI's ``stop`` / ``length``)
and ``token_ids`` (the answer's tokens, when the engine that wrote it shares the tokenizer).
Each answer is teacher-forced through the guard's model (:meth:`Backend.score`: one prefill
over prompt + answer gives the internals the guard reads), decided by the guard, and written
to ``OUT/decisions.jsonl``. Where every line has gold answers, the same tallies,
certified-risk check and ``report.html`` as ``nescio eval`` follow (``OUT/results.json``).

The whole file is validated before any scoring (a bad line is a one-line error naming the
file and line). Scoring commits batch by batch to ``OUT/scored-<input sha>``: a rerun after an
interruption (``kill -9`` included) skips what was scored. An answer cut at the length limit
(``finish_reason: length``) is flagged in its decision: the guard was calibrated on complete
answers, so its certificate does not cover it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nescio.jsonl import read_jsonl
from nescio.types import NescioError, Question, check_question

ACCEPTED = ('{"question": str, "answer": str} plus optional "id", "answers" (list of gold strings), '
            '"answerable" (bool), "category" (str), "finish_reason" ("stop" | "length"), "token_ids" (list of int)')
FINISH_REASONS = {"stop": "eos", "length": "max_tokens", None: "eos"}
TRUNCATED_NOTE = "; the answer was cut at the length limit: the guard was calibrated on complete answers, not certified"


@dataclass(frozen=True)
class ScoredLine:
    """One validated input line."""

    question: Question
    answer: str
    stop_reason: str
    token_ids: tuple[int, ...] | None
    has_gold: bool


def read_answers(path: str | Path) -> list[ScoredLine]:
    """Every line of ``path``, validated; a bad line is a NescioError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise NescioError(f"answers file not found: {path}; accepted: a JSONL file of {ACCEPTED}")
    out, seen = [], set()
    for n, row in read_jsonl(path, ACCEPTED):
        where = f"{path}, line {n}"
        if not isinstance(row, dict):
            raise NescioError(f"{where}: expected a JSON object; accepted: {ACCEPTED}")
        if not isinstance(row.get("answer"), str):
            raise NescioError(f"{where}: 'answer' missing or not a string; accepted: {ACCEPTED}")
        try:
            text = check_question(row.get("question"))
        except NescioError as exc:
            raise NescioError(f"{where}: {exc}") from None
        qid = str(row.get("id", f"line-{n}"))
        if qid in seen:
            raise NescioError(f"{where}: id {qid!r} appears twice; ids must be unique")
        seen.add(qid)
        gold = row.get("answers")
        if gold is not None and (not isinstance(gold, list) or not all(isinstance(a, str) for a in gold)):
            raise NescioError(f"{where}: 'answers' must be a list of strings")
        finish = row.get("finish_reason")
        if finish not in FINISH_REASONS:
            raise NescioError(f"{where}: unknown finish_reason {finish!r}; accepted: stop, length")
        ids = row.get("token_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(t, int) and t >= 0 for t in ids)):
            raise NescioError(f"{where}: 'token_ids' must be a list of non-negative integers")
        answerable = row.get("answerable", True)
        if not isinstance(answerable, bool):
            raise NescioError(f"{where}: 'answerable' must be true or false")
        q = Question(id=qid, text=text, answers=tuple(a.strip() for a in gold or () if a.strip()),
                     answerable=answerable, category=str(row.get("category", "user")), source=str(path.name))
        out.append(ScoredLine(q, row["answer"].strip(), FINISH_REASONS[finish], tuple(ids) if ids is not None else None,
                              gold is not None or not answerable))
    if not out:
        raise NescioError(f"{path}: no lines; accepted: a JSONL file of {ACCEPTED}")
    return out


def score_stored(backend: Any, lines: list[ScoredLine], config, directory: Path, *, progress: bool = True) -> list:
    """Teacher-force what the store lacks, batch by batch (each batch committed), return all in order."""
    from tqdm.auto import tqdm

    from nescio.models.io import GenerationStore

    store = GenerationStore(directory)
    store.set_run_info(backend.run_info(config))
    done = store.done_ids()
    todo = [x for x in lines if x.question.id not in done]
    bar = tqdm(total=len(lines), initial=len(lines) - len(todo), disable=not progress, desc="scoring", unit="answer")
    try:
        for start in range(0, len(todo), config.batch_size):
            part = todo[start : start + config.batch_size]
            store.append(backend.score([x.question for x in part], [x.answer for x in part], config,
                                       token_ids=[x.token_ids for x in part], stop_reasons=[x.stop_reason for x in part]))
            bar.update(len(part))
    finally:
        bar.close()
    by_id = {g.question.id: g for g in store.load()}
    return [by_id[x.question.id] for x in lines]


def score_file(model: Any, guard_dir: str | Path, answers: str | Path, out: str | Path, *, alpha: float | None = None,
               progress: bool = True, console=None) -> dict:
    """``nescio score``: decisions for every line of ``answers``; with gold answers also
    ``results.json`` and ``report.html``. Returns a summary dict (also printed by the CLI)."""
    import numpy as np

    from nescio.evaluate.result import write_decisions
    from nescio.grading import grade_outcomes
    from nescio.models.backend import as_backend
    from nescio.pipeline import check_guard
    from nescio.policy.guard import Guard

    t0 = time.perf_counter()
    lines = read_answers(answers)  # every line checked before the model loads
    guard = Guard.load(guard_dir)
    guard.policy_.thresholds(alpha)
    backend = as_backend(model or guard.model_spec_)
    check_guard(backend, guard)  # its model; in another dtype its probe sample must agree
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(Path(answers).read_bytes()).hexdigest()[:12]
    t = time.perf_counter()
    gens = score_stored(backend, lines, guard.generation_config_, out / f"scored-{digest}", progress=progress)
    scoring_s = time.perf_counter() - t
    t = time.perf_counter()
    d = guard.decide(gens, alpha=alpha)
    truncated = np.array([x.stop_reason == "max_tokens" for x in lines])
    if truncated.any():
        from dataclasses import replace

        d = replace(d, reasons=tuple(r + TRUNCATED_NOTE if c else r for r, c in zip(d.reasons, truncated)))
    decide_s = time.perf_counter() - t
    graded = all(x.has_gold for x in lines)
    outcomes = np.empty(len(gens), dtype=object)
    outcomes[:] = grade_outcomes(gens) if graded else [None] * len(gens)
    summary = {"n": len(lines), "answers_file": str(answers), "decisions": str(out / "decisions.jsonl"),
               "truncated": int(truncated.sum()), "graded": graded, "scoring_s": round(scoring_s, 3)}
    if graded:
        from nescio.evaluate.report import write_report
        from nescio.evaluate.run import assess

        timing = dict(load_s=0.0, generation_s=scoring_s, generation_s_per_question=scoring_s / len(lines),
                      grading_s=0.0, fit_s=0.0, decide_s=decide_s)
        res = assess(guard, gens, outcomes, d, spec=getattr(backend, "spec", backend.model_id), model_id=backend.model_id,
                     n_train=guard.fit_summary_.n_train, n_calibration=guard.fit_summary_.n_calibration, timing=timing,
                     bench=f"scored:{Path(answers).name}", train_bench="the guard's own fit")
        write_decisions(res.records, out / "decisions.jsonl")
        write_report(res.runs, out / "report.html")
        res.write(out / "results.json")
        summary.update(results=str(out / "results.json"), report=str(out / "report.html"),
                       raw_correct=res.raw.correct, answered=res.guarded.answered,
                       realised_risk=res.guarded.realised_risk, kept=res.guarded.kept, alpha=res.guarded.alpha,
                       certified=bool(guard.fit_summary_.certified))
    else:
        with (out / "decisions.jsonl").open("w", encoding="utf-8") as f:
            for i, x in enumerate(lines):
                row = d[i]
                f.write(json.dumps({"id": x.question.id, "question": x.question.text, "answer": x.answer,
                                    "action": row.action.value, "p_correct": row.p_correct, "reason": row.reason,
                                    "shown": row.text, "signals": dict(row.signals)}) + "\n")
    summary["total_s"] = round(time.perf_counter() - t0, 3)
    return summary
