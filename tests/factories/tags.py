import factory

from tags.models import Tag

from .tenancy import TenantFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"tag {n:04d}")
    created_by = "svc_factory"
