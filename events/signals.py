"""Signals of the event log, for its readers."""

from django.dispatch import Signal

# Sent after the commit of a transaction that recorded events of the tenant `tenant_id`:
# readers that push events (webhooks) look for new ones then, instead of polling.
events_committed = Signal()
