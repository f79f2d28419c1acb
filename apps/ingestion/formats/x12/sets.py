"""Transaction set → candidates: the envelope verdict first, then the set's own mapper."""

from collections.abc import Callable

from ..base import Candidate, FeedContext, reject
from .checks import SetCheck, check_set
from .codes import SET_NAMES, SET_TABLE
from .common import SetEnv
from .envelope import TxSet
from .sets_214 import map_214
from .sets_856 import map_856
from .sets_freight import map_204, map_210
from .sets_warehouse import map_940, map_945

MAPPERS: dict[str, Callable[[SetEnv], None]] = {
    "214": map_214,
    "856": map_856,
    "940": map_940,
    "945": map_945,
    "204": map_204,
    "210": map_210,
}


def supported(set_id: str) -> bool:
    """The adapter can map this set (independent of any feed's code tables: the EDI layer)."""
    return set_id in MAPPERS


def mapped_sets(ctx: FeedContext) -> list[str]:
    """The sets this feed maps: the 214, and those its `x12.transaction_set` table types."""
    return [s for s in MAPPERS if s == "214" or ctx.codes.lookup(SET_TABLE, s) is not None]


def _unsupported(tx: TxSet, ctx: FeedContext) -> str:
    set_id = tx.set_id
    article = "an" if set_id.startswith("8") else "a"  # "an 850", "a 997"
    name = SET_NAMES.get(set_id, "transaction set")
    return f"set {tx.control} is {article} {set_id} ({name}); this feed maps {', '.join(mapped_sets(ctx))}"


def map_set(tx: TxSet, ctx: FeedContext) -> list[Candidate]:
    """The candidates of one set: one rejection for a broken envelope or a set this adapter
    does not map, else what its mapper makes of it."""
    env = SetEnv(tx, ctx)
    set_id = tx.set_id
    unsupported = "" if supported(set_id) else _unsupported(tx, ctx)
    if tx.errors:
        env.reject("; ".join([*tx.errors, unsupported] if unsupported else tx.errors))
        return env.candidates
    if unsupported:
        env.reject(unsupported)
        return env.candidates
    try:
        MAPPERS[set_id](env)
    except Exception as exc:  # a safety net: bad input must never escape as an exception
        return [reject(f"{tx.name}: the set could not be read ({type(exc).__name__}: {exc}); report this to support")]
    return env.candidates


def ack_check(tx: TxSet) -> SetCheck | None:
    """The 997's view of a sound set of a type the adapter maps (None otherwise: the envelope
    errors or the unsupported type decide)."""
    if tx.errors or not supported(tx.set_id):
        return None
    try:
        return check_set(tx)
    except Exception:  # the same safety net: a set that cannot be read is rejected
        return SetCheck(fatal=True)
