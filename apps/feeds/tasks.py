from celery import shared_task

from .services import signature_nonces_prune


@shared_task
def prune_signature_nonces() -> int:
    return signature_nonces_prune()
