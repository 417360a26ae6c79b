"""The HTTP API and the web console: search, playback, live listen, review, complaints, reports,
events, screens.

``api.app.create_app`` builds the app from an engine and an object store; ``counterwatch api``
and ``counterwatch up`` serve it. One router per resource in ``api/routes``; shared dependencies
in ``api/deps``; domain errors become HTTP answers in ``api/errors``. Routes validate, call a
use-case in :mod:`services` and shape its answer.
"""
