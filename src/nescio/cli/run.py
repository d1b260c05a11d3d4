"""`nescio eval` and `nescio ask` (owned by the guard/eval area)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from nescio.cli.devices import DEVICE_OPTION, DTYPE_OPTION, apply_placement
from nescio.cli.rag import NO_EVIDENCE_HELP, RAG_HELP, RAG_K_HELP, SUPPORT_HELP
from nescio.cli.upstream import (BLACKBOX_OPTION, UPSTREAM_CONCURRENCY_OPTION, UPSTREAM_KEY_FILE_OPTION,
                                 UPSTREAM_MODEL_OPTION, UPSTREAM_OPTION, UPSTREAM_TIMEOUT_OPTION, upstream_settings)
from nescio.models.embedded import DEFAULT_MODEL
from nescio.types import NescioError

if TYPE_CHECKING:
    from nescio.evaluate.result import EvalResult


def _summary(results: EvalResult, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    runs = results.runs
    table = Table(title=f"nescio eval: {results.bench} (n = {results.n}), α = {results.guarded.alpha}, "
                        f"δ = {results.guarded.delta}")
    table.add_column("")
    for r in runs:
        table.add_column(f"{r.model}\nraw", justify="right")
        table.add_column("guarded", justify="right")

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}%"

    rows = [
        ("correct", lambda r: (r.raw.correct, r.guarded.correct)),
        ("hallucinated", lambda r: (r.raw.hallucinated, r.guarded.hallucinated)),
        ("abstained", lambda r: (r.raw.abstained, r.guarded.abstained)),
        ("hedged", lambda r: (0.0, r.guarded.hedged)),
        ("hallucination rate among answered", lambda r: (r.raw.risk, r.guarded.realised_risk)),
        ("kept (raw correct still given)", lambda r: (1.0, r.guarded.kept)),
    ]
    for label, fn in rows:
        cells = []
        for r in runs:
            a, b = fn(r)
            cells += [pct(a), f"[bold]{pct(b)}[/]"]
        table.add_row(label, *cells)
    console.print(table)
    t = results.targets
    console.print(
        f"unanswerable questions not answered: {pct(t.unanswerable_abstained)}; "
        f"known-fact correct answers kept: {pct(t.known_fact_correct_kept)} "
        f"(incl. hedged {pct(t.known_fact_correct_kept_incl_hedged)}); "
        f"detector AUROC {results.detector.auroc if results.detector.auroc is not None else float('nan'):.3f}"
    )
    for r in runs:
        if not r.guard.summary.certified:
            console.print(
                f"[yellow]{r.model}: no answer threshold could be certified at α = {r.guarded.alpha} "
                f"(δ = {r.guarded.delta}) on {r.guard.summary.n_calibration} calibration questions, so the "
                "guard only hedges or abstains. Try a larger --alpha or more calibration data; the report's "
                "risk–coverage curves show what each α would cost.[/]"
            )
            if (tl := r.at_tightest_level) is not None:
                console.print(
                    f"[yellow]  the tightest level this guard certifies is α = {tl.alpha:g}: there it answers "
                    f"{pct(tl.answered)} of the questions plainly, with realised risk {pct(tl.realised_risk)}, "
                    f"and keeps {pct(tl.kept)} of the raw correct answers (fit with --alpha {tl.alpha:g} "
                    "to use it).[/]"
                )
    for r in runs:
        if r.frontier:
            console.print(f"{r.model}: certified frontier (α: answered, realised risk, kept): " + "; ".join(
                f"{f.alpha:g}: {pct(f.answered)}, {pct(f.realised_risk)}, {pct(f.kept)}" for f in r.frontier[:6]))
        else:
            console.print(f"[yellow]{r.model}: none of the levels α = {', '.join(r.guard.certified_levels)} could be "
                          "certified on these calibration questions[/]")
    console.print(f"report: [bold]{out}/report.html[/]  results: {out}/results.json  "
                  f"({results.timing.total_s or 0:.0f} s)")


def upstream_backend(settings, model: str, prompt: str, console):
    """``--upstream``: the upstream backend over the local ``model`` (white-box, identity checked) or alone (black-box)."""
    from nescio.cli.upstream import connect, describe

    local = None
    if not settings.blackbox:
        from nescio.models import load_model
        from nescio.models.backend import HFBackend

        local = HFBackend(load_model(model, prompt=prompt))
    backend = connect(settings, local)
    console.print(describe(backend))
    return backend


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        model: str = typer.Option(DEFAULT_MODEL, help="Model: embedded name, HF dir, GGUF path or hub id."),
        bench: str = typer.Option("builtin", help="Questions to evaluate on (builtin, jsonl:PATH, triviaqa:PATH, ...)."),
        out: str = typer.Option("runs/eval", help="Output directory (reruns resume generation from it)."),
        train_bench: Optional[str] = typer.Option(None, help="Fit the guard on this set; evaluate on all of --bench."),
        alpha: float = typer.Option(0.1, help="Target hallucination rate among answered questions (0 < α < 1)."),
        delta: float = typer.Option(0.1, help="Allowed probability that the guarantee fails (0 < δ < 1)."),
        signals: Optional[str] = typer.Option(None, help="Comma-separated signal names (default: cheap signals + probes)."),
        compare: Optional[str] = typer.Option(None, help="A second model, evaluated on the same questions."),
        limit: Optional[int] = typer.Option(None, help="At most N questions per split (train, calibration, evaluation)."),
        hedge_alpha: float = typer.Option(0.3, help="Risk level whose threshold is the hedge floor; 0 disables hedging."),
        no_precheck: bool = typer.Option(False, "--no-precheck", help="Disable the knowability pre-check."),
        precheck_bench: Optional[str] = typer.Option(
            None, help="Fit the knowability pre-check on these sets' train/calibration splits (comma-separated, "
                       "e.g. wide,builtin; prefill passes only) instead of --train-bench's."),
        detector: str = typer.Option("logistic", help="Detector combiner: logistic or boosting."),
        calibrator: str = typer.Option("isotonic-smooth",
                                       help="Score → P(correct): isotonic-smooth (isotonic with a minimum block size, "
                                            "interpolated), isotonic, platt or venn-abers."),
        rag: Optional[str] = typer.Option(None, help=RAG_HELP),
        rag_k: int = typer.Option(4, help=RAG_K_HELP),
        prompt: str = typer.Option("default", help="Prompt: default, or honest (tells the model to say I don't know)."),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
        upstream: Optional[str] = UPSTREAM_OPTION,
        upstream_model: Optional[str] = UPSTREAM_MODEL_OPTION,
        upstream_api_key_file: Optional[str] = UPSTREAM_KEY_FILE_OPTION,
        upstream_timeout: float = UPSTREAM_TIMEOUT_OPTION,
        upstream_concurrency: int = UPSTREAM_CONCURRENCY_OPTION,
        blackbox: bool = BLACKBOX_OPTION,
    ) -> None:
        """Measure hallucinations before and after the guard; write results.json and report.html."""
        apply_placement(device, dtype)
        from rich.console import Console

        from nescio.cli.rag import rag_settings
        from nescio.evaluate import evaluate

        names = [s.strip() for s in signals.split(",") if s.strip()] if signals else None
        up = upstream_settings(upstream, upstream_model, upstream_api_key_file, upstream_timeout, upstream_concurrency,
                               blackbox)
        if up is not None:
            if compare:
                raise NescioError("--compare runs a local model; give it without --upstream")
            model = upstream_backend(up, model, prompt, Console(stderr=True))
            if up.blackbox:
                from nescio.policy.blackbox import BLACKBOX_SIGNALS

                names, no_precheck = names or list(BLACKBOX_SIGNALS), True  # the pre-check reads a residual stream
        results = evaluate(
            model, bench, out, train_bench=train_bench, alpha=alpha, delta=delta, signals=names, compare=compare,
            limit=limit, hedge_alpha=hedge_alpha if hedge_alpha > 0 else None, precheck=not no_precheck,
            detector=detector, calibrator=calibrator, console=Console(stderr=True),
            rag=rag_settings(rag, rag_k, "closed_book"), prompt=prompt, precheck_bench=precheck_bench,
        )
        _summary(results, out)

    @app.command("ask")
    def ask_cmd(
        question: str = typer.Argument(..., help="The question to answer."),
        guard: Optional[str] = typer.Option(None, help="A guard directory saved by Guard.save or nescio eval (…/guard)."),
        model: str = typer.Option(DEFAULT_MODEL, help="Model the guard belongs to."),
        rag: Optional[str] = typer.Option(None, help=RAG_HELP + " Best with a guard from `nescio eval --rag`."),
        rag_k: int = typer.Option(4, help=RAG_K_HELP),
        no_evidence: str = typer.Option("abstain", help=NO_EVIDENCE_HELP),
        support_check: bool = typer.Option(True, "--support-check/--no-support-check", help=SUPPORT_HELP),
        prompt: str = typer.Option("default", help="Prompt: default, or honest (tells the model to say I don't know)."),
        device: str = DEVICE_OPTION,
        dtype: str = DTYPE_OPTION,
        upstream: Optional[str] = UPSTREAM_OPTION,
        upstream_model: Optional[str] = UPSTREAM_MODEL_OPTION,
        upstream_api_key_file: Optional[str] = UPSTREAM_KEY_FILE_OPTION,
        upstream_timeout: float = UPSTREAM_TIMEOUT_OPTION,
        blackbox: bool = BLACKBOX_OPTION,
    ) -> None:
        """Answer one question through a fitted guard, or say "I don't know", and explain why."""
        apply_placement(device, dtype)
        from rich.console import Console

        from nescio.cli.rag import rag_settings
        from nescio.pipeline import ask_default

        console = Console()
        up = upstream_settings(upstream, upstream_model, upstream_api_key_file, upstream_timeout, 8, blackbox)
        if up is not None and up.blackbox and guard is None:
            raise NescioError("--blackbox needs --guard: a black-box guard from `nescio eval --upstream URL --blackbox`")
        if up is not None:
            model = upstream_backend(up, model, prompt, Console(stderr=True))
        elif prompt != "default":
            from nescio.models import load_model

            model = load_model(model, prompt=prompt)
        settings = rag_settings(rag, rag_k, no_evidence, require_support=support_check)
        d = ask_default(question, model, guard, retriever=settings, console=Console(stderr=True))
        style = "yellow" if d.hedged else ("red" if d.abstained else "green")
        console.print(f"[bold {style}]{d.text}[/]")
        console.print(f"why: {d.reason}")
        top = sorted(d.signals.items())
        if top:
            console.print("[dim]signals (higher = riskier): " + ", ".join(f"{k} {v:.3g}" for k, v in top) + "[/]")
