"""Docker tasks (`io.kestra.plugin.docker.Run` / `Stop`) against a real engine, through the `docker` SDK.

`engine` holds what both these tasks and the scripts' Docker task runner need: connecting with
a clear error, the pull policy (never pull an image that is already here), the container
options Kestra names, and running a container with live logs and cancellation.
"""
