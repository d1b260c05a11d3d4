"""``python -m nescio.cli``: the same entry point as the ``nescio`` command."""

from nescio.cli import main

main()
