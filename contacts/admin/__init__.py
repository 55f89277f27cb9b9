"""The contacts app's admin: contacts (contacts.py, with its edit form in contact_forms.py)
and contact imports (imports.py, with its start form in import_forms.py)."""

from . import contacts, imports  # noqa: F401  (register the ModelAdmins)
