"""The contacts app's admin: contacts (contacts.py, with its edit form in contact_forms.py)
and contact imports (imports.py, started through import_start.py)."""

from . import contacts, imports  # noqa: F401  (register the ModelAdmins)
