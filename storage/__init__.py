"""Persistence: the metadata database and the object store.

* ``tables``  — every table, on one SQLAlchemy metadata
* ``engine``  — engines, read and write sessions, waiting out a busy or restarting database
* ``schema``  — Alembic migrations (``counterwatch db upgrade``) and the schema check
* ``queries`` — read queries several layers share (chunks of a range, boundaries, ratings)
* ``jobs``    — the work queue with leases
* ``objects``, ``object_lock``, ``store_errors`` — one S3 bucket through minio
* ``s3server`` — the embedded ``rclone serve s3`` server

Nothing here knows about HTTP, use-cases or the CLI.
"""
