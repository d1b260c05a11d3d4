"""Loaders: public question-set formats from local files into :class:`nescio.types.Question`.

A question set is addressed as ``NAME:PATH`` (``triviaqa:data/triviaqa_1k.jsonl``),
``jsonl:PATH`` for nescio's generic JSONL, ``builtin`` / ``builtin:SPLIT`` for the
built-in benchmark, ``wide`` / ``wide:SPLIT`` for the 5,000-question benchmark split by
template family (:mod:`nescio.data.wide`), or ``hf:HUB_ID[:CONFIG][@SPLIT]`` to fetch from the Hugging Face hub
through ``datasets`` (needs network; ``pip install nescio[hub]``).

Every loader reads the whole file before returning: a malformed file raises
:class:`NescioError` naming the file, the line (or row) and the field, and nothing is
half-loaded.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from nescio.jsonl import read_jsonl
from nescio.types import NescioError, Question

# ---------------------------------------------------------------- reading helpers


class _Row:
    """One record with its location, for error messages that name file, line and field."""

    def __init__(self, path: Path, line: int, data: Any, unit: str = "line") -> None:
        self.path, self.line, self.data, self.unit = path, line, data, unit
        if not isinstance(data, dict):
            self.fail(None, f"expected a JSON object, got {type(data).__name__}")

    def fail(self, field: str | None, problem: str) -> None:
        where = f"{self.path}, {self.unit} {self.line}"
        raise NescioError(f"{where}: " + (f"field {field!r}: " if field else "") + problem)

    def text(self, *fields: str) -> str:
        """The first present field among ``fields``, as a non-empty string."""
        for f in fields:
            if f in self.data and self.data[f] is not None:
                value = self.data[f]
                if not isinstance(value, str):
                    self.fail(f, f"expected a string, got {type(value).__name__}")
                if not value.strip():
                    self.fail(f, "is empty")
                return value.strip()
        self.fail(fields[0], "missing" + (f" (also looked for {', '.join(fields[1:])})" if fields[1:] else ""))
        raise AssertionError  # unreachable

    def optional(self, field: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.data.get(field)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(field, f"expected {names}, got {type(value).__name__}")
        return value

    def answers(self, *fields: str, required: bool = True) -> tuple[str, ...]:
        """A list of answer strings (a bare string counts as a one-element list)."""
        for f in fields:
            if f not in self.data:
                continue
            value = self.data[f]
            if value is None:
                return ()
            if isinstance(value, str):
                value = _parse_list_string(value)
            if not isinstance(value, list) or not all(isinstance(a, (str, int, float)) for a in value):
                self.fail(f, "expected a list of strings")
            return tuple(str(a).strip() for a in value if str(a).strip())
        if required:
            self.fail(fields[0], "missing" + (f" (also looked for {', '.join(fields[1:])})" if fields[1:] else ""))
        return ()


def _parse_list_string(value: str) -> list[str] | str:
    """CSV cells hold lists as JSON ("[...]") or Python reprs ("['a', 'b']")."""
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(v)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, list):
                return [str(x) for x in parsed]
    return [value]


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise NescioError(f"question file not found: {path}")
    if path.stat().st_size == 0:
        raise NescioError(f"{path}: file is empty")


def _jsonl_rows(path: Path) -> Iterator[_Row]:
    _check_file(path)
    for n, data in read_jsonl(path):
        yield _Row(path, n, data)


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[_Row]:
    _check_file(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise NescioError(f"{path}, line 1: column {missing[0]!r} missing from header; have: {', '.join(header)}")
        for row in reader:
            if None in row:
                raise NescioError(f"{path}, line {reader.line_num}: more cells than header columns")
            yield _Row(path, reader.line_num, dict(row))


def _json_document(path: Path) -> Any:
    _check_file(path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise NescioError(f"{path}, line {exc.lineno}: bad JSON ({exc.msg})") from None


def _json_list(path: Path, key: str) -> Iterator[_Row]:
    doc = _json_document(path)
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise NescioError(f"{path}: field {key!r} missing or not a list at the top level")
    for i, item in enumerate(doc[key], 1):
        yield _Row(path, i, item, unit=f"{key} item")


def _label(row: _Row, field: str = "label") -> int:
    value = row.data.get(field)
    try:
        label = int(value)
    except (TypeError, ValueError):
        row.fail(field, f"expected 0 or 1, got {value!r}")
    if label not in (0, 1):
        row.fail(field, f"expected 0 or 1, got {value!r}")
    return label


# ---------------------------------------------------------------- formats


def _generic_jsonl(path: Path, name: str) -> list[Question]:
    out = []
    for row in _jsonl_rows(path):
        answers = row.answers("answers", required=False)
        answerable = row.optional("answerable", bool, bool(answers))
        category = row.optional("category", str, "answerable" if answerable else "unanswerable")
        qid = row.optional("id", (str, int), f"{name}-{row.line}")
        entity = row.optional("entity", str)
        split = row.optional("split", str)
        out.append(Question(str(qid), row.text("question"), answers, answerable, category, name, entity, split))
    return out


def _triviaqa(path: Path, name: str) -> list[Question]:
    if path.suffix.lower() == ".json":  # original rc JSON: {"Data": [{"Question", "QuestionId", "Answer"}]}
        out = []
        for row in _json_list(path, "Data"):
            answer = row.optional("Answer", dict)
            if answer is None:
                row.fail("Answer", "missing")
            value = answer.get("Value")
            aliases = answer.get("Aliases") or []
            if not isinstance(value, str) or not isinstance(aliases, list):
                row.fail("Answer", "expected {'Value': str, 'Aliases': [str]}")
            answers = tuple(dict.fromkeys([value, *map(str, aliases)]))
            qid = row.optional("QuestionId", str, f"{name}-{row.line}")
            out.append(Question(qid, row.text("Question"), answers, True, "trivia", name))
        return out
    return [Question(str(row.optional("id", (str, int), f"{name}-{row.line}")), _unquote(row.text("question")),
                     row.answers("golden_answers", "answers", "answer"), True, "trivia", name)
            for row in _jsonl_rows(path)]


def _unquote(text: str) -> str:
    """Undo CSV quoting left in some TriviaQA exports: '"Who wrote ""X""?"' -> 'Who wrote "X"?'."""
    if len(text) > 1 and text[0] == text[-1] == '"' and '""' in text:
        return text[1:-1].replace('""', '"')
    return text


def _nq_open(path: Path, name: str) -> list[Question]:
    return [Question(str(row.optional("id", (str, int), f"{name}-{row.line}")), row.text("question"),
                     row.answers("answer", "answers", "golden_answers"), True, "open_domain", name)
            for row in _jsonl_rows(path)]


def _popqa(path: Path, name: str) -> list[Question]:
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = _jsonl_rows(path)
    else:
        rows = _csv_rows(path, ("question", "possible_answers"))
    out = []
    for row in rows:
        prop = row.data.get("prop")
        out.append(Question(str(row.data.get("id") or f"{name}-{row.line}"), row.text("question"),
                            row.answers("possible_answers", "golden_answers", "answers"), True,
                            f"popqa/{prop}" if isinstance(prop, str) and prop else "popqa", name,
                            row.data.get("subj") if isinstance(row.data.get("subj"), str) else None))
    return out


def _simpleqa(path: Path, name: str) -> list[Question]:
    out = []
    for row in _csv_rows(path, ("problem", "answer")):
        category = "simpleqa"
        meta = row.data.get("metadata") or ""
        try:
            topic = ast.literal_eval(meta).get("topic") if meta else None
        except (ValueError, SyntaxError, AttributeError):
            topic = None
        if isinstance(topic, str):
            category = f"simpleqa/{topic}"
        out.append(Question(f"{name}-{row.line}", row.text("problem"), (row.text("answer"),), True, category, name))
    return out


def _selfaware(path: Path, name: str) -> list[Question]:
    out = []
    for row in _json_list(path, "example"):
        answerable = row.optional("answerable", bool)
        if answerable is None:
            row.fail("answerable", "missing")
        answers = row.answers("answer", required=False) if answerable else ()
        qid = row.optional("question_id", (int, str), row.line)
        out.append(Question(f"{name}-{qid}", row.text("question"), answers, answerable,
                            "answerable" if answerable else "unanswerable", name))
    return out


def _unknownbench(path: Path, name: str) -> list[Question]:
    """NEC and RefuNQ: ``{prompt, label, category?}``; label 1 = invented entity / unanswerable."""
    out = []
    for row in _jsonl_rows(path):
        label = _label(row)
        answers = row.answers("answers", "answer", "golden_answers", required=False) if label == 0 else ()
        row.optional("category", str)  # NEC's topic (animals, food, ...): checked, not kept
        category = "fabricated" if label == 1 else "real_entity"
        qid = row.optional("id", (str, int), f"{name}-{path.stem}-{row.line}")
        out.append(Question(str(qid), row.text("prompt", "question"), answers, label == 0, category, name))
    return out


def _falseqa(path: Path, name: str) -> list[Question]:
    return [Question(f"{name}-{path.stem}-{row.line}", row.text("question"), (), _label(row) == 0,
                     "false_premise" if _label(row) == 1 else "valid_premise", name)
            for row in _csv_rows(path, ("question", "label"))]


def _forecastbench(path: Path, name: str) -> list[Question]:
    return [Question(str(row.optional("id", (str, int), f"{name}-{row.line}")), row.text("question"), (), False,
                     "future", name)
            for row in _json_list(path, "questions")]


def _halueval(path: Path, name: str) -> list[Question]:
    return [Question(str(row.optional("id", (str, int), f"{name}-{row.line}")), row.text("question"),
                     (row.text("right_answer"),), True, "halueval", name)
            for row in _jsonl_rows(path)]


def _truthfulqa(path: Path, name: str) -> list[Question]:
    out = []
    for row in _csv_rows(path, ("Question", "Best Answer")):
        answers = [row.text("Best Answer")]
        extra = row.data.get("Correct Answers") or ""
        answers += [a.strip() for a in extra.split(";") if a.strip()]
        category = row.data.get("Category") or ""
        out.append(Question(f"{name}-{row.line}", row.text("Question"), tuple(dict.fromkeys(answers)), True,
                            f"truthfulqa/{category}" if category else "truthfulqa", name))
    return out


LOADERS: dict[str, Callable[[Path, str], list[Question]]] = {
    "jsonl": _generic_jsonl,
    "triviaqa": _triviaqa,
    "nq_open": _nq_open,
    "nq": _nq_open,
    "popqa": _popqa,
    "simpleqa": _simpleqa,
    "selfaware": _selfaware,
    "nec": _unknownbench,
    "refunq": _unknownbench,
    "unknownbench": _unknownbench,
    "falseqa": _falseqa,
    "forecastbench": _forecastbench,
    "halueval": _halueval,
    "truthfulqa": _truthfulqa,
}
"""Format name → loader. Each reads ``PATH`` and tags questions with ``source=NAME``."""

_ACCEPTED = "builtin, builtin:SPLIT, wide, wide:SPLIT, hard, hard:SPLIT, hf:HUB_ID[:CONFIG][@SPLIT], or NAME:PATH with NAME in " + ", ".join(LOADERS)


def load_file(name: str, path: str | Path) -> list[Question]:
    """Load ``path`` in format ``name`` (a key of :data:`LOADERS`)."""
    if name not in LOADERS:
        raise NescioError(f"unknown question format {name!r}; accepted: {', '.join(LOADERS)}")
    path = Path(path).expanduser()
    questions = LOADERS[name](path, name)
    if not questions:
        raise NescioError(f"{path}: no questions found")
    return questions


# ---------------------------------------------------------------- hub


def _load_hub(ref: str) -> list[Question]:
    """``hf:HUB_ID[:CONFIG][@SPLIT]`` through ``datasets`` (network needed)."""
    try:
        import datasets
    except ImportError:
        raise NescioError("hf: question sets need the 'datasets' package: pip install 'nescio[hub]'") from None
    ref, _, split = ref.partition("@")
    hub_id, _, config = ref.partition(":")
    try:
        ds = datasets.load_dataset(hub_id, config or None, split=split or "validation")
    except Exception as exc:  # noqa: BLE001 - offline, unknown id, gated repo ...
        raise NescioError(f"could not load hub dataset {hub_id!r} ({type(exc).__name__}: {exc})") from None
    out = []
    for i, item in enumerate(ds):
        row = _Row(Path(f"hf:{hub_id}"), i + 1, dict(item), unit="row")
        text = row.text("question", "problem", "prompt", "Question")
        answers: tuple[str, ...] = ()
        raw = next((item[f] for f in ("answers", "answer", "golden_answers", "possible_answers", "right_answer",
                                      "best_answer") if f in item), None)
        if isinstance(raw, dict):
            if "text" in raw:  # SQuAD: {"text": [...], "answer_start": [...]}; empty text = unanswerable
                raw = raw["text"]
            else:  # trivia_qa: {"value", "aliases", ...}
                raw = [raw.get("value"), *(raw.get("aliases") or [])]
        if isinstance(raw, str):
            raw = _parse_list_string(raw)
        if isinstance(raw, list):
            answers = tuple(dict.fromkeys(str(a) for a in raw if a))
        answerable = bool(item.get("answerable", bool(answers)))
        qid = str(item.get("id") or item.get("question_id") or f"{hub_id}-{i + 1}")
        out.append(Question(qid, text, answers, answerable, "answerable" if answerable else "unanswerable",
                            f"hf:{hub_id}"))
    if not out:
        raise NescioError(f"hub dataset {hub_id!r} split {split or 'validation'!r} is empty")
    return out


# ---------------------------------------------------------------- entry point


def load_questions(spec: str) -> list[Question]:
    """Load a question set from a spec string (see the module docstring for the forms)."""
    from nescio.data.builtin import builtin_questions

    spec = str(spec).strip()
    if spec == "builtin":
        return builtin_questions()
    if spec.startswith("builtin:"):
        return builtin_questions(spec.split(":", 1)[1])
    if spec == "wide" or spec.startswith("wide:"):
        from nescio.data.wide import wide_questions

        return wide_questions(spec.split(":", 1)[1] if ":" in spec else None)
    if spec == "hard" or spec.startswith("hard:"):
        from nescio.data.hard import hard_questions

        return hard_questions(spec.split(":", 1)[1] if ":" in spec else None)
    if spec.startswith("hf:"):
        return _load_hub(spec[3:])
    name, sep, path = spec.partition(":")
    if not sep or not path:
        raise NescioError(f"unknown question set {spec!r}; accepted: {_ACCEPTED}")
    return load_file(name.lower(), path)
