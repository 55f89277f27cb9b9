"""A real S3-compatible server for the suite, and Django's default storage on it for a test.

`s3_server` starts moto's standalone server on 127.0.0.1 (a free port) once per session, in
a thread of the test process; `s3_storage` gives a test a bucket of its own on it and makes
it `default_storage`, configured through STORAGE_URL as production is. Both are registered
in tests/conftest.py, so any test asks for them by name:

    def test_export_lands_in_the_bucket(s3_storage, client_a):
        ...
        assert s3_storage.read(export.file_path) == b"..."

Processes the test starts (a Celery worker) reach the same bucket with `s3_storage.env`.
"""

import logging
import uuid
from dataclasses import dataclass, field

import pytest

from flownally_admin.storage import storage_config

REGION = "us-east-1"
# Anything does for moto; set so that boto3 never looks for a developer's own credentials.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-access-key-id",
    "AWS_SECRET_ACCESS_KEY": "test-secret-access-key",
}
LOCATION = "flownally"  # a key prefix, so that tests see names with and keys without it


@dataclass
class S3Bucket:
    """The test's bucket: `client` is a boto3 S3 client on the server, `url` its STORAGE_URL,
    `env` what a process needs to use it as its storage."""

    client: object
    name: str
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def key(self, name: str) -> str:
        """The object key of a storage name."""
        return f"{LOCATION}/{name}"

    def names(self) -> list[str]:
        """The storage names of every object in the bucket, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        keys = [entry["Key"] for page in pages for entry in page.get("Contents", ())]
        return sorted(key.removeprefix(f"{LOCATION}/") for key in keys)

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=self.key(name))["Body"].read()

    def head(self, name: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=self.key(name))


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_server, settings, monkeypatch) -> S3Bucket:
    """`default_storage` is S3, on a new bucket of the moto server, for this test.

    Overriding STORAGES with pytest-django's `settings` sends `setting_changed`, on which
    Django drops its cached storages and `default_storage` (django.test.signals), so the
    next use builds the S3 backend; the override is undone the same way after the test.
    """
    import boto3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    url = f"s3://{bucket}/{LOCATION}?endpoint_url={s3_server}&region={REGION}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name=REGION)
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": storage_config(url=url)}
    return S3Bucket(client=client, name=bucket, url=url, env={"STORAGE_URL": url, **CREDENTIALS})
