"""API routes, one module per Kestra controller (flows, executions, logs, plugins, triggers)."""
