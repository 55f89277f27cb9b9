import threading

import pytest
from django.db import connection

from flownally_admin.errors import ValidationFailed
from tags.models import Tag
from tags.selectors import TagNotFound
from tags.services import TagExists, tag_create, tag_delete, tag_name_normalize, tag_rename
from tests.factories.tags import TagFactory


def test_tag_name_normalize_trims():
    assert tag_name_normalize("  a b  ") == "a b"


def test_tag_name_normalize_reports_the_given_field():
    with pytest.raises(ValidationFailed) as excinfo:
        tag_name_normalize("", field="tags[2]")
    assert [(v.field, v.code) for v in excinfo.value.violations] == [("tags[2]", "required")]


@pytest.mark.django_db
def test_rename_follows_the_same_rules(tenant):
    tag = TagFactory(tenant=tenant, name="one")
    TagFactory(tenant=tenant, name="two")
    assert tag_rename(tenant=tenant, tag_id=tag.pk, name=" uno ").name == "uno"
    with pytest.raises(TagExists):
        tag_rename(tenant=tenant, tag_id=tag.pk, name="TWO")
    with pytest.raises(ValidationFailed):
        tag_rename(tenant=tenant, tag_id=tag.pk, name="x" * 65)


@pytest.mark.django_db
def test_delete_of_another_tenants_tag_is_not_found(tenant, other_tenant):
    tag = TagFactory(tenant=other_tenant)
    with pytest.raises(TagNotFound):
        tag_delete(tenant=tenant, tag_id=tag.pk)
    assert Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_name_make_one_tag(tenant):
    """The database constraint, not a check-then-insert, decides the race."""
    attempts = 8
    barrier = threading.Barrier(attempts)
    outcomes = []

    def create(index):
        try:
            barrier.wait()
            tag_create(tenant=tenant, name="Race" if index % 2 else "race", created_by="svc_t")
            outcomes.append("created")
        except TagExists:
            outcomes.append("exists")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["exists"] * (attempts - 1)
    assert Tag.objects.filter(tenant=tenant).count() == 1
