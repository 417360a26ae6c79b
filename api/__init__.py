"""FastAPI application: playback, search, live listen, review, schedules, events, console.

Not built yet: see issue #4.
"""
