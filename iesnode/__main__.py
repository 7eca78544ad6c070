"""Run the command line as ``python -m iesnode``."""

from iesnode.cli import main

raise SystemExit(main())
