"""One pycrdt document kept in sync through a room: the transport and persistence that shared cells and shared
notebooks have in common.

Every local change is broadcast to the others at once and appended, batched, to an update log in the backend; the
log is compacted into a snapshot now and then. Opening loads snapshot + log tail, and every (re)subscribe exchanges
state vectors with the others, so a late joiner, a restart or a missed broadcast during a disconnect ends with the
same document (DESIGN.md §3, §5.1, §5.4). What the document *is* (a text, a notebook) is the caller's business.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from pycrdt import Doc, Subscription, TransactionEvent, merge_updates

from nbrealtime.features.callbacks import CallbackList

__all__ = ["DocBackend", "DocKind", "DocThread", "SyncedDoc", "b64", "unb64"]

log = logging.getLogger("nbrealtime.doc")

FLUSH_SECONDS = 0.1
COMPACT_AFTER = 500
PAGE = 1000
NOT_OURS = ("remote", "store", "relayed")
DocThread = Callable[[Callable[[], None]], None]
"""Runs a function where the document may be changed (the owner's event loop)."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


class DocBackend(Protocol):
    """What a synced document needs from its room: broadcast, and the tables that persist it."""

    user_id: str

    def broadcast(self, event: str, payload: dict[str, Any]) -> None: ...

    def rest(self, name: str) -> Any: ...

    def run_soon(self, coroutine: Awaitable[None]) -> None: ...

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any: ...

    def pending_changed(self) -> None: ...


@dataclass(frozen=True)
class DocKind:
    """Where one kind of document travels: its two room events and its two tables (head row + update log)."""

    update_event: str
    sync_event: str
    payload_key: str  # names the document in a broadcast payload
    head_table: str  # (room, head_key) → snapshot, snapshot_seq
    head_key: str
    log_table: str  # seq, room, log_key, data
    log_key: str


class SyncedDoc:
    """A pycrdt ``Doc`` bound to ``(room, name)`` of one :class:`DocKind`.

    ``may_edit(user_id)`` decides whether updates from that user are applied (the permission hook: a viewer's
    broadcasts are refused, and a viewer's own edits are not sent); ``on_update(update, origin)`` sees every
    committed update and ``on_settled(local)`` runs after each batch (``local``: some of it was made here), both
    outside pycrdt's commit. ``auto_settle`` is for documents that others change too (a Jupyter server's live
    notebook): every commit schedules the broadcast itself. ``in_doc_thread(fn)`` runs ``fn`` where the document
    may be changed (the owner's event loop); by default, at once.

    ``screen`` (notebooks: outputs above the size limit) runs where the document lives before local edits go out:
    once ``screen_after`` bytes of local updates have accumulated, every further local update is *held* (recorded,
    not sent) until ``screen`` has had its chance to change the document; then one update covering everything held
    goes out instead. An update of the raw changes never leaves, so what ``screen`` took out never travels.
    """

    def __init__(self, backend: DocBackend, room: str, name: str, kind: DocKind, doc: Doc | None = None,
                 *, head_row: dict[str, Any] | None = None, auto_settle: bool = False,
                 in_doc_thread: DocThread | None = None) -> None:  # fmt: skip
        self.backend = backend
        self.room = room
        self.name = name
        self.kind = kind
        self.doc = doc if doc is not None else Doc()
        self.lock = threading.RLock()
        self.may_edit: Callable[[str], bool] = lambda _user_id: True
        self.on_update: CallbackList[tuple[bytes, str | None]] = CallbackList(f"{kind.payload_key} {name!r} update")
        self.on_settled: CallbackList[bool] = CallbackList(f"{kind.payload_key} {name!r}")
        self._head_row = dict(head_row or {})
        self._auto_settle = auto_settle
        self._in_doc_thread = in_doc_thread or (lambda function: function())
        self._applying: str | None = None
        self._subscription: Subscription | None = self.doc.observe(self._on_transaction)  # keep: pycrdt lesson §5.9
        self._committed: list[tuple[bytes, str | None, bool]] = []  # update, origin, held
        self.screen: Callable[[], None] | None = None
        self.screen_after = 0
        self._unscreened = 0  # bytes of local updates sent since the last screening
        self._held_from: bytes | None = None  # the state vector before the first held update
        self._unsaved: list[bytes] = []
        self._flush_scheduled = False
        self._log_seq = 0
        self._log_rows_since_snapshot = 0
        self.answered = threading.Event()  # another peer answered our state vector (sync step 2 arrived)

    @property
    def pending_count(self) -> int:
        """Local edits not yet saved to the backend's log."""
        return len(self._unsaved)

    def detach(self) -> None:
        """Stop following the document (it stays usable, its changes no longer travel)."""
        if self._subscription is not None:  # once: a stopped copy is detached again when it is closed
            self.doc.unobserve(self._subscription)
            self._subscription = None

    # ------------------------------------------------------------------ CRDT exchange

    def state_vector(self) -> bytes:
        with self.lock:
            return self.doc.get_state()

    def update_since(self, state_vector: bytes | None = None) -> bytes:
        with self.lock:
            return self.doc.get_update(state_vector)

    def apply_update(self, update: bytes, origin: str) -> None:
        """Apply an update that came from ``origin``: "remote" (another peer, already persisted by its author),
        "store" (the backend's log), "relayed" (a view that broadcast and persists it itself) or anything else (a
        local view: then it is ours to broadcast and persist)."""

        def apply() -> None:
            with self.lock:
                self._applying = origin
                try:
                    self.doc.apply_update(update)
                finally:
                    self._applying = None
            self.settle()

        self._in_doc_thread(apply)

    def note_persisted(self) -> None:
        """A view stored a log row itself: count it toward the next compaction."""
        self._log_rows_since_snapshot += 1
        if self._log_rows_since_snapshot >= COMPACT_AFTER:
            self._log_rows_since_snapshot = 0
            self.backend.run_soon(self.compact())

    # ------------------------------------------------------------------ room wiring (background loop)

    def _head(self) -> Any:
        return self.backend.rest(self.kind.head_table)

    def _log(self) -> Any:
        return self.backend.rest(self.kind.log_table)

    async def read_head(self) -> dict[str, Any] | None:
        """The document's head row (snapshot and its position), None if the room has no such document."""
        kind = self.kind
        found = await self._head().select("*").eq("room", self.room).eq(kind.head_key, self.name).execute()
        return found.data[0] if found.data else None

    async def create_head(self) -> None:
        """Make the head row exist (a no-op when it does)."""
        row = {"room": self.room, self.kind.head_key: self.name, **self._head_row}
        await self._head().upsert(row, ignore_duplicates=True).execute()

    async def load(self, head: dict[str, Any] | None = None) -> None:
        """Snapshot + log tail from the backend (a late joiner, a restart)."""
        row = head if head is not None else await self.read_head() or {}
        if row.get("snapshot"):
            self.apply_update(unb64(row["snapshot"]), "store")
        self._log_seq = max(self._log_seq, int(row.get("snapshot_seq") or 0))
        await self.catch_up()

    async def catch_up(self) -> None:
        """Apply log rows written since the last one seen (after a reconnect: what was persisted meanwhile)."""
        kind = self.kind
        while True:
            page = (
                await self._log()
                .select("seq,data,author")
                .eq("room", self.room)
                .eq(kind.log_key, self.name)
                .gt("seq", self._log_seq)
                .order("seq")
                .limit(PAGE)
                .execute()
            )
            if not page.data:
                return
            allowed = [unb64(r["data"]) for r in page.data if r.get("author") is None or self.may_edit(r["author"])]
            if allowed:
                self.apply_update(merge_updates(*allowed), "store")
            self._log_seq = int(page.data[-1]["seq"])
            self._log_rows_since_snapshot += len(page.data)
            if len(page.data) < PAGE:
                return

    async def resubscribed(self) -> None:
        """After every (re)subscribe: save what waited, read what was saved meanwhile, then sync with the others."""
        await self.flush()
        await self.catch_up()
        self.request_sync()

    def request_sync(self) -> None:
        """Sync step 1: ask the others for what we lack, telling them what we have."""
        payload = {self.kind.payload_key: self.name}
        self._in_doc_thread(
            lambda: self.backend.broadcast(self.kind.sync_event, {**payload, "sv": b64(self.state_vector())})
        )

    def on_remote(self, event: str, data: dict[str, Any], sender: str) -> None:
        """A broadcast about this document from another peer (handled where the document lives)."""
        self._in_doc_thread(lambda: self._on_remote(event, data, sender))

    def _on_remote(self, event: str, data: dict[str, Any], sender: str) -> None:
        kind = self.kind
        if event == kind.update_event:
            if self.may_edit(sender):
                self.apply_update(unb64(data["update"]), "remote")
            else:
                log.warning("%s %r: refused an update from %s, who may not edit", kind.payload_key, self.name, sender)
        elif event == kind.sync_event:
            self.release_held()  # an answer is the document itself: never with what screening would take out
            missing = self.update_since(unb64(data["sv"]))
            if data.get("reply_to") is None:
                # Step 2: answer with what the requester lacks, and say what we have so it can answer in turn.
                self.backend.broadcast(
                    kind.sync_event,
                    {kind.payload_key: self.name, "sv": b64(self.state_vector()), "reply_to": sender,
                     "update": b64(missing)},
                )  # fmt: skip
            elif data["reply_to"] == self.backend.user_id:
                if data.get("update") and self.may_edit(sender):
                    self.apply_update(unb64(data["update"]), "remote")
                self.answered.set()
                if missing and len(missing) > 2:
                    self._broadcast_update(missing)

    # ------------------------------------------------------------------ internals

    def _on_transaction(self, event: TransactionEvent) -> None:
        # Inside pycrdt's commit the document is borrowed: only record, and act in settle() afterwards. Commits
        # come in order, so deciding here what to hold keeps every update after the first held one held too.
        origin = self._applying
        held = False
        if self.screen is not None and origin not in NOT_OURS:
            with self.lock:
                if self._held_from is None and self._unscreened + len(event.update) >= self.screen_after:
                    self._held_from = event.before_state
                    self.backend.run_soon(self._screen_soon())
                held = self._held_from is not None
                if not held:
                    self._unscreened += len(event.update)
        self._committed.append((event.update, origin, held))
        if self._auto_settle:
            self.backend.run_soon(self._settle_soon())

    async def _screen_soon(self) -> None:
        self._in_doc_thread(self.release_held)

    @property
    def holding(self) -> bool:
        """Local updates wait for screening (nothing of the document may be sent or stored whole meanwhile)."""
        return self._held_from is not None

    def release_held(self) -> None:
        """Where the document lives: screen it, then send one update covering every held change."""
        with self.lock:
            if self._held_from is None:
                return
            assert self.screen is not None
            self.screen()  # its own change is held too: it is part of what goes out below
            since, self._held_from = self._held_from, None
            self._unscreened = 0
            update = self.doc.get_update(since)
        self.settle()
        if self.may_edit(self.backend.user_id):
            self.publish(update)

    async def send_screened(self, since: bytes) -> None:
        """Send everything the document has beyond the state vector ``since`` (sharing it, merging offline edits),
        screened first, and wait until it is queued."""
        sent: concurrent.futures.Future[None] = concurrent.futures.Future()

        def send() -> None:
            try:
                with self.lock:
                    if self._held_from is None:
                        self._held_from = since
                    else:  # already holding: cover both
                        self._held_from = b"\x00"
                self.release_held()
                sent.set_result(None)
            except BaseException as error:
                sent.set_exception(error)

        if self.screen is None:
            self.publish(self.update_since(since))
            return
        self._in_doc_thread(send)
        await asyncio.wrap_future(sent)

    async def _settle_soon(self) -> None:
        self.settle()

    def settle(self) -> None:
        """After a change: broadcast and queue our own edits, tell the views and callbacks."""
        with self.lock:
            committed, self._committed = self._committed, []
        if not committed:
            return
        local = False
        for update, origin, held in committed:
            if origin not in NOT_OURS:
                local = True
                if not held and self.may_edit(self.backend.user_id):  # a viewer's copy is read-only
                    self.publish(update)
            self.on_update.fire((update, origin))
        self.on_settled.fire(local)

    def publish(self, update: bytes) -> None:
        """Send a local update to the others and queue it for the log (also: edits a copy made while away)."""
        self._broadcast_update(update)
        with self.lock:
            self._unsaved.append(update)
            schedule = not self._flush_scheduled
            self._flush_scheduled = True
        if schedule:
            self.backend.run_soon(self._flush_later())
            self.backend.pending_changed()

    def _broadcast_update(self, update: bytes) -> None:
        self.backend.broadcast(self.kind.update_event, {self.kind.payload_key: self.name, "update": b64(update)})

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Persist the batched local updates as one log row; kept for the next try if the backend is away."""
        with self.lock:
            self._flush_scheduled = False
            if not self._unsaved:
                return
            batch, self._unsaved = self._unsaved, []
        merged = merge_updates(*batch)
        try:
            await (
                self._log()
                .insert({"room": self.room, self.kind.log_key: self.name, "data": b64(merged)}, returning="minimal")
                .execute()
            )
        except Exception as error:
            log.info("%s %r: could not save edits yet (%s); will retry", self.kind.payload_key, self.name, error)
            with self.lock:
                self._unsaved.insert(0, merged)
            return
        self._log_rows_since_snapshot += 1
        self.backend.pending_changed()
        if self._log_rows_since_snapshot >= COMPACT_AFTER:
            await self.compact()

    async def compact(self) -> None:
        """Fold the log into the snapshot: snapshot covers every row up to the newest seq, then those rows go."""
        kind = self.kind
        if self.holding:
            return  # the snapshot would carry what screening is about to take out: the next compaction does it
        newest = (
            await self._log()
            .select("seq")
            .eq("room", self.room)
            .eq(kind.log_key, self.name)
            .order("seq", desc=True)
            .limit(1)
            .execute()
        )
        if not newest.data:
            return
        await self.catch_up()  # the snapshot must contain every row it claims to cover
        upto = int(newest.data[0]["seq"])
        with self.lock:
            if self.holding:
                return
            snapshot = self.update_since()
        stored = (
            await self._head()
            .update({"snapshot": b64(snapshot), "snapshot_seq": upto})
            .eq("room", self.room)
            .eq(kind.head_key, self.name)
            .lt("snapshot_seq", upto)
            .execute()
        )
        if stored.data:
            await self._log().delete().eq("room", self.room).eq(kind.log_key, self.name).lte("seq", upto).execute()
        self._log_rows_since_snapshot = 0
