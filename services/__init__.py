"""Use-cases that the API and the CLI share, between persistence and the entry points.

* ``catalog``      — sites, counters, staff on duty, sessions and chunks, events, heartbeats
* ``alarms``       — health alarms of counters and screens
* ``accounts``     — users, passwords, tokens, console login, the caller (``Principal``)
* ``audit``        — the audit log
* ``interactions`` — interactions, flags and their review, site scope
* ``search``       — transcript search
* ``complaints``, ``reports`` — complaints and monthly assessments
* ``audio``, ``live`` — playback spans, evidence files, live listening
* ``signage``, ``signage_content`` — waiting-area screens administration
* ``retention``, ``integrity``, ``rescan`` — operations on the stored evidence

Routes and commands validate their input, call one use-case here and shape its answer; errors
are :class:`domain.errors.DomainError` subclasses, mapped to HTTP once (``api.errors``).
"""
