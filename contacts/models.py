from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import IsNull
from django.utils import timezone

from flownally_admin.ids import PrefixedIdField
from flownally_admin.tenancy.models import Tenant
from tags.models import Tag

NAME_MAX_LENGTH = 255
EXTERNAL_ID_MAX_LENGTH = 255
LIVE = Q(deleted_at__isnull=True)


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    INSTAGRAM = "instagram", "Instagram"
    LIVECHAT = "livechat", "Live chat"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


PHONE_CHANNELS = (Channel.WHATSAPP, Channel.SMS)


def _matching_index(field: str, name: str) -> models.Index:
    value = KeyTextTransform(field, "custom_fields")
    return models.Index("tenant", value, condition=Q(IsNull(value, False)), name=name)


class Contact(models.Model):
    """A customer profile.

    `custom_fields` holds the values of custom fields as `{definition id: value}`
    with values already normalised by `customfields.types`; on PostgreSQL it is
    JSONB with a `jsonb_path_ops` GIN index for exact-match filters (`@>`) on the
    fields other than e-mail and phone, which have indexes of their own (below).

    `search_text` is what `search` looks in: the lower-cased name, e-mail, phone
    and phone-channel identities, kept current by the services (one trigram
    index serves the whole search instead of an OR across tables).

    `archived` mirrors `archived_at is not None` (a check constraint keeps them
    in step) so that every list index can start with (tenant, archived).
    """

    id = PrefixedIdField(prefix="ctc")
    # No database constraint (a lookup per row at COMMIT): the ContactCountDelta written in
    # the same transaction keeps one, checked once. bench/README.md, "Foreign keys".
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
    )
    # "" is "no name"; the API shows it as null.
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    search_text = models.TextField(blank=True, default="", editable=False)
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    created_by = models.CharField(max_length=40, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    archived = models.BooleanField(default=False, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The import that created the contact, if one did: in `create` mode a later row
    # matching it is a `duplicate_in_file`, not a `duplicate`.
    source_import_id = models.CharField(max_length=30, blank=True, default="", editable=False)
    # The contact a merge folded this one into (set with `deleted_at`): a GET of it says
    # where it went. No constraint and no index: only ever read through this row.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        editable=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(archived=True, archived_at__isnull=False)
                | Q(archived=False, archived_at__isnull=True),
                name="contact_archived_matches_archived_at",
            ),
        ]
        indexes = [
            # One per supported ordering; each starts with what every list filters on.
            models.Index(
                "tenant",
                "archived",
                "created_at",
                "id",
                condition=LIVE,
                name="contact_list_by_created",
            ),
            models.Index(
                "tenant",
                "archived",
                "updated_at",
                "id",
                condition=LIVE,
                name="contact_list_by_updated",
            ),
            models.Index(
                "tenant",
                "archived",
                Lower("name"),
                "id",
                condition=LIVE,
                name="contact_list_by_name",
            ),
            # Import matching by e-mail and by phone: on the value as text (cheaper than
            # jsonb), partial so each is the only index its probe fits whatever the
            # statistics; migration 0014 gives their expressions statistics.
            _matching_index("cf_email", "contact_by_email"),
            _matching_index("cf_phone", "contact_by_phone"),
            # The admin's "deleted" view, for restores.
            models.Index(
                "tenant",
                "deleted_at",
                condition=Q(deleted_at__isnull=False),
                name="contact_deleted",
            ),
        ]

    def __str__(self):
        return self.name or self.id

    @property
    def etag(self) -> str:
        """Changes with every mutation, because every mutation moves `updated_at`."""
        return f'"{int(self.updated_at.timestamp() * 1_000_000):x}"'


class Identity(models.Model):
    """A channel address of a contact: a WhatsApp number, an e-mail address, a Messenger id.

    `active` is false while the contact is soft-deleted, which frees the
    address for another contact: the unique constraint covers active rows only.
    """

    id = PrefixedIdField(prefix="idt")
    # The contact's tenant, copied for the tenant-scoped unique index; no constraint of its
    # own (see ContactTag.tenant).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # No database constraint, like ContactTag.contact.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="identities",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    external_id = models.CharField(max_length=EXTERNAL_ID_MAX_LENGTH)
    metadata = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "external_id"],
                condition=Q(active=True),
                name="uniq_live_identity",
            ),
        ]
        indexes = [models.Index(fields=["contact", "channel"], name="identity_contact_channel")]

    def __str__(self):
        return f"{self.channel}:{self.external_id}"


class ContactTag(models.Model):
    """A tag on a contact; the tenant is kept so every query can stay inside one tenant."""

    # The contact's tenant, copied so tenant-wide queries need no join; no constraint: the
    # contact already ties the row to a live tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # No constraint: contacts are only soft-deleted, and every writer holds the contact it
    # links to (created in its transaction or locked FOR UPDATE).
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="tag_links",
        db_index=False,
        db_constraint=False,
    )
    # No constraint: writers of links hold their tags once per transaction, and deleting a
    # tag locks it first (tags.services.tags_hold, tag_delete).
    tag = models.ForeignKey(
        Tag,
        on_delete=models.CASCADE,
        related_name="contact_links",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "tag"], name="uniq_contact_tag"),
        ]
        indexes = [models.Index(fields=["tag", "contact"], name="contact_tag_by_tag")]

    def __str__(self):
        return f"{self.tag_id} on {self.contact_id}"


