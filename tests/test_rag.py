"""nescio.rag: corpus reading, the hybrid index, the relevance filter, the no-evidence policy,
retrieval-aware signals, the built-in corpus, `nescio index`."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest

from nescio.rag.corpus import Passage, chunk, read_corpus
from nescio.rag.filter import FEATURES, RelevanceFilter, holds_answer, sentences, training_data
from nescio.rag.index import Index
from nescio.rag.retrieve import attach_retrieval, split_no_evidence
from nescio.types import Generation, NescioError, Question, Retrieval, RetrievedPassage

CORPUS = [
    Passage("fr", "France", "The capital of France is Paris. France lies in Europe."),
    Passage("de", "Germany", "The capital of Germany is Berlin. The currency of Germany is the euro."),
    Passage("jp", "Japan", "The currency of Japan is the yen. Japan lies in Asia."),
    Passage("hp", "Hamlet", "Hamlet was written by William Shakespeare."),
    Passage("wl", "Water", "Water boils at 100 degrees Celsius at sea level."),
    Passage("nf", "North France", "The capital of North France is Lyon."),
    Passage("ng", "Upper Germany", "The capital of Upper Germany is Oslo."),
    Passage("nj", "New Japan", "The currency of New Japan is the peso."),
    Passage("nh", "Old Hamlet", "Old Hamlet was written by Jane Austen."),
]


class HashEmbedder:
    """A fast bag-of-words embedder for mechanics tests (the real MiniLM is used where it matters)."""

    name = "hash-bow-test"

    def encode(self, texts, *, progress=False):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace(".", " ").replace("?", " ").split():
                out[i, zlib.crc32(w.encode()) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _ranking(index, queries):
    return [[(h.passage.id, round(h.score, 12), round(h.cosine, 6)) for h in hits] for hits in index.search(queries, k=4)]


QUERIES = ["What is the capital of France?", "Who wrote Hamlet?", "What is the currency of Japan?", "boiling water"]


def test_index_round_trip_gives_identical_rankings(tmp_path):
    index = Index.build(CORPUS, progress=False)  # the real MiniLM embedder
    before = _ranking(index, QUERIES)
    assert before[0][0][0] == "fr" and before[1][0][0] == "hp" and before[2][0][0] == "jp"
    index.save(tmp_path / "idx")
    assert not list((tmp_path / "idx").glob("*.pkl"))
    loaded = Index.load(tmp_path / "idx")
    assert _ranking(loaded, QUERIES) == before


def test_loaded_index_is_cached_by_its_checksum_so_a_rebuild_at_the_same_path_is_picked_up(tmp_path, monkeypatch):
    import shutil

    import nescio.rag.index as index_mod
    from nescio.rag.answer import _load_index  # what --rag (ask, eval, serve) loads through

    monkeypatch.setattr(index_mod, "default_embedder", lambda: HashEmbedder())
    d = tmp_path / "idx"
    Index.build(CORPUS[:3], progress=False).save(d)
    first = _load_index(str(d))
    assert [p.id for p in first.passages] == ["fr", "de", "jp"]
    assert _load_index(str(d)) is first  # unchanged: kept loaded
    before = index_mod.index_checksum(d)
    shutil.rmtree(d)  # rebuilt with other passages at the same path
    Index.build(CORPUS[3:5], progress=False).save(d)
    assert index_mod.index_checksum(d) != before
    again = _load_index(str(d))
    assert again is not first and [p.id for p in again.passages] == ["hp", "wl"]
    assert again.search(["Who wrote Hamlet?"], k=1)[0][0].passage.id == "hp"
    assert _load_index(str(d)) is again
    assert len(index_mod._LOADED) <= index_mod.LOADED_INDEXES
    with pytest.raises(NescioError, match="is not an index directory"):
        _load_index(str(tmp_path / "missing"))


def test_incremental_add_matches_a_full_build(tmp_path):
    full = Index.build(CORPUS, embedder=HashEmbedder(), progress=False)
    part = Index.build(CORPUS[:3], embedder=HashEmbedder(), progress=False)
    part.save(tmp_path / "idx")
    grown = Index.load(tmp_path / "idx", embedder=HashEmbedder()).add(CORPUS[3:] + CORPUS[:1], progress=False)
    assert len(grown) == len(CORPUS)
    assert _ranking(grown, QUERIES) == _ranking(full, QUERIES)
    with pytest.raises(NescioError, match="already in the index with another text"):
        grown.add([Passage("fr", "France", "Something else.")], progress=False)


def test_index_for_another_embedder_or_format_version_is_refused(tmp_path):
    Index.build(CORPUS, embedder=HashEmbedder(), progress=False).save(tmp_path / "idx")
    with pytest.raises(NescioError, match="embedder 'hash-bow-test'"):
        Index.load(tmp_path / "idx")  # default embedder: MiniLM
    meta_path = tmp_path / "idx" / "index.json"
    meta = json.loads(meta_path.read_text())
    meta["schema_version"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(NescioError, match="schema version 99"):
        Index.load(tmp_path / "idx", embedder=HashEmbedder())


def test_changed_passages_file_is_refused(tmp_path):
    Index.build(CORPUS, embedder=HashEmbedder(), progress=False).save(tmp_path / "idx")
    p = tmp_path / "idx" / "passages.jsonl"
    p.write_text(p.read_text().replace("Paris", "Lyon"))
    with pytest.raises(NescioError, match="changed since the index was saved"):
        Index.load(tmp_path / "idx", embedder=HashEmbedder())


# ---------------------------------------------------------------- corpus files


def test_corpus_directory_and_jsonl(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "paris.md").write_text("# Paris\n\nParis is the capital of France.", encoding="utf-8")
    (tmp_path / "docs" / "notes.txt").write_text("Berlin is in Germany.", encoding="utf-8")
    (tmp_path / "docs" / "more.jsonl").write_text('{"id": "a", "title": "T", "text": "Some text."}\n\n', encoding="utf-8")
    passages = read_corpus(tmp_path / "docs")
    assert {p.id for p in passages} == {"paris.md", "notes.txt", "a"}
    assert {p.title for p in passages} >= {"Paris", "notes"}


def test_non_utf8_file_error_names_file_and_line(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"first line\nsecond line\ncaf\xe9 au lait\n")
    with pytest.raises(NescioError, match=r"bad\.txt, line 3: not UTF-8"):
        read_corpus(f)


def test_bad_jsonl_error_names_file_and_line(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"id": "1", "text": "ok"}\n{"id": "2", "text": \n', encoding="utf-8")
    with pytest.raises(NescioError, match=r"p\.jsonl, line 2: bad JSON .*; accepted: "):
        read_corpus(f)
    f.write_text('{"id": "1", "text": "ok"}\n["a list"]\n', encoding="utf-8")
    with pytest.raises(NescioError, match=r"p\.jsonl, line 2: expected an object"):
        read_corpus(f)


def test_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NescioError, match="no .txt, .md or .jsonl files"):
        read_corpus(tmp_path / "empty")
    (tmp_path / "empty" / "blank.txt").write_text("   \n", encoding="utf-8")
    with pytest.raises(NescioError, match="the corpus is empty"):
        read_corpus(tmp_path / "empty")


def test_chunking_covers_the_document_with_overlap():
    words = [f"w{i}." for i in range(300)]
    pieces = chunk(Passage("d", "D", " ".join(words)), max_words=50, overlap=10)
    assert len(pieces) > 5 and all(len(p.text.split()) <= 61 for p in pieces)
    seen = set(" ".join(p.text for p in pieces).split())
    assert seen == set(words)
    assert pieces[1].text.split()[0] in pieces[0].text.split()  # neighbours overlap


# ---------------------------------------------------------------- filter and policy


@pytest.fixture(scope="module")
def fitted_filter():
    """The filter fitted on crafted retrievals (hash embedder: fast): evidence = holds the answer."""
    index = Index.build(CORPUS, embedder=HashEmbedder(), progress=False)
    qa = [("What is the capital of France?", ("Paris",)), ("What is the capital of Germany?", ("Berlin",)),
          ("What is the currency of Japan?", ("yen",)), ("Who wrote Hamlet?", ("William Shakespeare",)),
          ("At what temperature does water boil?", ("100",)), ("What is the currency of Germany?", ("euro",)),
          ("On which continent is Japan?", ("Asia",)), ("On which continent is France?", ("Europe",))]
    X, y, groups = training_data(index, [Question(f"t{i}", q, a) for i, (q, a) in enumerate(qa)], k=4)
    return index, RelevanceFilter(precision=0.8).fit(X, y, X, y, groups)


def test_filter_keeps_the_passage_with_the_answer_and_drops_the_one_without(fitted_filter):
    index, filt = fitted_filter
    q = attach_retrieval(index, [Question("q", "What is the capital of France?", ("Paris",))], k=4,
                         relevance_filter=filt)[0]
    by_id = {p.id: p for p in q.retrieval.passages}  # candidate sentences: "<passage id>#<sentence>"
    assert [p.id for p in q.retrieval.kept] == ["fr#0"] and by_id["fr#0"].text == "The capital of France is Paris."
    assert not by_id["fr#1"].kept  # "France lies in Europe.": the right entity, not the answer
    assert "nf#0" in by_id and not by_id["nf#0"].kept  # the lookalike "North France" passage, no answer
    assert by_id["fr#0"].relevance > max(by_id["nf#0"].relevance, by_id["fr#1"].relevance)
    rel = [p.relevance for p in q.retrieval.passages]
    assert rel == sorted(rel, reverse=True)  # most probable evidence first


def test_sentences_split_at_sentence_ends_only():
    assert sentences("The capital of France is Paris. France lies in Europe.") == [
        "The capital of France is Paris.", "France lies in Europe."]
    assert sentences("Who wrote Emma? Jane Austen.") == ["Who wrote Emma? Jane Austen."]
    assert sentences("The U.S. Army was founded in 1775. It grew.") == ["The U.S. Army was founded in 1775.", "It grew."]


def test_filter_round_trip(fitted_filter, tmp_path):
    _, filt = fitted_filter
    filt.save(tmp_path / "f")
    again = RelevanceFilter.load(tmp_path / "f")
    assert again.max_kept == filt.max_kept and again.calibration_ == filt.calibration_
    X = np.random.default_rng(0).random((5, len(FEATURES)))
    assert np.array_equal(again.predict_proba(X), filt.predict_proba(X)) and again.threshold_ == filt.threshold_


def test_default_filter_is_loaded_once_per_process(fitted_filter, tmp_path, monkeypatch):
    import nescio.rag.filter as filt_mod
    import nescio.rag.index as index_mod

    _, fitted = fitted_filter
    monkeypatch.setenv("NESCIO_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(index_mod, "default_embedder", lambda: HashEmbedder())
    counts = {"fit": 0, "load": 0}
    real_load = RelevanceFilter.load.__func__

    def fit(**kw):
        counts["fit"] += 1
        return fitted

    def load(cls, d):
        counts["load"] += 1
        return real_load(cls, d)

    monkeypatch.setattr(filt_mod, "fit_builtin_filter", fit)
    monkeypatch.setattr(RelevanceFilter, "load", classmethod(load))
    filt_mod._filter_in.cache_clear()
    try:
        first = filt_mod.default_filter()
        assert first is filt_mod.default_filter() is fitted and counts == {"fit": 1, "load": 0}
        filt_mod._filter_in.cache_clear()  # a new process: the saved filter is read, once
        again = filt_mod.default_filter()
        assert again is filt_mod.default_filter() and again is not fitted and counts == {"fit": 1, "load": 1}
        assert again.threshold_ == fitted.threshold_
    finally:
        filt_mod._filter_in.cache_clear()


def test_empty_filtered_set_follows_the_policy(fitted_filter, tiny):
    index, filt = fitted_filter
    strict = RelevanceFilter(degree=filt.degree)
    strict.coef_, strict.intercept_, strict.threshold_ = filt.coef_, filt.intercept_, 1.01  # keeps nothing
    strict.mean_, strict.scale_ = filt.mean_, filt.scale_
    q = Question("q", "Who painted the Mona Lisa?", ("Leonardo da Vinci",))
    abstain = attach_retrieval(index, [q], relevance_filter=strict, no_evidence="abstain")
    todo, skipped = split_no_evidence(abstain)
    assert todo == [] and [s.id for s in skipped] == ["q"]
    closed = attach_retrieval(index, [q], relevance_filter=strict, no_evidence="closed_book")
    todo, skipped = split_no_evidence(closed)
    assert skipped == [] and tiny.format_prompt(todo[0]) == tiny.format_prompt(q.text)
    kept = attach_retrieval(index, [q], relevance_filter=None)[0]  # naive: all k passages enter the prompt
    prompt = tiny.format_prompt(kept)
    assert all(p.text in prompt for p in kept.retrieval.passages) and "I don't know" in prompt
    with pytest.raises(NescioError, match="no-evidence policy"):
        attach_retrieval(index, [q], no_evidence="guess")


# ---------------------------------------------------------------- signals


def _gen(answer: str, passages, *, lp=(-0.5, -0.5), without=None, question="What is the capital of France?"):
    retrieval = Retrieval(tuple(passages), answer_logprob_without_passages=without)
    q = Question("q", question, ("Paris",), retrieval=retrieval)
    n = len(lp)
    return Generation(q, "prompt", answer, tuple(range(n)), tuple(lp), (0.1,) * n, ((0,),) * n, ((0.0,),) * n)


GOOD = RetrievedPassage("fr", "The capital of France is Paris.", "France", 0.03, 0.95, True)
WEAK = RetrievedPassage("nf", "The capital of North France is Lyon.", "North France", 0.02, 0.40, True)
LOW = RetrievedPassage("jp", "Japan lies in Asia.", "Japan", 0.01, 0.05, False)


def test_rag_signals_are_oriented_higher_is_riskier():
    from nescio.signals.registry import compute_signals

    safe = _gen("Paris", [GOOD, LOW], lp=(-0.1, -0.1), without=-3.0)
    risky = _gen("Marseille", [WEAK, GOOD.__class__(**{**GOOD.__dict__, "relevance": 0.35}), LOW], lp=(-1.0, -1.0), without=-1.5)
    none = _gen("Madrid", [RetrievedPassage("jp", "Japan lies in Asia.", "Japan", 0.01, 0.05, False)], without=-1.0)
    names = ["rag_top_relevance", "rag_relevance_margin", "rag_passages_kept", "rag_support_lexical",
             "rag_support_embedding", "rag_context_reliance"]
    two = _gen("Paris", [GOOD, RetrievedPassage("p2", "Paris is the largest city of France.", "Paris", 0.02, 0.9, True)])
    t = compute_signals([safe, risky, none, two], names)
    for n in names:
        if n != "rag_passages_kept":
            v = t.values[n]
            assert v[0] < v[1], n  # the supported, well-retrieved answer is the safer one
    kept = t.values["rag_passages_kept"]
    assert kept[2] == 1.0 and kept[3] < kept[0] < kept[2]  # fewer passages of evidence: riskier
    assert t.values["rag_support_lexical"][2] == 1.0
    assert t.costs["rag_context_reliance"] == 1.0 and t.costs["rag_support_lexical"] == 0.0
    plain = Generation(Question("p", "Q?"), "p", "A", (1,), (-0.1,), (0.1,), ((0,),), ((0.0,),))
    assert all(math.isnan(compute_signals([plain], [n]).values[n][0]) for n in names)  # no retrieval: missing


def test_context_reliance_scores_the_answer_without_passages(tiny):
    from nescio.models import generate
    from nescio.rag.signals import score_context_reliance
    from nescio.types import GenerationConfig

    index = Index.build(CORPUS, embedder=HashEmbedder(), progress=False)
    q = attach_retrieval(index, [Question("q", "What is the capital of France?", ("Paris",))], k=2)[0]
    g = generate(tiny, [q], GenerationConfig(max_new_tokens=4), progress=False)[0]
    assert "Passages:" in g.prompt
    scored = score_context_reliance(tiny, [g])[0]
    without = scored.question.retrieval.answer_logprob_without_passages
    assert without is not None and without < 0 and without != pytest.approx(sum(g.token_logprobs))


def test_generations_with_retrieval_save_and_load(tiny, tmp_path):
    from nescio.models import generate, load_generations, save_generations
    from nescio.types import GenerationConfig

    index = Index.build(CORPUS, embedder=HashEmbedder(), progress=False)
    q = attach_retrieval(index, [Question("q", "Who wrote Hamlet?", ("William Shakespeare",))], k=2)[0]
    config = GenerationConfig(max_new_tokens=3)
    gens = generate(tiny, [q], config, progress=False)
    save_generations(tmp_path / "g", gens, tiny.run_info(config))
    loaded, _ = load_generations(tmp_path / "g")
    assert loaded[0].question.retrieval == gens[0].question.retrieval


# ---------------------------------------------------------------- built-in corpus


def test_builtin_corpus_has_gaps_and_distractors():
    from nescio.data import builtin_questions
    from nescio.rag.builtin import builtin_corpus, corpus_group, extra_distractors, facts

    corpus = builtin_corpus()
    text = " ".join(p.text for p in corpus)
    qs = builtin_questions()
    groups = [corpus_group(q) for q in qs]
    assert {"in_corpus", "gap", "unanswerable"} == set(groups)
    by_q = {f.question: f for f in facts()}
    for q, g in zip(qs, groups):
        if g == "in_corpus":  # its fact sentence is in the corpus
            assert by_q[q.text].answer in text
    assert any(p.id.startswith("lookalike-") for p in corpus) and any(p.id.startswith("compare-") for p in corpus)
    gap = next(q for q, g in zip(qs, groups) if g == "gap" and q.entity)
    extra = extra_distractors([gap], 5)
    assert len(extra) == 5 and not any(holds_answer(p.text, gap.answers) and gap.entity in p.text
                                       and p.title.lower() == gap.entity.lower() for p in extra)


# ---------------------------------------------------------------- CLI


def test_cli_index_builds_adds_and_reports_bad_files(tmp_path):
    from typer.testing import CliRunner

    from nescio.cli import app

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("Paris is the capital of France.", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["index", str(tmp_path / "c"), "--out", str(tmp_path / "idx")])
    assert r.exit_code == 0, r.output
    assert "1 passages added" in r.output
    r = runner.invoke(app, ["index", str(tmp_path / "c"), "--out", str(tmp_path / "idx")])
    assert isinstance(r.exception, NescioError) and "--add" in str(r.exception)
    (tmp_path / "c" / "b.md").write_text("# Berlin\nBerlin is the capital of Germany.", encoding="utf-8")
    r = runner.invoke(app, ["index", str(tmp_path / "c"), "--out", str(tmp_path / "idx"), "--add"])
    assert r.exit_code == 0 and "1 passages added (2 in the index)" in r.output
    (tmp_path / "bad.jsonl").write_text("{not json}\n", encoding="utf-8")
    r = runner.invoke(app, ["index", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "idx2")])
    assert isinstance(r.exception, NescioError) and "bad.jsonl, line 1: bad JSON" in str(r.exception)


def test_rag_modules_import_first_without_a_cycle():
    import subprocess
    import sys

    for mod in ("nescio.rag.signals", "nescio.rag.answer", "nescio.signals.retrieval"):
        code = f"import {mod}; from nescio.signals import list_signals; assert 'rag_support_lexical' in list_signals()"
        subprocess.run([sys.executable, "-c", code], check=True)


def test_support_rule_abstains_when_the_answer_is_not_in_the_evidence():
    from nescio.rag.answer import unsupported
    from nescio.signals.retrieval import answer_in_evidence

    assert not unsupported(_gen("Paris", [GOOD]))
    assert not unsupported(_gen("The answer is: Paris, France.", [GOOD]))  # preamble and question words skipped
    assert unsupported(_gen("Lyon", [GOOD]))  # not what the kept evidence says
    assert unsupported(_gen("Lyon", [GOOD, LOW]))  # LOW is not kept: it does not count
    assert not unsupported(_gen("I don't know.", [GOOD]))  # the model's own abstention is not judged
    assert not unsupported(_gen("Lyon", [LOW]))  # nothing kept: a closed-book answer is not judged
    legs = RetrievedPassage("sp", "A spider has 8 legs.", "Spider", 0.03, 0.9, True)
    assert answer_in_evidence(_gen("eight", [legs], question="How many legs does a spider have?"))
    assert not answer_in_evidence(_gen("six", [legs], question="How many legs does a spider have?"))


def test_evidence_sentence_shows_its_title_only_when_it_does_not_name_it():
    from nescio.rag.filter import candidates
    from nescio.rag.index import Hit

    hit = Hit(Passage("p", "Acme Corp", "Acme Corp was founded in 1900. It makes anvils."), 0.1, 1.0, 1.0, 0.5)
    first, second = candidates([hit])
    assert first.shown_title == "" and second.shown_title == "Acme Corp"
    assert sentences("Who composed Symphony No. 9? Beethoven.") == ["Who composed Symphony No. 9? Beethoven."]
