"""Facts curated by the nescio project for the built-in benchmark, one module per domain.

Each module exposes ``TEMPLATES``: a list of ``(template, table)`` pairs, where a table
line is ``entity | alias; alias`` and the template's ``{e}`` is replaced by the entity;
and ``FACTS``: free-form lines ``question with [entity] | alias; alias``, where the
bracketed span is the entity (the brackets are removed from the question text).
Aliases are alternatives: any one counts as correct. Lines starting with ``#`` are comments.
"""

DOMAINS = ("geography", "science", "literature_art", "history", "numbers")
