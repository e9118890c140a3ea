"""The local backend service: a FastAPI app that keeps the models warm for the Blender add-on.

Blender's Python has no torch and its UI must never freeze, so the add-on hands videos to this process
over loopback HTTP and polls for progress. Modules: `config` (paths, limits), `auth` (the bearer token),
`jobs` (queue, worker threads, on-disk persistence), `upload` (streaming request parsing), `app` (routes).
"""
