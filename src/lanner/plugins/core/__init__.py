"""The built-in core tasks (Kestra io.kestra.plugin.core.*); see docs/architecture.md for the rooms."""
