"""The change feed: committed row changes pushed to the ``postgres_changes`` subscribers allowed to see them.

Every write goes through this process's data API, so changes are published right after their commit, in commit
order — no WAL decoding needed. Each change is checked per subscriber like Realtime's ``apply_rls``: event, filter,
and the table's select policy for the subscriber's *current* claims (PROTOCOL.md §4.4). Unlike hosted Supabase, a
DELETE is checked against the deleted row too, so nobody learns of rows they could not read.

With ``Compat(mode="hosted")`` it sends what hosted Supabase sends instead (``realtime.apply_rls``): a DELETE goes
to every subscription of the table whose event matches — no filter, no row policy — with ``old_record`` cut down to
the primary key (every table here has RLS); and a subscription hears nothing during its first ``subscribe_gap``
seconds (``docs/compat-hosted.md``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbrealtime import schema
from nbrealtime.server.config import Compat
from nbrealtime.server.filters import Filter, FilterError, parse_realtime_filter
from nbrealtime.server.policies import row_allowed
from nbrealtime.server.realtime.hub import ChannelMember
from nbrealtime.server.realtime.protocol import Frame
from nbrealtime.server.storage import pg_type_name

__all__ = ["ChangeFeed"]

EVENTS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class _Subscription:
    member: ChannelMember
    id: int
    event: str
    table: str | None
    filter: Filter | None
    select: tuple[str, ...] | None


class BindingError(ValueError):
    pass


def _unavailable(binding: dict[str, Any]) -> BindingError:
    return BindingError(
        "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given "
        f"connect parameters: [schema: {binding.get('schema') or 'public'}, table: {binding.get('table') or '*'}]"
    )


class ChangeFeed:
    def __init__(
        self, tables: dict[str, schema.Table], is_member: Callable[[str, str], bool], compat: Compat | None = None
    ) -> None:
        self.tables = tables
        self.is_member = is_member
        self.compat = compat or Compat()
        self._by_member: dict[ChannelMember, list[_Subscription]] = {}
        self._deaf_until: dict[ChannelMember, float] = {}

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, member: ChannelMember) -> list[str]:
        """Register ``member.bindings``; on any invalid binding register none and return the error."""
        try:
            subscriptions = [self._parse(member, binding) for binding in member.bindings]
        except BindingError as error:
            return [str(error)]
        self._by_member[member] = subscriptions
        if self.compat.subscribe_gap > 0:
            self._deaf_until[member] = time.monotonic() + self.compat.subscribe_gap
        return []

    def _parse(self, member: ChannelMember, binding: dict[str, Any]) -> _Subscription:
        if (binding.get("schema") or "public") != "public":
            raise _unavailable(binding)
        table_name = binding.get("table")
        table = None if table_name in (None, "*") else self.tables.get(table_name)
        if table_name not in (None, "*") and table is None:
            raise _unavailable(binding)
        event = str(binding.get("event") or "*").upper()
        filter_text = binding.get("filter")
        select = binding.get("select")
        if table is None and (filter_text or select):
            raise BindingError("Unable to subscribe to changes with given parameters: filter and select need a table")
        parsed = None
        if table is not None and filter_text:
            try:
                parsed = parse_realtime_filter(str(filter_text), table)
            except FilterError as error:
                if error.kind == "parse":
                    raise BindingError(error.message) from None
                raise BindingError(
                    "Unable to subscribe to changes with given parameters. An exception happened so please check "
                    f"your connect parameters: [schema: public, table: {table.name}, filters: [{filter_text}]]. "
                    f"Exception: ERROR: {error.message}"
                ) from None
        columns = None
        if select:
            if not isinstance(select, list) or table is None:
                raise BindingError("`select` must be a list of column names")
            unknown = [name for name in select if table.column(name) is None]
            if unknown:
                raise BindingError(f"Unable to subscribe to changes: unknown columns {unknown} in `select`")
            columns = tuple(dict.fromkeys([*table.primary_key, *select]))
        return _Subscription(
            member, binding["id"], event if event in EVENTS else "*", table_name if table else None, parsed, columns
        )

    def member_left(self, member: ChannelMember) -> None:
        self._by_member.pop(member, None)
        self._deaf_until.pop(member, None)

    def _deaf(self, member: ChannelMember) -> bool:
        """Hosted mode: is ``member`` still in the window after SUBSCRIBED in which events are lost?"""
        until = self._deaf_until.get(member)
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        del self._deaf_until[member]
        return False

    # ------------------------------------------------------------------ publishing

    def publish(
        self,
        table: schema.Table,
        event: str,
        record: dict[str, Any] | None,
        old_record: dict[str, Any] | None,
        commit_timestamp: str,
    ) -> int:
        """Push one committed change to every subscriber allowed to see it; return how many got it."""
        row = record if record is not None else old_record
        if row is None:
            return 0
        now = time.time()
        unchecked = self.compat.hosted and event == "DELETE"  # hosted Supabase cannot filter or secure deletes
        if unchecked:
            old_record = {name: row[name] for name in table.primary_key}
        matched: dict[ChannelMember, list[_Subscription]] = defaultdict(list)
        for member, subscriptions in list(self._by_member.items()):
            if self._deaf(member):
                continue
            for subscription in subscriptions:
                if subscription.table not in (None, table.name) or subscription.event not in ("*", event):
                    continue
                if not unchecked and subscription.filter is not None and not subscription.filter.matches(row):
                    continue
                matched[member].append(subscription)
        delivered = 0
        for member, subscriptions in matched.items():
            claims = member.claims
            if claims.exp is not None and claims.exp < now:
                member.connection.expire(member, int(now - claims.exp))
                continue
            if not unchecked and not row_allowed(table, "select", row, claims, self.is_member):
                continue
            data = _change(table, event, record, old_record, commit_timestamp, _selection(subscriptions))
            ids = list(dict.fromkeys(subscription.id for subscription in subscriptions))
            member.connection.send(Frame(member.topic, "postgres_changes", {"ids": ids, "data": data}))
            delivered += 1
        return delivered


def _selection(subscriptions: list[_Subscription]) -> tuple[str, ...] | None:
    """The union of the matched bindings' ``select`` lists; None (all columns) if any binding wants all."""
    if any(subscription.select is None for subscription in subscriptions):
        return None
    return tuple(dict.fromkeys(name for subscription in subscriptions for name in subscription.select or ()))


def _change(
    table: schema.Table,
    event: str,
    record: dict[str, Any] | None,
    old_record: dict[str, Any] | None,
    commit_timestamp: str,
    columns: tuple[str, ...] | None,
) -> dict[str, Any]:
    """The ``data`` of a postgres_changes message, with the keys the clients require (PROTOCOL.md P3)."""
    visible = [column for column in table.columns if columns is None or column.name in columns]
    names = [column.name for column in visible]
    data: dict[str, Any] = {
        "schema": "public",
        "table": table.name,
        "commit_timestamp": commit_timestamp,
        "type": event,
        "columns": [{"name": column.name, "type": pg_type_name(column)} for column in visible],
        "errors": None,
    }
    if record is not None:
        data["record"] = {name: record.get(name) for name in names}
    if old_record is not None and event != "INSERT":
        data["old_record"] = {name: old_record[name] for name in names if name in old_record}
    return data
