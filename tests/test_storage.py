"""Shared storage (flownally_admin/storage.py): the settings that choose S3, and reads of stored
files on a real S3-compatible server (moto's, tests/storage.py)."""

import io
import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from flownally_admin.storage import (
    LOCAL_BACKEND,
    S3_BACKEND,
    S3_PART_BYTES,
    S3_SPOOL_MAX_MEMORY_BYTES,
    StorageConfigError,
    open_stored,
    storage_config,
    stored_files,
)
from tests.test_settings import PRODUCTION_ENV, PYTEST_ENV, ROOT, _manage

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"

# --- settings ---------------------------------------------------------------------------------


def test_without_a_bucket_the_local_folder_is_the_storage():
    assert storage_config() == {"BACKEND": LOCAL_BACKEND}


def test_a_storage_url_names_the_bucket_prefix_endpoint_and_region():
    config = storage_config(
        url="s3://contacts-files/prod/eu?endpoint_url=https://s3.example.net&region=eu-west-3"
        "&addressing_style=path"
    )
    transfer = config["OPTIONS"].pop("transfer_config")
    assert (transfer.multipart_chunksize, transfer.max_concurrency) == (S3_PART_BYTES, 2)
    assert transfer.max_in_memory_upload_chunks == 2
    assert config == {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": "contacts-files",
            "location": "prod/eu",
            "endpoint_url": "https://s3.example.net",
            "region_name": "eu-west-3",
            "addressing_style": "path",
            "default_acl": None,
            "querystring_auth": True,
            "signature_version": "s3v4",
            "file_overwrite": True,
            "max_memory_size": S3_SPOOL_MAX_MEMORY_BYTES,
        },
    }


def test_the_aws_settings_name_a_bucket_and_fill_what_the_url_leaves_out():
    from_aws = storage_config(bucket="b", location="p", endpoint_url="http://e", region="r")
    assert {k: from_aws["OPTIONS"][k] for k in ("bucket_name", "location", "endpoint_url")} == {
        "bucket_name": "b",
        "location": "p",
        "endpoint_url": "http://e",
    }
    mixed = storage_config(url="s3://b?region=url-region", bucket="b", region="r", location="p")
    assert (mixed["OPTIONS"]["region_name"], mixed["OPTIONS"]["location"]) == ("url-region", "p")


@pytest.mark.parametrize(
    ("url", "bucket", "message"),
    [
        (f"s3://AKIAEXAMPLE:{SECRET}@b/p", "", "must not hold credentials"),
        ("https://b.s3.amazonaws.com/p", "", "must start with s3://"),
        ("s3:///prefix", "", "names no bucket"),
        ("s3://b/p?endpoint=http://e", "", "unknown options ['endpoint']"),
        ("s3://b/p", "other", "name different buckets"),
    ],
)
def test_a_storage_url_that_cannot_be_used_is_refused(url, bucket, message):
    with pytest.raises(StorageConfigError, match=message.replace("[", r"\[")) as refused:
        storage_config(url=url, bucket=bucket)
    assert SECRET not in str(refused.value)


def _production(tmp_path, **env):
    return {**PRODUCTION_ENV, "FLOWNALLY_VAR_DIR": str(tmp_path), **env}


