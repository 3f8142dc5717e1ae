"""`python -m lanner` is `lanner`."""

from lanner.cli.entry import main

main()
