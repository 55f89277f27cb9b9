"""CSV import of contacts (contract §4).

sniff.py     the first 64 KiB at upload: encoding, delimiter, header; stores UTF-8
reader.py    streams rows from the stored file with byte offsets, for resuming
columns.py   header → what each column means (name, e-mail, identity, field, tags)
rows.py      one row → a checked contact, through the same rules as the API
plan.py      a batch of rows → creates, updates and errors (matching, modes)
writers.py   applying a plan: COPY + set-based SQL on PostgreSQL, bulk ORM elsewhere
selectors.py an upload's columns as the import will read them (the admin's preview)
staging.py   an admin upload kept between its preview and its start
services.py  creating an import, running it (lease, checkpoint, resume, failure)
"""
