"""The server: Kestra's REST API under /api/v1 and the web UI, in the process that runs flows.

Only `lanner server …` imports this package (FastAPI and uvicorn cost ~0.4 s to import, which
`lanner run` must not pay). `app.build_app` assembles the routes; `services.Services` owns the
runtime, the scheduler and the store they share.
"""
