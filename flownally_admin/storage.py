"""Where uploaded (and exported) files live: a local folder, or an S3 bucket that every web
and worker machine shares (docs/operations.md, "Shared storage").

Everything goes through Django's `default_storage`. Two reads need more than the Storage API
gives on S3 at a sensible cost, and have a function here that does the same on any storage:

- `open_stored` streams an object by ranged GETs. django-storages' S3File downloads the whole
  object before the first read, so every pass of an import (and its row count, and a resume
  from a checkpoint near the end) would fetch the whole file again.
- `open_for_writing` writes a file as it is made, from the caller's thread. `Storage.save`
  reads its content from boto3's transfer threads on S3, which cannot read from a database
  connection of the caller's (an export's rows).
- `stored_files` lists a folder with each file's modification time in one listing; the
  Storage API asks for each file's time with a request of its own.

`storage_config` turns the environment into `STORAGES["default"]` for settings.py; it imports
nothing of Django's so that settings.py can call it.
"""

import io
import os
import posixpath
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
S3_BACKEND = "storages.backends.s3.S3Storage"

# What of an S3 object django-storages' S3File keeps in memory before spooling it to a
# temporary file (its default, 0, never spools): Django's own limit for uploads.
S3_SPOOL_MAX_MEMORY_BYTES = 2_621_440
# Uploads to S3 go in parts of this size, this many at a time, and (from a stream that cannot
# seek back, such as an upload being transcoded) no more than this many read ahead: a web
# process holds ~2 parts of an upload, not its 8 MiB parts ten at a time (boto3's defaults,
# ~80 MiB per upload). 5 MiB is S3's smallest part; 10,000 of them are 50 GB.
S3_PART_BYTES = 5 * 1024 * 1024
S3_PARTS_IN_FLIGHT = 2
# Read-ahead of `open_stored` on S3, taken from one streamed GET (a new one only on a seek
# outside it): the reader asks for 1 MiB at a time.
S3_READ_BUFFER_BYTES = 1 << 20

_URL_OPTIONS = {"endpoint_url", "region", "addressing_style"}


class StorageConfigError(ValueError):
    """The storage settings cannot describe a bucket; the message never repeats a value,
    which could hold a secret."""


def storage_config(
    *,
    url: str = "",
    bucket: str = "",
    location: str = "",
    endpoint_url: str = "",
    region: str = "",
) -> dict:
    """`STORAGES["default"]`: S3 when `url` (`s3://bucket/prefix?endpoint_url=…&region=…&
    addressing_style=path`) or `bucket` (AWS_STORAGE_BUCKET_NAME) names a bucket, else the
    local folder MEDIA_ROOT.

    The AWS_* values fill what the URL leaves out. Credentials are not taken from the URL:
    boto3 finds them itself (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment,
    a profile, an instance role), so no setting, log line or error page ever holds them.
    """
    options = {
        "bucket": bucket,
        "location": location,
        "endpoint_url": endpoint_url,
        "region": region,
        "addressing_style": "",
    }
    if url:
        options.update(_parse_url(url, bucket=bucket))
    if not options["bucket"]:
        # The local folder is Django's default storage, which follows MEDIA_ROOT.
        return {"BACKEND": LOCAL_BACKEND}
    from boto3.s3.transfer import TransferConfig

    transfer = TransferConfig(
        multipart_threshold=S3_PART_BYTES,
        multipart_chunksize=S3_PART_BYTES,
        max_concurrency=S3_PARTS_IN_FLIGHT,
    )
    transfer.max_in_memory_upload_chunks = S3_PARTS_IN_FLIGHT  # s3transfer's, not in boto3's
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": options["bucket"],
            "location": options["location"].strip("/"),
            "endpoint_url": options["endpoint_url"] or None,
            "region_name": options["region"] or None,
            "addressing_style": options["addressing_style"] or None,
            # Objects get the bucket's own ACL (private); URLs, if any were made, are
            # signed and expire. The app streams files to clients itself.
            "default_acl": None,
            "querystring_auth": True,
            # botocore signs URLs with the older scheme otherwise, which newer regions refuse.
            "signature_version": "s3v4",
            # Every name we store under is new (an id or a random one): saving need not ask
            # the bucket whether the name is taken first.
            "file_overwrite": True,
            "max_memory_size": S3_SPOOL_MAX_MEMORY_BYTES,
            "transfer_config": transfer,
        },
    }


