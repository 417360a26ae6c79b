"""The shared vocabulary of counterwatch, at the bottom of every layer.

What a chunk of counter audio is and where it lives (:mod:`domain.chunks`), the one FLAC
format definition and header parser (:mod:`domain.flac`), audio levels (:mod:`domain.audio`),
names that may become keys and paths (:mod:`domain.names`), the fixed words of the domain:
channel maps, event kinds, rating levels and the rating-to-interaction window, roles, alarm
kinds, review states, job states, with their Chinese labels (:mod:`domain.vocab`), a site's
time zone (:mod:`domain.timezones`), masking personal numbers (:mod:`domain.pii`) and the one
base error type every package's errors extend (:mod:`domain.errors`).

Nothing here does I/O or imports another counterwatch package: every package may import it,
the screen player and the capture agent included.
"""
