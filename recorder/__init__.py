"""Per-counter capture agents: audio source -> fixed-length FLAC chunks -> local spool -> S3.

Modules, one per stage:

* ``sources``  — PyAudio and ffmpeg capture sources (``parse_source("pyaudio:pulse", ...)``)
* ``chunker``  — sample-exact fixed-length chunks and their levels
* ``encode``   — lossless FLAC encode/decode (PyAV)
* ``chunk``    — ``ChunkMeta`` and the bucket layout
* ``spool``    — crash-safe local spool with a disk quota
* ``uploader`` — in-order upload with capped backoff
* ``agent``    — the two threads that tie them together, heartbeats and stopping

Nothing here is wired into the CLI yet (issue #3).
"""
