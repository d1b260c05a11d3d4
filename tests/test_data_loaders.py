"""Loaders: each public format from a small sample the test writes; malformed files fail by name."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nescio.data import LOADERS, load_questions
from nescio.types import NescioError


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _csv(path: Path, header: list[str], rows: list[list], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_generic_jsonl(tmp_path):
    p = _jsonl(tmp_path / "q.jsonl", [
        {"question": "What is 2+2?", "answers": ["4", "four"], "id": "a"},
        {"question": "Who will win in 2090?", "answers": None, "category": "future"},
        {"question": "Is it?", "answers": [], "answerable": True},
    ])
    qs = load_questions(f"jsonl:{p}")
    assert [q.id for q in qs] == ["a", "jsonl-2", "jsonl-3"]
    assert qs[0].answers == ("4", "four") and qs[0].answerable and qs[0].source == "jsonl"
    assert not qs[1].answerable and qs[1].category == "future"
    assert qs[2].answerable and qs[2].answers == ()


def test_triviaqa_flashrag_and_rc(tmp_path):
    p = _jsonl(tmp_path / "t.jsonl", [{"id": "tq1", "question": '"Who wrote ""Emma""?"',
                                      "golden_answers": ["Jane Austen", "Austen"]}])
    q = load_questions(f"triviaqa:{p}")[0]
    assert q.text == 'Who wrote "Emma"?' and q.answers == ("Jane Austen", "Austen") and q.category == "trivia"
    rc = tmp_path / "rc.json"
    rc.write_text(json.dumps({"Data": [{"Question": "Capital of France?", "QuestionId": "qf1",
                                        "Answer": {"Value": "Paris", "Aliases": ["Paris", "Paree"]}}]}))
    q = load_questions(f"triviaqa:{rc}")[0]
    assert (q.id, q.answers) == ("qf1", ("Paris", "Paree"))


def test_nq_open(tmp_path):
    p = _jsonl(tmp_path / "nq.jsonl", [{"question": "who wrote hamlet", "answer": ["Shakespeare"]}])
    q = load_questions(f"nq_open:{p}")[0]
    assert q.answers == ("Shakespeare",) and q.answerable


def test_popqa_tsv_csv_and_jsonl(tmp_path):
    header = ["id", "subj", "prop", "obj", "question", "possible_answers"]
    row = ["7", "Lyon", "country", "France", "In what country is Lyon?", '["France", "French Republic"]']
    for suffix, delim in ((".tsv", "\t"), (".csv", ",")):
        q = load_questions(f"popqa:{_csv(tmp_path / ('p' + suffix), header, [row], delim)}")[0]
        assert q.answers == ("France", "French Republic") and q.category == "popqa/country" and q.entity == "Lyon"
    p = _jsonl(tmp_path / "p.jsonl", [{"id": "1", "question": "Q?", "golden_answers": ["A"]}])
    assert load_questions(f"popqa:{p}")[0].answers == ("A",)


def test_simpleqa(tmp_path):
    p = _csv(tmp_path / "s.csv", ["metadata", "problem", "answer"],
             [["{'topic': 'Science', 'answer_type': 'Person'}", "Who discovered X?", "Ada"]])
    q = load_questions(f"simpleqa:{p}")[0]
    assert q.answers == ("Ada",) and q.category == "simpleqa/Science"


def test_selfaware(tmp_path):
    p = tmp_path / "sa.json"
    p.write_text(json.dumps({"example": [
        {"question_id": 1, "question": "Q1?", "answer": ["a"], "answerable": True, "source": "squad"},
        {"question_id": 2, "question": "Q2?", "answer": None, "answerable": False, "source": "SelfAware"},
    ]}))
    a, b = load_questions(f"selfaware:{p}")
    assert a.answerable and a.answers == ("a",) and a.category == "answerable"
    assert not b.answerable and b.answers == () and b.category == "unanswerable"


def test_nec_and_refunq(tmp_path):
    p = _jsonl(tmp_path / "nec.jsonl", [{"prompt": "What is Leogoteo?", "label": 1, "category": "animals"},
                                        {"prompt": "What is a parrot?", "label": 0, "category": "animals"}])
    a, b = load_questions(f"nec:{p}")
    assert (a.category, a.answerable) == ("fabricated", False)
    assert (b.category, b.answerable) == ("real_entity", True)
    r = _jsonl(tmp_path / "refunq.jsonl", [{"prompt": "Who founded Zorblat Inc?", "label": 1}])
    assert load_questions(f"refunq:{r}")[0].category == "fabricated"


def test_falseqa(tmp_path):
    p = _csv(tmp_path / "f.csv", ["question", "answer", "label"],
             [["Why do men breastfeed?", "['Men do not.']", "1"], ["Why is the sky blue?", "Rayleigh", "0"]])
    a, b = load_questions(f"falseqa:{p}")
    assert (a.category, a.answerable) == ("false_premise", False)
    assert (b.category, b.answerable) == ("valid_premise", True)


def test_forecastbench(tmp_path):
    p = tmp_path / "fb.json"
    p.write_text(json.dumps({"forecast_due_date": "2026-08-16", "questions": [
        {"id": "x1", "source": "manifold", "question": "Will it rain on Mars by 2040?"}]}))
    q = load_questions(f"forecastbench:{p}")[0]
    assert (q.id, q.category, q.answerable) == ("x1", "future", False)


def test_halueval(tmp_path):
    p = _jsonl(tmp_path / "h.jsonl", [{"knowledge": "k", "question": "Q?", "right_answer": "R",
                                      "hallucinated_answer": "H"}])
    assert load_questions(f"halueval:{p}")[0].answers == ("R",)


def test_truthfulqa(tmp_path):
    p = _csv(tmp_path / "t.csv", ["Type", "Category", "Question", "Best Answer", "Correct Answers",
                                  "Incorrect Answers", "Source"],
             [["Adversarial", "Misconceptions", "What happens if you crack your knuckles?",
               "Nothing in particular happens", "Nothing happens; Nothing in particular happens", "Arthritis", "u"]])
    q = load_questions(f"truthfulqa:{p}")[0]
    assert q.answers == ("Nothing in particular happens", "Nothing happens")
    assert q.category == "truthfulqa/Misconceptions"


# ---------------------------------------------------------------- malformed input


def test_missing_field_names_file_line_field(tmp_path):
    p = _jsonl(tmp_path / "bad.jsonl", [{"question": "ok?", "answers": ["a"]}, {"answers": ["b"]}])
    with pytest.raises(NescioError, match=r"bad\.jsonl, line 2: field 'question': missing"):
        load_questions(f"jsonl:{p}")


def test_bad_json_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"question": "ok?"}\n{"question": \n')
    with pytest.raises(NescioError, match=r"bad\.jsonl, line 2: bad JSON"):
        load_questions(f"jsonl:{p}")


def test_question_file_not_utf8_names_the_line_and_crlf_reads(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"question": "ok?"}\r\n{"question": "caf\xe9?"}\r\n')
    with pytest.raises(NescioError, match=r"bad\.jsonl, line 2: not UTF-8 \(byte 0xe9\)"):
        load_questions(f"jsonl:{p}")
    p.write_bytes(b'{"question": "ok?"}\r\n\r\n{"question": "caf\xc3\xa9?"}\r\n')
    qs = load_questions(f"jsonl:{p}")
    assert [q.text for q in qs] == ["ok?", "caf\u00e9?"] and qs[1].id.endswith("-3")


def test_wrong_type(tmp_path):
    p = _jsonl(tmp_path / "bad.jsonl", [{"question": "ok?", "answers": "a", "answerable": "yes"}])
    with pytest.raises(NescioError, match=r"line 1: field 'answerable': expected bool, got str"):
        load_questions(f"jsonl:{p}")
    p = _jsonl(tmp_path / "bad2.jsonl", [{"question": 3}])
    with pytest.raises(NescioError, match=r"field 'question': expected a string, got int"):
        load_questions(f"jsonl:{p}")
    p = _jsonl(tmp_path / "bad3.jsonl", [{"question": "q", "answers": [["nested"]]}])
    with pytest.raises(NescioError, match=r"field 'answers': expected a list of strings"):
        load_questions(f"jsonl:{p}")
    p = _jsonl(tmp_path / "bad4.jsonl", [["not", "an", "object"]])
    with pytest.raises(NescioError, match=r"line 1: expected a JSON object"):
        load_questions(f"jsonl:{p}")


def test_bad_label_and_missing_csv_column(tmp_path):
    p = _jsonl(tmp_path / "nec.jsonl", [{"prompt": "Q?", "label": 3}])
    with pytest.raises(NescioError, match=r"line 1: field 'label': expected 0 or 1"):
        load_questions(f"nec:{p}")
    c = _csv(tmp_path / "f.csv", ["question", "answer"], [["Q?", "A"]])
    with pytest.raises(NescioError, match=r"f\.csv, line 1: column 'label' missing"):
        load_questions(f"falseqa:{c}")


def test_bad_json_document_and_structure(tmp_path):
    p = tmp_path / "sa.json"
    p.write_text('{"example": [')
    with pytest.raises(NescioError, match=r"sa\.json, line 1: bad JSON"):
        load_questions(f"selfaware:{p}")
    p.write_text(json.dumps({"example": [{"question": "Q?", "answer": None}]}))
    with pytest.raises(NescioError, match=r"example item 1: field 'answerable': missing"):
        load_questions(f"selfaware:{p}")
    p.write_text(json.dumps({"rows": []}))
    with pytest.raises(NescioError, match=r"field 'example' missing"):
        load_questions(f"selfaware:{p}")


def test_empty_and_missing_files(tmp_path):
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    with pytest.raises(NescioError, match="file is empty"):
        load_questions(f"jsonl:{p}")
    p.write_text("\n\n")
    with pytest.raises(NescioError, match="no questions found"):
        load_questions(f"jsonl:{p}")
    with pytest.raises(NescioError, match="not found"):
        load_questions(f"triviaqa:{tmp_path / 'nope.jsonl'}")


def test_unknown_spec_lists_accepted():
    with pytest.raises(NescioError, match="accepted: .*triviaqa"):
        load_questions("nosuchformat:/tmp/x")
    with pytest.raises(NescioError, match="accepted"):
        load_questions("just-a-name")
    assert {"triviaqa", "nq_open", "popqa", "simpleqa", "selfaware", "nec", "refunq", "falseqa",
            "forecastbench", "halueval", "truthfulqa", "jsonl"} <= set(LOADERS)


def test_hub_without_datasets_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(NescioError, match="pip install 'nescio\\[hub\\]'"):
        load_questions("hf:mandarjoshi/trivia_qa:rc.nocontext@validation")


def test_hub_answer_shapes(monkeypatch):
    """hf: rows with SQuAD-style, TriviaQA-style, list and string answers (datasets faked offline)."""
    import sys
    import types

    rows = [
        {"id": "s1", "question": "Where is the Eiffel Tower?", "answers": {"text": ["Paris", "Paris, France"], "answer_start": [0, 0]}},
        {"id": "s2", "question": "What did the unicorn eat?", "answers": {"text": [], "answer_start": []}},
        {"id": "t1", "question": "Capital of Italy?", "answer": {"value": "Rome", "aliases": ["Roma"]}},
        {"id": "l1", "question": "Two plus two?", "answers": ["4", "four"]},
        {"id": "p1", "question": "Colour of the sky?", "answer": "blue"},
    ]
    fake = types.ModuleType("datasets")
    fake.load_dataset = lambda hub_id, config, split: rows
    monkeypatch.setitem(sys.modules, "datasets", fake)
    qs = {q.id: q for q in load_questions("hf:rajpurkar/squad_v2@validation")}
    assert qs["s1"].answers == ("Paris", "Paris, France") and qs["s1"].answerable
    assert qs["s2"].answers == () and not qs["s2"].answerable
    assert qs["t1"].answers == ("Rome", "Roma") and qs["t1"].answerable
    assert qs["l1"].answers == ("4", "four") and qs["p1"].answers == ("blue",)
