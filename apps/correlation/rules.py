"""The correlation rules of canonical-events.md §2 as plain data and pure functions (no ORM)."""

from apps.events.taxonomy import ALIAS_OF, RefKind

# Ids of one class name one process entity or its aliases. Links join nodes of *different*
# classes only: two shipments on one run, or two orders on one shipment, are never linked to
# each other (§2 rule 2), so they never become one process.
ORDER_CLASS = frozenset({RefKind.ORDER, RefKind.CUSTOMER_PO, RefKind.INVOICE, RefKind.RETURN})
TASK_CLASS = frozenset({RefKind.WAREHOUSE_TASK})
SHIPMENT_CLASS = frozenset({RefKind.SHIPMENT, RefKind.TRACKING_NUMBER, RefKind.LPN})
RUN_CLASS = frozenset({RefKind.DELIVERY_RUN, RefKind.LOAD})

CLASS_OF: dict[str, str] = {
    **dict.fromkeys(ORDER_CLASS, "order"),
    **dict.fromkeys(TASK_CLASS, "task"),
    **dict.fromkeys(SHIPMENT_CLASS, "shipment"),
    **dict.fromkeys(RUN_CLASS, "run"),
}


def link_pairs(refs: dict[str, list[str]]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Unordered pairs of ids an event links (each pair once; caller stores both directions)."""
    nodes = [(kind, value) for kind, values in refs.items() for value in values]
    pairs = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            if CLASS_OF[a[0]] != CLASS_OF[b[0]]:
                pairs.append((a, b))
    return pairs


def alias_bindings(refs: dict[str, list[str]]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """(alias, entity) pairs: an alias seen beside exactly one id of the entity kind it names.
    Beside several (a tracking number next to two shipments) it is ambiguous and not bound."""
    out = []
    for alias_kind, entity_kind in ALIAS_OF.items():
        entities = refs.get(entity_kind, [])
        if len(entities) != 1:
            continue
        for value in refs.get(alias_kind, []):
            out.append(((alias_kind, value), (entity_kind, entities[0])))
    return out


def is_run_level(refs: dict[str, list[str]]) -> bool:
    """Names a run or load and no shipment or order (§2 rule 4), e.g. run.dispatched."""
    return bool(refs) and all(kind in RUN_CLASS for kind in refs)
