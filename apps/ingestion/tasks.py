"""File intake's Celery tasks (apps/ingestion/files.py)."""

from celery import shared_task

from .files import SPLIT_TASK, file_split, files_heal


@shared_task(name=SPLIT_TASK, acks_late=True)
def split_file(file_id: str) -> str | None:
    """Split an uploaded file into messages; None when another worker has it."""
    record = file_split(file_id=file_id)
    return None if record is None else record.status


@shared_task(name="ingestion.heal_files")
def heal_files() -> int:
    """Beat, every minute: queue the split of files left waiting or abandoned."""
    return files_heal()
