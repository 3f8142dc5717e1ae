"""Script tasks (`io.kestra.plugin.scripts.shell|python.Commands|Script`): commands on the host or in a container.

`support` holds what every command-running task shares (Kestra's `::{...}::` stdout protocol,
input and output files, property rendering), `runners` the two places a command runs (a host
process group, or a Docker container), and `tasks` the task models themselves.
"""
