"""FastAPI application: search, playback, live listen, review, complaints, events, console.

``api.app.create_app`` builds the app from an engine and an object store; ``counterwatch api``
and ``counterwatch up`` serve it. One router per resource in ``api/routes``; dependencies in
``api/deps.py``.
"""
