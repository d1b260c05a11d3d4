"""Every registered signal and fitted estimator passes the same checks (as scikit-learn's check_estimator).

Computed signals: orientation (higher = riskier on a synthetic case where it must be), NaN
stays NaN, output shape. Fitted estimators (built from the registry): the same, plus
get_params / set_params round trip, bit-identical save → load, refusal of unfitted use.
"""

from __future__ import annotations

import numpy as np
import pytest

from nescio.signals import SIGNALS, build_estimator, compute_signals, list_signals, load_probe, save_probe, signal_info
from nescio.types import Generation, NescioError, Question, Sample
from signals_support import synthetic_generations

COMPUTED = [n for n in list_signals() if not signal_info(n).fitted]
FITTED = [n for n in list_signals() if signal_info(n).fitted]


def test_the_registry_is_complete_whatever_is_imported_first():
    import subprocess
    import sys

    code = ("import nescio.signals.entity, nescio.signals.neurons; from nescio.signals import list_signals; "
            "print(','.join(list_signals()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.split(",") == list_signals()
    assert {"knowability_last_prompt", "h_neurons", "entity_direction", "semantic_entropy_probe"} <= set(FITTED)


def test_signals_package_has_no_import_cycle():
    """No nescio.signals module imports (at any level) a module that imports it back; the
    leaves import no sibling at all."""
    import ast
    from pathlib import Path

    import nescio.signals as pkg

    root = Path(pkg.__file__).parent
    graph = {}
    for f in root.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nescio.signals"):
                mod = node.module.removeprefix("nescio.signals").lstrip(".")
                deps |= {mod} if mod else {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name.removeprefix("nescio.signals.") for a in node.names if a.name.startswith("nescio.signals.")}
        graph[f.stem] = deps - {f.stem, "__init__"}
    assert graph["spec"] == set() and graph["features"] == set()

    def reach(start, seen):
        for d in graph.get(start, ()):
            if d not in seen:
                seen.add(d)
                reach(d, seen)
        return seen

    for mod in graph:
        if mod != "__init__":
            assert mod not in reach(mod, set()), f"import cycle through nescio.signals.{mod}"


# ------------------------------------------------------------------ computed signals
def _gen(i: int, *, risky: bool, text: str = "Paris", samples=None, empty: bool = False, reflexive: bool = True):
    q = Question(f"q{i}", f"What is the capital of country {i}?", ("Paris",))
    lp = () if empty else ((-2.5, -3.0, -2.0) if risky else (-0.01, -0.02, -0.01))
    ent = () if empty else ((2.0, 2.5, 1.8) if risky else (0.05, 0.02, 0.04))
    topk = () if empty else (((-0.7, -0.75),) * 3 if risky else ((-0.01, -6.0),) * 3)
    return Generation(
        q, q.text, "" if empty else text, () if empty else (1, 2, 3), lp, ent, () if empty else ((1, 2),) * 3, topk,
        samples=tuple(Sample(t, (1,), (-1.0,)) for t in (samples or ())),
        p_true=None if not reflexive else (0.2 if risky else 0.95),
        verbal_confidence=None if not reflexive else (0.3 if risky else 0.9),
        # attention signals: log self-attention of the middle layer, lower (less self-attention) when risky
        activations={} if empty else {"attn_logdiag/1/answer": np.full((3, 4), -4.0 if risky else -0.5, np.float32),
                                      "attn_logdiag/1/prompt_mean": np.full(4, -1.0, np.float32)},
        prompt_token_count=0 if empty else 6,
    )


CITIES = ("London", "Tokyo", "Nairobi", "Lima", "Oslo")


@pytest.fixture(scope="module")
def computed_cases():
    safe = [_gen(i, risky=False, samples=["Paris"] * 5) for i in range(4)]
    risky = [_gen(10 + i, risky=True, text="Paris", samples=CITIES) for i in range(4)]
    missing = _gen(99, risky=True, empty=True, samples=None, reflexive=False)
    # retrieval-aware signals: the safe answers come with a kept passage that holds them and
    # that the answer relies on; the risky ones with weak passages, none kept
    safe = [_with_retrieval(g, (("The capital of that country is Paris.", 0.95, True), ("Rain is wet.", 0.05, False)), -9.0)
            for g in safe]
    risky = [_with_retrieval(g, (("Lima is a city.", 0.3, False), ("Rain is wet.", 0.25, False)), -0.1) for g in risky]
    return safe, risky, missing


def _with_retrieval(g: Generation, passages, without: float) -> Generation:
    from dataclasses import replace

    from nescio.types import Retrieval, RetrievedPassage

    r = Retrieval(tuple(RetrievedPassage(f"p{i}", t, "", 0.0, rel, kept) for i, (t, rel, kept) in enumerate(passages)),
                  answer_logprob_without_passages=without)
    return replace(g, question=replace(g.question, retrieval=r))


@pytest.mark.parametrize("name", COMPUTED)
def test_computed_signal_conformance(name, computed_cases):
    safe, risky, missing = computed_cases
    gens = safe + risky + [missing]
    table = compute_signals(gens, [name])
    v = table.values[name]
    assert v.shape == (len(gens),) and v.dtype == float  # shape
    assert np.all(np.isfinite(v[:-1]))
    assert v[len(safe):-1].min() > v[: len(safe)].max(), "higher must mean riskier"  # orientation
    assert np.isnan(v[-1]), "a missing input must give NaN, not a number"  # NaN stays NaN
    assert table.costs[name] >= 0 and compute_signals([], [name]).values[name].shape == (0,)


# ------------------------------------------------------------------ fitted estimators
def _fitted_data(n=96, seed=0):
    """Activations that carry the label at layer 2 (every resid position) and in CETT neurons
    (1, 3) and (3, 7); the last generation's activations are NaN."""
    from dataclasses import replace

    gens, y = synthetic_generations(n, seed, dim=12, d_ffn=16, answer_rows=2, answer_col=0, shift=3.0, cett_shift=0.2,
                                    resid_positions=("last_prompt", "answer_mean", "entity_last", "prompt_mean"),
                                    dtype=np.float64)
    gens[-1] = replace(gens[-1], activations={k: np.full_like(a, np.nan) for k, a in gens[-1].activations.items()})
    return gens, y


FAST = {"C_grid": (0.1, 1.0), "cv": 3}


def _build(name):
    import inspect

    accepted = set(inspect.signature(signal_info(name).estimator).parameters)
    return build_estimator(name, **{k: v for k, v in FAST.items() if k in accepted})


def _labels(name, y, rng):
    if signal_info(name).labels == "semantic_entropy":  # continuous: the probe binarises it
        return 1.5 * y + rng.uniform(0, 0.3, size=y.size)
    return y


@pytest.fixture(scope="module")
def fitted_data():
    return _fitted_data()


@pytest.fixture(scope="module")
def fitted(fitted_data):
    gens, y = fitted_data
    rng = np.random.default_rng(1)
    return {name: _build(name).fit(gens[:64], _labels(name, y[:64], rng)) for name in FITTED}


@pytest.mark.parametrize("name", FITTED)
def test_fitted_estimator_conformance(name, fitted, fitted_data, tmp_path):
    from nescio.evaluate.metrics import auroc

    gens, y = fitted_data
    est = fitted[name]
    test, y_test = gens[64:-1], y[64:-1]
    risk = est.predict_risk(test)
    assert risk.shape == (len(test),) and np.all(np.isfinite(risk))  # shape
    assert auroc(risk, y_test) > 0.8, "higher must mean riskier"  # orientation
    if signal_info(name).probability:
        assert np.all((risk >= 0) & (risk <= 1))
    assert np.isnan(est.predict_risk([gens[-1]])[0])  # NaN stays NaN
    # as a registered signal through compute_signals
    np.testing.assert_array_equal(compute_signals(test, [name], probes={name: est}).values[name], risk)
    # out-of-fold scores on its training rows
    oof = est.out_of_fold_risk(gens[:64], _labels(name, y[:64], np.random.default_rng(1)), n_splits=3)
    assert oof.shape == (64,) and np.isfinite(oof).all()
    # get_params / set_params round trip
    params = est.get_params()
    clone = type(est)(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    assert clone.get_params() == params
    assert clone.set_params(**{k: getattr(est, k) for k in params}).get_params() == params
    with pytest.raises(NescioError, match="no parameter"):
        clone.set_params(no_such_parameter=1)
    # refusal of unfitted use
    with pytest.raises(NescioError, match="not fitted"):
        clone.predict_risk(test)
    with pytest.raises(NescioError, match="not fitted"):
        save_probe(clone, tmp_path / "unfitted")
    # bit-identical save -> load, with the registry name recorded
    save_probe(est, tmp_path / name, signal=name, signal_args=params)
    back = load_probe(tmp_path / name)
    assert type(back) is type(est) and back.get_params() == params
    np.testing.assert_array_equal(back.predict_risk(test), risk)
    assert [c.layers for c in back.capture_specs()] == [c.layers for c in est.capture_specs()]


def test_every_fitted_signal_declares_how_it_is_built():
    for name in FITTED:
        info = SIGNALS[name]
        assert info.estimator is not None and info.labels and info.needs.capture, name
        assert type(info.build()).__name__ == info.estimator.__name__


@pytest.mark.parametrize("cls_path", ["nescio.policy.signalset.SignalSet", "nescio.policy.precheck.PreCheck",
                                      "nescio.policy.risk.RiskPolicy", "nescio.policy.guard.Guard",
                                      "nescio.policy.calibrate.Calibrator"])
def test_guard_parts_params_round_trip(cls_path):
    import importlib

    from nescio.params import from_params

    mod, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(mod), name)
    est = cls()
    params = est.get_params()
    assert from_params(cls, params).get_params() == params
    with pytest.raises(NescioError, match="no parameter"):
        est.set_params(nope=1)
