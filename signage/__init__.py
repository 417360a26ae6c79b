"""Waiting-area screen player (python-vlc) and content schedule.

Not built yet: see issue #5.
"""
