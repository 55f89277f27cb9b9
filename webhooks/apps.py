from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        from events.signals import events_committed

        from .dispatch import fan_out_soon

        events_committed.connect(fan_out_soon, dispatch_uid="webhooks.fan_out_soon")
