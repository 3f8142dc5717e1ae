"""`python -m lanner` is `lanner`."""

from lanner.cli.main import main

main()
