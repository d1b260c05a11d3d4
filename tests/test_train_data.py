"""The SFT data builder: each target type on crafted graded outcomes, the dataset file, bad input."""

from __future__ import annotations

import pytest

from nescio.grading import grade
from nescio.policy.scoring import ABSTAIN_TEXT
from nescio.train.data import (
    UNANSWERABLE_TARGETS,
    TargetType,
    assign_target,
    check_trainable,
    examples_from_generations,
    read_dataset,
    write_dataset,
)
from nescio.types import Generation, NescioError, Outcome, Question, Sample

PARIS = Question(id="fr", text="What is the capital of France?", answers=("Paris",), category="fact/geography")


def test_known_keeps_the_models_own_words():
    t = assign_target(PARIS, "The capital is Paris.", ["Paris", "Paris", "Paris", "Lyon", "Paris"])
    assert t.target_type is TargetType.KNOWN and t.target == "The capital is Paris."
    assert "4/5 samples correct" in t.reason


def test_greedy_correct_but_samples_split_is_uncertain():
    t = assign_target(PARIS, "Paris", ["Lyon", "Paris", "Nice", "Lyon", "Marseille"])
    assert t.target_type is TargetType.UNCERTAIN and t.target == "I'm not sure, but it may be: Paris."
    assert "samples split" in t.reason


def test_greedy_wrong_with_a_correct_sample_is_uncertain_with_the_most_frequent_correct_sample():
    t = assign_target(PARIS, "Lyon", ["Lyon", "It is Paris", "Nice", "paris", "Paris."])
    assert t.target_type is TargetType.UNCERTAIN
    assert t.target in ("I'm not sure, but it may be: paris.", "I'm not sure, but it may be: Paris.")
    g = grade(PARIS, t.target)
    assert g.outcome is Outcome.CORRECT and g.hedged
    assert "greedy hallucinated, 3/5" in t.reason


def test_uncertain_min_correct_threshold():
    t = assign_target(PARIS, "Lyon", ["Lyon", "Paris", "Nice", "Nice", "Nice"], uncertain_min_correct=2)
    assert t.target_type is TargetType.UNKNOWN


def test_no_correct_answer_is_unknown():
    t = assign_target(PARIS, "Lyon", ["Nice", "Lyon", "I don't know", "Marseille", "Lille"])
    assert t.target_type is TargetType.UNKNOWN and t.target == ABSTAIN_TEXT == "I don't know."
    assert grade(PARIS, t.target).outcome is Outcome.ABSTAINED


@pytest.mark.parametrize("category", ["future", "fabricated", "random_fact", "false_premise", "selfaware"])
def test_unanswerable_gets_a_refusal_with_a_category_reason(category):
    q = Question(id="u", text="Who will be the president of Peru in 2080?", answerable=False, category=category)
    t = assign_target(q, "Pedro Castillo", ["A", "B", "C", "D", "E"])
    assert t.target_type is TargetType.UNANSWERABLE
    assert t.target == UNANSWERABLE_TARGETS.get(category, ABSTAIN_TEXT)
    assert grade(q, t.target).outcome is Outcome.ABSTAINED


def test_answerable_without_gold_is_skipped():
    q = Question(id="nec", text="Who is Barack Obama?", answerable=True, category="nec/real")
    assert assign_target(q, "A president", ["x"] * 5) is None


def _gen(q, text, samples):
    return Generation(question=q, prompt="", text=text, token_ids=(), token_logprobs=(), token_entropies=(),
                      top_k_ids=(), top_k_logprobs=(), samples=tuple(Sample(s, (), ()) for s in samples))


def test_examples_record_evidence_and_dataset_roundtrip(tmp_path):
    fut = Question(id="fut", text="Who will win in 2090?", answerable=False, category="future")
    nec = Question(id="nec", text="Who is X?", answerable=True)
    gens = [_gen(PARIS, "Paris", ["Paris"] * 5), _gen(fut, "Bob", ["Bob"] * 5), _gen(nec, "A man", ["A"] * 5)]
    examples, skipped = examples_from_generations(gens)
    assert skipped == 1 and [e.target_type for e in examples] == [TargetType.KNOWN, TargetType.UNANSWERABLE]
    assert examples[0].greedy_outcome is Outcome.CORRECT and examples[0].samples_correct == 5
    write_dataset(tmp_path / "d", examples, {"model_id": "m"})
    again, meta = read_dataset(tmp_path / "d")
    assert again == examples and meta["counts"] == {"known": 1, "uncertain": 0, "unknown": 0, "unanswerable": 1}


def test_all_one_class_and_empty_are_refused(tmp_path):
    fut = Question(id="fut", text="Who will win in 2090?", answerable=False, category="future")
    examples, _ = examples_from_generations([_gen(fut, "Bob", ["Bob"]), _gen(fut, "Al", ["Al"])])
    with pytest.raises(NescioError, match="only one kind of target \\(2 'unanswerable' examples\\)"):
        check_trainable(examples)
    with pytest.raises(NescioError, match="no trainable examples"):
        check_trainable([])
    with pytest.raises(NescioError, match="sft.jsonl missing"):
        read_dataset(tmp_path)
    (tmp_path / "sft.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(NescioError, match="line 1: not an SFT example"):
        read_dataset(tmp_path)


def test_build_sft_data_on_tiny_model_resumes(tiny, tmp_path):
    from nescio.train.data import build_sft_data

    qs = [Question(id=f"f{i}", text=f"What is item {i}?", answers=("zzzz",), category="fact/x") for i in range(6)]
    qs += [Question(id=f"u{i}", text=f"Who will win in 209{i}?", answerable=False, category="future") for i in range(4)]
    examples, meta = build_sft_data(tiny, qs, tmp_path / "d", n_samples=2, max_new_tokens=4, progress=False)
    assert meta["counts"] == {"known": 0, "uncertain": 0, "unknown": 6, "unanswerable": 4}
    assert meta["model_id"] == tiny.model_id
    again, _ = build_sft_data(tiny, qs, tmp_path / "d", n_samples=2, max_new_tokens=4, progress=False)
    assert again == examples  # from the store, no regeneration needed
    with pytest.raises(NescioError, match="--samples must be at least 1"):
        build_sft_data(tiny, qs, tmp_path / "e", n_samples=0)


def test_known_min_share_zero_is_r_tunings_rule_greedy_correctness_alone():
    samples = ["Lyon", "Nice", "Lyon", "Marseille", "Lyon"]  # no sample right
    assert assign_target(PARIS, "Paris", samples).target_type is TargetType.UNCERTAIN
    assert assign_target(PARIS, "Paris", samples, known_min_share=0.0).target_type is TargetType.KNOWN
    assert assign_target(PARIS, "Lyon", samples, known_min_share=0.0).target_type is TargetType.UNKNOWN