def test_check_deploy_is_clean_with_s3_storage(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=_production(
            tmp_path,
            STORAGE_URL="s3://contacts-files/prod?region=eu-west-3",
            AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
            AWS_SECRET_ACCESS_KEY=SECRET,
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_credentials_in_the_storage_url_stop_the_start_without_showing_them(tmp_path):
    result = _manage(
        "check", env=_production(tmp_path, STORAGE_URL=f"s3://AKIAEXAMPLE:{SECRET}@b/p")
    )
    assert result.returncode != 0
    assert "STORAGE_URL must not hold credentials" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_settings_and_error_pages_never_hold_the_secret_key(tmp_path):
    """The storage is S3 from the environment, and neither the settings nor what an error
    page shows of them hold the secret: boto3 reads it from the environment itself."""
    code = (
        "import json; from django.conf import settings; "
        "from django.views.debug import SafeExceptionReporterFilter; "
        "print(json.dumps([settings.STORAGES['default'], "
        "repr(SafeExceptionReporterFilter().get_safe_settings())], default=repr))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in PYTEST_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            **_production(
                tmp_path,
                AWS_STORAGE_BUCKET_NAME="contacts-files",
                AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
                AWS_SECRET_ACCESS_KEY=SECRET,
            ),
            "DJANGO_SETTINGS_MODULE": "flownally_admin.settings",
            "FLOWNALLY_ENV_FILE": "",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    default, safe_settings = json.loads(result.stdout)
    assert (default["BACKEND"], default["OPTIONS"]["bucket_name"]) == (S3_BACKEND, "contacts-files")
    assert "contacts-files" in safe_settings  # what an error page shows of the settings
    assert SECRET not in result.stdout


# --- reading and listing on S3 ----------------------------------------------------------------

# Over three read-aheads of 1 MiB, with every line numbered so any misplaced byte shows.
BIG = b"".join(b"line %07d\n" % n for n in range(350_000))


@pytest.fixture
def big(s3_storage):
    return default_storage.save("files/big.csv", ContentFile(BIG))


def test_open_stored_reads_from_where_it_is_sought(s3_storage, big):
    with open_stored(big) as file:
        file.seek(2_500_000)
        assert file.read(22) == BIG[2_500_000:2_500_022]
        assert file.readline() == BIG[2_500_022 : BIG.index(b"\n", 2_500_022) + 1]
        file.seek(13)  # back, past the read-ahead
        assert file.read(9) == b"line 0000"
        assert file.seek(0, io.SEEK_END) == len(BIG)
        assert file.read() == b""
        file.seek(len(BIG) - 11)
        assert file.read() == b"line 0349999\n"[-11:]


def test_open_stored_reads_the_whole_object_in_order(s3_storage, big):
    with open_stored(big) as file:
        assert file.read() == BIG


def test_a_stream_that_breaks_is_opened_again_where_it_broke(s3_storage, big):
    with open_stored(big) as file:
        first = file.read(100)
        file.raw._body.close()  # as a server closing a connection left idle
        assert first + file.read() == BIG


def test_an_object_replaced_while_open_fails_the_read(s3_storage, big):
    with open_stored(big) as file:
        default_storage.delete(big)
        default_storage.save(big, ContentFile(BIG.replace(b"line", b"LINE")))
        with pytest.raises(ClientError, match="PreconditionFailed"):
            file.read(10)


def test_open_stored_of_a_missing_or_empty_object(s3_storage):
    with pytest.raises(FileNotFoundError):
        open_stored("files/none.csv")
    empty = default_storage.save("files/empty.csv", ContentFile(b""))
    with open_stored(empty) as file:
        assert file.read() == b""


def test_files_opened_with_the_storage_api_spool_to_disk(s3_storage, big):
    """django-storages' S3File downloads into a SpooledTemporaryFile: bounded in memory."""
    with default_storage.open(big, "rb") as file:
        assert file.read(10) == BIG[:10]
        assert file.file._rolled  # past S3_SPOOL_MAX_MEMORY_BYTES, on disk
    assert len(BIG) > S3_SPOOL_MAX_MEMORY_BYTES


def test_urls_of_stored_files_are_signed(s3_storage, big):
    assert "X-Amz-Signature=" in default_storage.url(big)


def test_stored_files_lists_a_folder_with_times_in_one_listing(s3_storage):
    for name in ("staged/t1/a.csv", "staged/t1/b.csv", "staged/t1/deeper/c.csv", "staged/t2/d.csv"):
        default_storage.save(name, ContentFile(b"x"))
    listed = dict(stored_files("staged/t1"))
    assert sorted(listed) == ["staged/t1/a.csv", "staged/t1/b.csv"]
    assert listed["staged/t1/a.csv"] == default_storage.get_modified_time("staged/t1/a.csv")
    assert list(stored_files("staged/none")) == []


def test_stored_files_on_the_local_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    default_storage.save("staged/t1/a.csv", ContentFile(b"x"))
    default_storage.save("staged/t1/deeper/c.csv", ContentFile(b"x"))
    listed = dict(stored_files("staged/t1"))
    assert listed == {"staged/t1/a.csv": default_storage.get_modified_time("staged/t1/a.csv")}
    assert list(stored_files("staged/none")) == []
