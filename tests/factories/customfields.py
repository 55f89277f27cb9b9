import factory

from customfields.models import CustomFieldDefinition, EntityType
from flownally_admin.ids import new_id

from .tenancy import TenantFactory


class CustomFieldDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomFieldDefinition

    tenant = factory.SubFactory(TenantFactory)
    public_id = factory.LazyFunction(lambda: new_id("cf"))
    entity_type = EntityType.CONTACT
    name = factory.Sequence(lambda n: f"Field {n:03d}")
    type = "text"
    created_by = "svc_factory"
