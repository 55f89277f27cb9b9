import threading

import pytest
from django.db import connection

from flownally_admin.errors import ValidationFailed
from tags.models import Tag
from tags.selectors import TagNotFound
from tags.services import (
    TagExists,
    tag_create,
    tag_delete,
    tag_name_normalize,
    tag_rename,
    tags_ensure,
)
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


@pytest.mark.django_db
def test_tags_ensure_returns_existing_tags_by_lower_cased_name_and_creates_the_others(
    tenant, other_tenant
):
    vip = TagFactory(tenant=tenant, name="VIP")
    theirs = TagFactory(tenant=other_tenant, name="beta")
    found = tags_ensure(tenant=tenant, names=["vip", " Beta ", "BETA"], created_by="usr_importer")
    beta = Tag.objects.get(tenant=tenant, name__iexact="beta")
    assert found == {"vip": vip.pk, "beta": beta.pk}
    assert beta.pk != theirs.pk
    assert (beta.name, beta.created_by) == ("Beta", "usr_importer")
    assert Tag.objects.filter(tenant=tenant).count() == 2


@pytest.mark.django_db
def test_tags_ensure_of_no_names_reads_nothing(tenant, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert tags_ensure(tenant=tenant, names=[], created_by="usr_importer") == {}


@pytest.mark.django_db
def test_tags_ensure_follows_the_name_rules(tenant):
    with pytest.raises(ValidationFailed):
        tags_ensure(tenant=tenant, names=["ok", "x" * 65], created_by="usr_importer")
    assert not Tag.objects.filter(tenant=tenant).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_ensures_of_the_same_names_share_one_tag_each(tenant):
    """Creators racing on the same names, in any case, all get the tag that won."""
    attempts = 6
    barrier = threading.Barrier(attempts)
    results = []

    def ensure(index):
        try:
            barrier.wait()
            names = ["Race", "other"] if index % 2 else ["race", "OTHER"]
            results.append(tags_ensure(tenant=tenant, names=names, created_by="svc_t"))
        finally:
            connection.close()

    threads = [threading.Thread(target=ensure, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tags = {tag.name.lower(): tag.pk for tag in Tag.objects.filter(tenant=tenant)}
    assert len(tags) == 2
    assert results == [tags] * attempts
