"""A paginator that stops counting at a cap, for the lists of the largest tables (raw messages,
dead letters, canonical events on no order, exception cases): an exact COUNT(*) of millions of
rows costs more than the page it heads, on every request.

The count is `COUNT(*)` over a subquery LIMITed to COUNT_CAP + 1 rows: exact up to the cap, and
"more than the cap" beyond it (shown as "10,000+"). Paging still reaches every row: past the cap
a page reads one row more than it shows to know whether a next page exists."""

from functools import cached_property
from math import ceil
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator

COUNT_CAP = 10_000


def count_text(n: int, capped: bool) -> str:
    """`1,234`, or `10,000+` when the count stopped at the cap."""
    return f"{n:,}+" if capped else f"{n:,}"


class CappedPaginator(Paginator):
    """Django's Paginator with a capped count. `count` is exact up to `cap`, and `cap + 1` when
    there are more rows (`capped`); `count_text` is what a page shows."""

    def __init__(self, object_list: Any, per_page: int, *args: Any, cap: int | None = None, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list
        if hasattr(rows, "query"):  # a QuerySet: SELECT COUNT(*) FROM (… LIMIT cap + 1)
            return int(rows[: self.cap + 1].count())
        return min(len(rows), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @property
    def count_text(self) -> str:
        return count_text(self.cap if self.capped else self.count, self.capped)

    @cached_property
    def num_pages(self) -> int:
        """The pages up to the cap (a lower bound when capped: the pager says "of N+")."""
        if not self.capped:
            return int(super().num_pages)
        return ceil(self.count / self.per_page)

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return int(super().validate_number(number))
        # Beyond the counted pages the page itself says whether it holds rows (page()).
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(number)
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return int(number)

    def get_page(self, number: Any) -> Page[Any]:
        """As Django's: a page number out of range shows the last (counted) page."""
        try:
            return super().get_page(number)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page[Any]:
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return _CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class _CappedPage(Page[Any]):
    """A page past the counted rows' knowledge: has_next is read, not computed from a count."""

    def __init__(self, object_list: Any, number: int, paginator: CappedPaginator, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._more = more

    def has_next(self) -> bool:
        return self._more

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)
