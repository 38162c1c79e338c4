"""`python -m kmsdet`, the same entry point as the console script."""

from kmsdet.cli import main

main()
