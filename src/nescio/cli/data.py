"""`nescio data list|show` (owned by the data area)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """The built-in question sets (builtin, wide, hard) by category and split, and the formats `--bench` accepts."""
    from rich.console import Console
    from rich.table import Table

    from nescio.data import LOADERS, SPLITS, builtin_questions, hard_questions, wide_questions

    console = Console()
    wide = wide_questions()
    n_families = len({q.family for q in wide})
    for name, questions, how in (("builtin", builtin_questions(), "seeded, stratified splits"),
                                 ("wide", wide, f"{n_families} template families, each held out whole in one split"),
                                 ("hard", hard_questions(), "generated problems with exact answers, seeded hash splits")):
        table = Table(title=f"{name}: {len(questions)} questions ({how})")
        table.add_column("category")
        table.add_column("answerable")
        for split in SPLITS:
            table.add_column(split, justify="right")
        table.add_column("total", justify="right")
        for category in dict.fromkeys(q.category for q in questions):
            rows = [q for q in questions if q.category == category]
            counts = [sum(q.split == s for q in rows) for s in SPLITS]
            table.add_row(category, "yes" if rows[0].answerable else "no", *map(str, counts), str(len(rows)))
        totals = [sum(q.split == s for q in questions) for s in SPLITS]
        table.add_row("all", "", *map(str, totals), str(len(questions)), style="bold")
        console.print(table)
    console.print("Question sets: builtin, builtin:SPLIT (" + ", ".join(SPLITS) + "), wide, wide:SPLIT, hard, hard:SPLIT, "
                  "hf:HUB_ID[:CONFIG][@SPLIT], or NAME:PATH with NAME one of: " + ", ".join(LOADERS), markup=False)


@app.command("show")
def show_cmd(
    question_set: str = typer.Argument(..., metavar="SET", help="builtin, builtin:test, wide:test, NAME:PATH, jsonl:PATH, ..."),
    category: str = typer.Option(None, "--category", "-c", help="Only this category."),
    n: int = typer.Option(10, "--n", "-n", min=1, help="How many questions to show."),
) -> None:
    """Show the first N questions of a set (optionally one category) as a table."""
    from rich.console import Console
    from rich.table import Table

    from nescio.data import load_questions
    from nescio.types import NescioError

    questions = load_questions(question_set)
    if category is not None:
        have = sorted({q.category for q in questions})
        questions = [q for q in questions if q.category == category]
        if not questions:
            raise NescioError(f"no questions in category {category!r}; accepted: {', '.join(have)}")
    table = Table(title=f"{question_set}: {len(questions)} questions" + (f" in {category}" if category else ""))
    families = any(q.family for q in questions[:n])  # template families (the wide set)
    for column in ("id", "category", "split", "question", "gold answers", "entity") + (("family",) if families else ()):
        table.add_column(column, overflow="fold")
    for q in questions[:n]:
        answers = "; ".join(q.answers[:4]) + (" …" if len(q.answers) > 4 else "") if q.answers else "(none)"
        row = (q.id, q.category, q.split or "", q.text, answers, q.entity or "")
        table.add_row(*row, *((q.family or "",) if families else ()))
    Console().print(table)
