"""Training data from the model's own outcomes (R-Tuning style): what each question should teach.

For each training question the model's greedy answer and K sampled answers (default 5)
are graded by :func:`nescio.grading.grade` (questions whose target does not depend on the
samples — unanswerable ones, answerable ones without gold answers — get the greedy answer
only, kept as evidence). :func:`assign_target` then picks the target:

=============  ==================================================  ====================================
target type    when                                                target
=============  ==================================================  ====================================
KNOWN          answerable; greedy correct and at least             the model's own greedy answer (its
               ``known_min_share`` of the samples correct (0:      voice; no new facts are taught)
               greedy correctness alone, R-Tuning's rule)
UNCERTAIN      answerable; the right answer appears among greedy   "I'm not sure, but it may be: X."
               + samples, but not KNOWN (greedy wrong, or samples  (X = the most frequent correct
               split), with at least ``uncertain_min_correct``     sample; the guard's HEDGE_TEMPLATE)
               correct answers
UNKNOWN        answerable; no correct answer among greedy and      "I don't know."
               samples
UNANSWERABLE   not answerable (fabricated entity, future event,    "I don't know." with a short reason
               random fact, false premise, ...)                    for the category when it is known
=============  ==================================================  ====================================

Answerable questions without gold answers (NEC real entities, FalseQA valid premises) are
skipped: whether the model knows them cannot be judged. Each :class:`SFTExample` records
why it got its target. :func:`build_sft_data` generates through the resumable
:class:`~nescio.models.io.GenerationStore`, so a killed build resumes, and writes
``sft.jsonl`` (one example per line) + ``dataset.json`` (schema version, model, counts per
target type, parameters).
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from nescio.data.subsets import limit_questions
from nescio.grading import grade, normalize_answer, answer_span
from nescio.policy.scoring import ABSTAIN_TEXT, HEDGE_TEMPLATE
from nescio.types import NescioError, Outcome, Question

DATASET_SCHEMA_VERSION = 1
DATASET_FILE = "dataset.json"
EXAMPLES_FILE = "sft.jsonl"


class TargetType(str, enum.Enum):
    KNOWN = "known"
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"
    UNANSWERABLE = "unanswerable"


UNANSWERABLE_TARGETS = {
    "future": "I don't know: that is after anything I have read about.",
    "fabricated": "I don't know: I have never heard of that name.",
    "random_fact": "I don't know: nobody could know that.",
    "false_premise": "I can't answer: the question assumes something that is not true.",
}
"""Category → refusal with a short reason; other unanswerable categories get ABSTAIN_TEXT."""


def hedge_text(answer: str) -> str:
    """The nuanced answer: ``HEDGE_TEMPLATE`` with the answer, ending in one full stop."""
    return HEDGE_TEMPLATE.format(answer=answer.strip().rstrip(".").strip()) + "."


@dataclass(frozen=True)
class Targeted:
    """The target chosen for one question and why."""

    target: str
    target_type: TargetType
    reason: str


@dataclass(frozen=True)
class SFTExample:
    """One training example: the question, the target, and the evidence behind it."""

    id: str
    question: str
    category: str
    source: str
    answerable: bool
    target: str
    target_type: TargetType
    reason: str
    greedy: str
    greedy_outcome: Outcome
    samples_correct: int
    n_samples: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["target_type"] = self.target_type.value
        d["greedy_outcome"] = self.greedy_outcome.value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SFTExample":
        d = dict(d)
        d["target_type"] = TargetType(d["target_type"])
        d["greedy_outcome"] = Outcome(d["greedy_outcome"])
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def _most_frequent_correct(question: Question, texts: Sequence[str]) -> str:
    """The correct answer given most often (ties: the first seen), as the model worded it."""
    counts: Counter = Counter()
    first: dict[str, str] = {}
    for t in texts:
        key = normalize_answer(answer_span(t)) or t.strip().lower()
        counts[key] += 1
        first.setdefault(key, t.strip())
    best = max(counts, key=lambda k: (counts[k], -list(first).index(k)))
    return first[best]


def assign_target(
    question: Question,
    greedy: str,
    samples: Sequence[str],
    *,
    known_min_share: float = 0.5,
    uncertain_min_correct: int = 1,
) -> Targeted | None:
    """The target for one question from its graded greedy and sampled answers (None = skip)."""
    if not question.answerable:
        target = UNANSWERABLE_TARGETS.get(question.category, ABSTAIN_TEXT)
        return Targeted(target, TargetType.UNANSWERABLE, f"unanswerable ({question.category})")
    if not question.answers:
        return None  # no gold answers: whether the model knows it cannot be judged
    g = grade(question, greedy)
    sample_grades = [grade(question, s) for s in samples]
    correct_samples = [s for s, sg in zip(samples, sample_grades) if sg.outcome == Outcome.CORRECT]
    k, n = len(correct_samples), len(samples)
    share = k / n if n else (1.0 if g.outcome == Outcome.CORRECT else 0.0)
    if g.outcome == Outcome.CORRECT and not g.hedged and share >= known_min_share:
        return Targeted(greedy.strip(), TargetType.KNOWN, f"greedy correct, {k}/{n} samples correct")
    pool = correct_samples or ([greedy] if g.outcome == Outcome.CORRECT else [])
    n_correct = k + (g.outcome == Outcome.CORRECT)
    if pool and n_correct >= uncertain_min_correct:
        x = _most_frequent_correct(question, pool)
        if grade(question, x).hedged:  # a sample that already hedges: keep its asserted part only
            x = greedy if g.outcome == Outcome.CORRECT and not g.hedged else x
        why = "greedy correct but samples split" if g.outcome == Outcome.CORRECT else f"greedy {g.outcome.value}"
        return Targeted(hedge_text(answer_span(x) or x), TargetType.UNCERTAIN, f"{why}, {k}/{n} samples correct")
    return Targeted(ABSTAIN_TEXT, TargetType.UNKNOWN, f"greedy {g.outcome.value}, no sample correct (0/{n})")


def examples_from_generations(generations, **kw) -> tuple[list[SFTExample], int]:
    """SFT examples for graded generations (each with samples); returns (examples, n_skipped)."""
    out, skipped = [], 0
    for gen in generations:
        q = gen.question
        samples = [s.text for s in gen.samples]
        t = assign_target(q, gen.text, samples, **kw)
        if t is None:
            skipped += 1
            continue
        g = grade(q, gen.text)
        n_ok = sum(grade(q, s).outcome == Outcome.CORRECT for s in samples) if q.answers else 0
        out.append(SFTExample(q.id, q.text, q.category, q.source, q.answerable, t.target, t.target_type, t.reason,
                              gen.text, g.outcome, n_ok, len(samples)))
    return out, skipped


def count_types(examples: Sequence[SFTExample]) -> dict[str, int]:
    c = Counter(e.target_type.value for e in examples)
    return {t.value: int(c.get(t.value, 0)) for t in TargetType}


def check_trainable(examples: Sequence[SFTExample], where: str = "the dataset") -> None:
    """Refuse a dataset that cannot teach the contrast (empty, or all one target type)."""
    if not examples:
        raise NescioError(f"{where} has no trainable examples; give questions with gold answers or unanswerable ones")
    counts = {k: v for k, v in count_types(examples).items() if v}
    if len(counts) < 2:
        (only, n), = counts.items()
        raise NescioError(
            f"{where} has only one kind of target ({n} '{only}' examples): nothing to contrast; "
            "add questions of other kinds (known facts and unanswerable or unknown ones)"
        )


def write_dataset(directory: str | Path, examples: Sequence[SFTExample], meta: dict) -> Path:
    """``sft.jsonl`` + ``dataset.json`` (written last, atomically)."""
    from nescio.train.output import write_json_atomic

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{EXAMPLES_FILE}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(d / EXAMPLES_FILE)
    header = {"artifact": "nescio.sft_dataset", "schema_version": DATASET_SCHEMA_VERSION,
              "n_examples": len(examples), "counts": count_types(examples)}
    write_json_atomic(d / DATASET_FILE, header | meta)
    return d


def read_dataset(path: str | Path) -> tuple[list[SFTExample], dict]:
    """Read a dataset directory (or its ``sft.jsonl``): (examples, dataset.json contents)."""
    p = Path(path).expanduser()
    d = p if p.is_dir() else p.parent
    meta_path, ex_path = d / DATASET_FILE, (p if p.is_file() else d / EXAMPLES_FILE)
    if not ex_path.is_file():
        raise NescioError(f"no SFT dataset at {path} ({EXAMPLES_FILE} missing); build one with `nescio train data`")
    meta = {}
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("schema_version") != DATASET_SCHEMA_VERSION:
            raise NescioError(f"{meta_path}: schema version {meta.get('schema_version')}; "
                              f"this nescio reads version {DATASET_SCHEMA_VERSION}")
    examples = []
    for i, line in enumerate(ex_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            examples.append(SFTExample.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise NescioError(f"{ex_path}, line {i}: not an SFT example ({type(exc).__name__}: {exc})") from None
    return examples, meta


def load_train_questions(specs: Sequence[str]) -> list[Question]:
    """Questions of several sets (``builtin:train``, ``nec:PATH`` …), first occurrence of an id kept."""
    from nescio.data import load_questions

    if not specs:
        raise NescioError("give at least one --train-bench (e.g. builtin:train)")
    seen: dict[str, Question] = {}
    for spec in specs:
        for q in load_questions(spec):
            seen.setdefault(q.id, q)
    return list(seen.values())


def build_sft_data(
    model: Any,
    train_benches: Sequence[str] | Sequence[Question],
    out: str | Path,
    *,
    n_samples: int = 5,
    temperature: float = 1.0,
    max_new_tokens: int = 24,
    batch_size: int = 16,
    seed: int = 0,
    known_min_share: float = 0.5,
    uncertain_min_correct: int = 1,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[list[SFTExample], dict]:
    """Generate (resumably, under ``out/generations``), grade, assign targets, write the dataset.

    ``model``: a spec or a LoadedModel; ``train_benches``: question-set specs or questions;
    ``limit``: at most that many questions (a deterministic, category-mixed subset).
    Returns (examples, dataset.json contents).
    """
    from dataclasses import replace

    from nescio.models.io import GenerationStore, generate_resumable
    from nescio.models.load import load_model
    from nescio.types import GenerationConfig

    if n_samples < 1:
        raise NescioError(f"--samples must be at least 1 (the targets compare greedy with samples), got {n_samples}")
    if not 0.0 <= known_min_share <= 1.0:
        raise NescioError(f"known_min_share must be in [0, 1] (0: greedy correct alone is 'known', as in R-Tuning), "
                          f"got {known_min_share}")
    lm = load_model(model) if isinstance(model, str) else model
    specs = [t for t in train_benches if isinstance(t, str)]
    questions = load_train_questions(specs) if specs else list(train_benches)
    if limit is not None:
        if limit < 1:
            raise NescioError(f"--limit must be at least 1, got {limit}")
        questions = limit_questions(questions, limit)
    if not questions:
        raise NescioError("no training questions")
    config = GenerationConfig(max_new_tokens=max_new_tokens, batch_size=batch_size, n_samples=n_samples,
                              temperature=temperature, seed=seed)
    # Samples decide the target only for answerable questions with gold answers; the others get
    # the greedy answer alone (kept as evidence), which costs a fraction of K + 1 decodes.
    sampled = GenerationStore(Path(out) / "generations")
    have = {g.question.id: g for g in sampled.load()} if sampled.index_path.is_file() else {}
    need = [q for q in questions if q.answerable and q.answers]
    rest = [q for q in questions if not (q.answerable and q.answers) and q.id not in have]
    by_id = {g.question.id: g for g in generate_resumable(lm, need, config, sampled, progress=progress)} if need else {}
    if rest:
        greedy = replace(config, n_samples=0)
        by_id.update({g.question.id: g for g in generate_resumable(lm, rest, greedy, Path(out) / "generations-greedy",
                                                                   progress=progress)})
    gens = [by_id.get(q.id) or have[q.id] for q in questions]
    examples, skipped = examples_from_generations(gens, known_min_share=known_min_share,
                                                  uncertain_min_correct=uncertain_min_correct)
    check_trainable(examples, where=f"the data built from {', '.join(specs) or f'{len(questions)} questions'}")
    meta = {
        "model": lm.spec, "model_id": lm.model_id, "prompt_format": lm.prompt_format, "prompt": lm.prompt,
        "train_benches": specs, "n_questions": len(questions), "n_skipped_no_gold": skipped,
        "params": {"n_samples": n_samples, "temperature": temperature, "max_new_tokens": max_new_tokens, "seed": seed,
                   "known_min_share": known_min_share, "uncertain_min_correct": uncertain_min_correct},
    }
    write_dataset(out, examples, meta)
    return examples, meta | {"n_examples": len(examples), "counts": count_types(examples)}
