"""What the tests (and the benchmarks) share: free ports and servers in threads (``net``), a
private PostgreSQL cluster (``postgres``), buckets on the real S3 server (``stores``), the API
over the real stack with users and seeded interactions (``stack``), the CLI in a subprocess
(``cli``), a private PulseAudio daemon (``pulse``). Fixtures that use them live in
``tests/conftest.py``."""
