"""Baton's graph package.

Importing it switches off onnxruntime's telemetry for the process: its 1DS uploader looks up
mobile.events.data.microsoft.com a few seconds after the first session, and only this variable, set
before onnxruntime initialises, stops it (``disable_telemetry_events()`` does not). Every module of
Baton that imports onnxruntime lives in this package, so this runs before any of them,
whichever entry point (``baton``, ``uvicorn api.app:create_app``, a worker process) loaded it.
"""

import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
