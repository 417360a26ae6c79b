"""Per-counter capture agents: audio source -> fixed-length FLAC chunks -> local spool -> upload.

Modules, one per stage:

* ``sources``  — PyAudio and ffmpeg capture sources (``parse_source("pyaudio:pulse", ...)``)
* ``chunker``  — sample-exact fixed-length chunks and their levels
* ``spool``    — crash-safe local spool with a disk quota
* ``client``   — the API, the agent's only way out (a token bound to its counter)
* ``uploader`` — in-order upload with capped backoff, refused chunks put aside
* ``live``     — best-effort ~1 s live segments for live listening
* ``agent``    — the threads that tie them together, heartbeats and stopping
* ``metrics``  — Prometheus metrics of a running agent

Chunk names, the key layout and the FLAC format come from :mod:`domain`; the agent holds no
database, object-store or use-case code, and no credentials but its token (issue 11).
"""
