"""Lanner: run Kestra flows, with cleanup that always runs.

Only the version lives here: start-up time is a feature, so nothing is imported eagerly.
"""

__version__ = "0.1.0"
