"""``python -m visualsearch``: the same as the ``visualsearch`` command."""

from visualsearch.cli import main

main()