class ContactCountDelta(models.Model):
    """A change to the number of live contacts in one bucket (active or archived).

    `GET /contacts/count` must stay fast on a million contacts, where COUNT(*)
    is not. Each write that moves contacts in or out of a bucket inserts a
    delta in its own transaction, so counts are exact and writers never wait on
    a shared counter row; reads sum the deltas, and a periodic task folds them
    together when they pile up (`contact_counts_compact`).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    archived = models.BooleanField()
    delta = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "archived"], name="contact_count_bucket")]

    def __str__(self):
        return f"{self.delta:+d} {'archived' if self.archived else 'active'} ({self.tenant_id})"


class ImportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportMode(models.TextChoices):
    UPSERT = "upsert"
    CREATE = "create"


class ContactImport(models.Model):
    """A CSV import job: the stored file, its progress, its outcome.

    `checkpoint_offset`/`checkpoint_row` say how far the file has been applied;
    they move in the same transaction as each batch's writes, so a worker that
    dies mid-batch is resumed from the last whole batch. `lease_owner` and
    `lease_expires_at` say which worker is on it; a lease that is not renewed
    lapses and another worker may take the job over.
    """

    id = PrefixedIdField(prefix="imp")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.CharField(max_length=40, editable=False)
    file_path = models.CharField(max_length=255, editable=False)
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list)
    mode = models.CharField(max_length=8, choices=ImportMode.choices, default=ImportMode.UPSERT)
    dry_run = models.BooleanField(default=False)
    tag_ids = models.JSONField(default=list)
    # Names from the file's `tags` column on the rows written (or, in a dry run, checked),
    # as the job page says what was added; at most FILE_TAG_NAMES_KEPT + 1 (importing).
    file_tag_names = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.IntegerField(null=True, blank=True)
    processed_rows = models.IntegerField(default=0)
    created_count = models.IntegerField(default=0)
    updated_count = models.IntegerField(default=0)
    skipped_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)
    # Contacts this import created that share an e-mail or phone with another live contact
    # (ContactImportDuplicate lists them); moves with each batch, like the counts above.
    possible_duplicates = models.IntegerField(default=0)
    ignored_columns = models.JSONField(default=list)
    failure_code = models.CharField(max_length=32, blank=True, default="")
    failure_message = models.CharField(max_length=500, blank=True, default="")
    checkpoint_offset = models.BigIntegerField(default=0)
    checkpoint_row = models.IntegerField(default=0)
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="contact_import_recent"),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=["queued", "running"]),
                name="contact_import_unfinished",
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.status})"


class ContactImportError(models.Model):
    """One problem with one row (or one cell) of an import. `column` is "" for the row."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="errors", db_index=False
    )
    row = models.IntegerField()
    column = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=32)
    message = models.CharField(max_length=500)
    value = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            # A resumed batch can never report the same problem twice.
            models.UniqueConstraint(
                fields=["contact_import", "row", "column"], name="uniq_import_error_cell"
            ),
        ]

    def __str__(self):
        return f"row {self.row} {self.column}: {self.code}"


class ContactImportKey(models.Model):
    """What a dry run would have written: each matching key (identity, e-mail, phone) seen
    so far in the file, and the contact it stands for. Real runs match against real rows;
    a dry run writes no contacts, so later rows are matched against these instead."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=300)
    contact_ref = models.CharField(max_length=30)
    created_here = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_import", "key"], name="uniq_import_key"),
        ]

    def __str__(self):
        return self.key


class ContactImportDuplicate(models.Model):
    """A contact an import created that looked like a duplicate (contacts/importing/
    duplicates.py): what the admin lists for review from the import's page. Written in the
    batch's transaction, with the count. The contact id is kept as text, like
    `Contact.source_import_id`: only ever read by the import, and contacts are never
    deleted from under it."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact_id = models.CharField(max_length=30)

    class Meta:
        constraints = [
            # Also the index the review list reads the import's contacts through.
            models.UniqueConstraint(
                fields=["contact_import", "contact_id"], name="uniq_import_duplicate"
            ),
        ]

    def __str__(self):
        return f"{self.contact_id} ({self.contact_import_id})"


class ContactImportDraft(models.Model):
    """What a dry run would have made of a contact it creates or changes: its name, values,
    identities and tags after the batches so far. A later row that matches the contact is
    compared with this, as a real run compares it with the written contact, so that a row
    that would change nothing counts as skipped in both (§10)."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact_ref = models.CharField(max_length=30)
    # {name, values, identities: [[channel, external id]], tagIds, tagKeys (lower-cased names)}
    state = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_import", "contact_ref"], name="uniq_import_draft"
            ),
        ]

    def __str__(self):
        return self.contact_ref
