"""Writes on exception cases, one module per source of cases plus the people's actions."""

from .actions import (
    exception_acknowledge,
    exception_assign,
    exception_comment,
    exception_resolve,
    exception_snooze,
)
from .cases import CaseConflict
from .partner import exceptions_from_events
from .sla import sla_breach_open, sla_breach_resolve

__all__ = [
    "CaseConflict",
    "exception_acknowledge",
    "exception_assign",
    "exception_comment",
    "exception_resolve",
    "exception_snooze",
    "exceptions_from_events",
    "sla_breach_open",
    "sla_breach_resolve",
]
