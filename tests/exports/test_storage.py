"""Exports on shared object storage: written to and served from an S3-compatible bucket."""

import pytest

from exports.models import ContactExport

pytestmark = pytest.mark.django_db


def test_an_export_is_written_to_the_bucket_and_served_from_it(
    s3_storage, run_export, download, people
):
    _, body = run_export({"columns": ["name", "whatsapp"]})
    export = ContactExport.objects.get(pk=body["id"])
    assert s3_storage.names() == [export.file_path]
    expected = "\ufeffname,whatsapp\nAda Lovelace,'+14155550100;+14155550101\n"
    expected += '"\'-Grace, ""Amazing"" Hopper",\n'
    assert s3_storage.read(export.file_path).decode() == expected
    assert body["sizeBytes"] == len(expected.encode())
    assert download(body["id"]) == expected


def test_a_failed_export_leaves_nothing_in_the_bucket(s3_storage, run_export, people, settings):
    from unittest import mock

    from exports import services

    settings.EXPORT_CHUNK_ROWS = 1

    def broken(export, worker, fields):
        if fields == ["processed_rows"]:
            raise RuntimeError("the worker stopped")

    with mock.patch.object(services, "_save_progress", broken):
        _, body = run_export()
    assert body["status"] == "failed"
    assert s3_storage.names() == []
