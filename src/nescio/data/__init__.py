"""Question sets: the built-in benchmark and loaders for public formats.

``load_questions(spec)`` accepts ``builtin``, ``builtin:train|calibration|test``,
``wide`` / ``wide:SPLIT`` (over 5,000 questions split by template family, :mod:`nescio.data.wide`),
``hard`` / ``hard:SPLIT`` (generated arithmetic and word problems, :mod:`nescio.data.hard`),
``jsonl:PATH`` (nescio's generic format), ``NAME:PATH`` for a public format
(see :data:`nescio.data.loaders.LOADERS`) and ``hf:HUB_ID[:CONFIG][@SPLIT]``.
"""

from __future__ import annotations

from nescio.data.builtin import CATEGORIES, SPLITS, builtin_questions
from nescio.data.hard import HARD_CATEGORIES, hard_questions
from nescio.data.loaders import LOADERS, load_file, load_questions
from nescio.data.wide import wide_questions

__all__ = ["CATEGORIES", "HARD_CATEGORIES", "LOADERS", "SPLITS", "builtin_questions", "hard_questions", "load_file",
           "load_questions", "wide_questions"]
