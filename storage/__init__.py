"""Object store (S3 API via minio) and metadata database (SQLAlchemy).

Not built yet: see issue #3.
"""
