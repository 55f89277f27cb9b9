import factory

from contacts.models import Contact

from .tenancy import TenantFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    created_by = "svc_factory"
