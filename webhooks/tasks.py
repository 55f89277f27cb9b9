from celery import shared_task

from .dispatch import fan_out_started, webhook_endpoint_deliver, webhook_fan_out, webhooks_sweep
from .services import webhook_deliveries_purge_expired


@shared_task
def webhooks_fan_out_task(tenant_id: str) -> int:
    fan_out_started(tenant_id=tenant_id)
    return webhook_fan_out(tenant_id=tenant_id, inline=True)


@shared_task
def webhook_endpoint_deliver_task(endpoint_id: str) -> int:
    return webhook_endpoint_deliver(endpoint_id=endpoint_id)


@shared_task
def webhooks_sweep_task() -> dict[str, int]:
    return webhooks_sweep()


@shared_task
def webhook_deliveries_purge_expired_task() -> int:
    return webhook_deliveries_purge_expired()