def _parse_url(url: str, *, bucket: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise StorageConfigError("STORAGE_URL must start with s3://.")
    if "@" in parts.netloc:
        raise StorageConfigError(
            "STORAGE_URL must not hold credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or use a profile or an instance role)."
        )
    if not parts.hostname:
        raise StorageConfigError("STORAGE_URL names no bucket: s3://<bucket>/<prefix>.")
    if bucket and bucket != parts.netloc:
        raise StorageConfigError("STORAGE_URL and AWS_STORAGE_BUCKET_NAME name different buckets.")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - _URL_OPTIONS)
    if unknown:
        raise StorageConfigError(
            f"STORAGE_URL has unknown options {unknown}; it takes {sorted(_URL_OPTIONS)}."
        )
    found = {"bucket": parts.netloc}
    if parts.path.strip("/"):
        found["location"] = parts.path
    found.update({key: value for key, value in query.items() if value})
    return found


# --- reading ----------------------------------------------------------------------------


def open_stored(name: str, storage=None) -> io.BufferedIOBase:
    """`name` opened for binary reading, seekable, without fetching what is not read.

    On S3 the object is read by ranged GETs from wherever the file is sought to, through a
    1 MiB read-ahead; elsewhere this is `storage.open(name, "rb")`. FileNotFoundError when
    there is no such file.
    """
    from django.core.files.storage import default_storage
    from storages.backends.s3 import S3Storage

    storage = default_storage if storage is None else storage
    stored = storage.open(name, "rb")  # on S3, a HEAD request; no download yet
    if not isinstance(storage, S3Storage):
        return stored
    stored.close()
    return io.BufferedReader(_S3ObjectReader(stored.obj), buffer_size=S3_READ_BUFFER_BYTES)


class _S3ObjectReader(io.RawIOBase):
    """An S3 object as a seekable raw file: one streamed GET from the position onwards,
    replaced by another when the file is sought elsewhere.

    Every GET asks for the version first opened (If-Match on its ETag), so a file replaced
    meanwhile fails the read instead of mixing two files' bytes. A stream that breaks (the
    server drops a connection left idle while the importer waits for the database) is
    opened again from where it broke, once per read.
    """

    def __init__(self, obj):
        self._obj = obj
        self._size = obj.content_length
        self._etag = obj.e_tag
        self._position = 0
        self._body = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self._position:
            self._drop_stream()
            self._position = position
        return position

    def readinto(self, buffer) -> int:
        from botocore.exceptions import BotoCoreError

        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        try:
            data = self._stream().read(wanted)
        except (BotoCoreError, OSError):
            data = b""
        if not data:  # the stream broke or ended early: open another from here, once
            self._drop_stream()
            data = self._stream().read(wanted)
            if not data:
                raise OSError(f"{self._obj.key} ended at byte {self._position} of {self._size}")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        self._drop_stream()
        super().close()

    def _stream(self):
        if self._body is None:
            response = self._obj.get(Range=f"bytes={self._position}-", IfMatch=self._etag)
            self._body = response["Body"]
        return self._body

    def _drop_stream(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


# --- listing ----------------------------------------------------------------------------


def open_for_writing(name: str, storage=None):
    """`name` opened for binary writing, replacing any file of that name.

    On S3 the bytes go up in parts as they are written (S3File's multipart upload), in the
    caller's thread, and the object appears only when the file is closed; in a local
    folder they are written to the file, whose folder is made first.
    """
    from django.core.files.storage import default_storage

    storage = default_storage if storage is None else storage
    try:
        local_path = storage.path(name)
    except NotImplementedError:  # not on this machine's disk
        return storage.open(name, "wb")
    os.makedirs(os.path.dirname(local_path), exist_ok=True)
    return storage.open(name, "wb")


def stored_files(folder: str, storage=None) -> Iterator[tuple[str, datetime]]:
    """The names of the files directly in `folder` (as storage names: `folder/file`) with
    their modification times; nothing when the folder does not exist.

    On S3 one paginated listing gives both; elsewhere a listing and each file's time.
    """
    from django.core.files.storage import default_storage
    from storages.backends.s3 import S3Storage

    storage = default_storage if storage is None else storage
    folder = folder.strip("/")
    if not isinstance(storage, S3Storage):
        try:
            _, names = storage.listdir(folder)
        except FileNotFoundError:
            return
        for file_name in names:
            name = f"{folder}/{file_name}"
            yield name, storage.get_modified_time(name)
        return
    location = storage.location.strip("/")
    prefix = posixpath.join(location, folder) + "/" if location else f"{folder}/"
    pages = storage.connection.meta.client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket_name, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        for entry in page.get("Contents", ()):
            key = entry["Key"]
            if key != prefix:
                yield key[len(location) + 1 :] if location else key, entry["LastModified"]
