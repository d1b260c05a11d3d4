"""`nescio index` and the shared `--rag` options (owned by the rag area)."""

from __future__ import annotations

from typing import Optional

import typer

RAG_HELP = "A retrieval index (built by `nescio index`): answer from its passages."
RAG_K_HELP = "Passages retrieved per question (before the relevance filter)."
NO_EVIDENCE_HELP = "When no passage passes the relevance filter: closed_book (answer without passages) or abstain."
SUPPORT_HELP = "Abstain when the answer is not in the evidence the filter kept (default), or show it anyway."


def rag_settings(rag: Optional[str], k: int, no_evidence: str, no_filter: bool = False, require_support: bool = True):
    """The RagSettings for the `--rag` options, or None without --rag."""
    if rag is None:
        return None
    from nescio.extras import require

    require("rag", "--rag")
    from nescio.rag.answer import RagSettings
    from nescio.rag.index import Index

    Index.load(rag)  # fail fast: a missing, damaged or foreign index is refused here
    return RagSettings(rag, k=k, use_filter=not no_filter, no_evidence=no_evidence, require_support=require_support)


def register(app: typer.Typer) -> None:
    @app.command("index")
    def index_cmd(
        source: str = typer.Argument(..., help="A directory of .txt/.md files, a .txt/.md file, or a .jsonl file of {id, title, text}."),
        out: str = typer.Option(..., help="Index directory to write."),
        add: bool = typer.Option(False, "--add", help="Add the passages to the index already in --out."),
        max_words: int = typer.Option(120, help="Passage length in words (longer documents are chunked)."),
        overlap: int = typer.Option(20, help="Words shared by neighbouring chunks."),
    ) -> None:
        """Build a retrieval index (BM25 + MiniLM, fused by reciprocal rank) over a local corpus."""
        from nescio.extras import require

        require("rag", "`nescio index`")
        from nescio.rag.index import build_index

        build_index(source, out, add=add, max_words=max_words, overlap=overlap, log=typer.echo)
