"""Pure rules for shared notebooks (jupyter_ydoc's YNotebook on pycrdt): cell identity, and what a copy that
joins a room with content of its own may do (docs/shared-notebooks.md, "Never duplicate, never lose").

A copy only ever shares history with the room by having received it (the room's updates, or a Jupyter server's
store of them): jupyter-server-ydoc's "deterministic" load from disk (client id 0) is not deterministic for maps
with several keys (pycrdt integrates a dict's keys in hash order; checked with jupyter-ydoc 4.2.1), so two servers
loading one file build conflicting histories. Nothing here knows about sockets or servers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc

__all__ = [
    "JoinAction",
    "as_notebook",
    "cell_ids",
    "classify_join",
    "content_of",
    "dominates",
    "drop_duplicate_cells",
    "execution_counts",
    "move_cell",
    "new_room_doc",
    "stamp_runs",
]

EMPTY_UPDATE_LENGTH = 2  # an update with no structs and no deletions


class JoinAction(enum.Enum):
    """What a copy joining a room does with its own content."""

    ADOPT = "adopt"  # it has nothing the room lacks: take the room's document
    MERGE = "merge"  # it holds edits made since its last sync, on the same history: merge them as CRDT updates
    DIVERGED = "diverged"  # its content is not a continuation of the room's: keep it aside, never merge it in


def new_room_doc(content: dict[str, Any]) -> Doc:
    """A notebook's first room document, built from nbformat JSON by this client."""
    doc = Doc()
    YNotebook(doc).set(content)
    return doc


def as_notebook(document: Doc | YNotebook) -> YNotebook:
    """The YNotebook view of a document (building one adds an undo manager: never inside a transaction)."""
    return document if isinstance(document, YNotebook) else YNotebook(document)


def content_of(document: Doc | YNotebook) -> dict[str, Any]:
    """The notebook as nbformat JSON, duplicates included (jupyter_ydoc hides them by default; we must not)."""
    return as_notebook(document).get(deduplicate=False)


def cell_ids(document: Doc | YNotebook) -> list[str]:
    return [str(cell.get("id")) for cell in as_notebook(document).ycells]


def move_cell(notebook: YNotebook, source: int, target: int) -> None:
    """Move a cell as JupyterLab does (delete + insert of a copy with the same id) in one transaction."""
    with notebook.ydoc.transaction():
        cell = notebook.get_cell(source)
        del notebook.ycells[source]
        notebook.ycells.insert(target, notebook.create_ycell(cell))


def drop_duplicate_cells(notebook: YNotebook) -> int:
    """Delete every later copy of a cell id (concurrent moves of one cell leave two copies); return how many.

    Two copies of one id keep their relative order on every replica that has both, so every replica deletes the
    same copy and the result converges.
    """
    cells = notebook.ycells
    seen: set[str] = set()
    later: list[int] = []
    for index, cell in enumerate(cells):
        cell_id = str(cell.get("id"))
        if cell_id in seen:
            later.append(index)
        seen.add(cell_id)
    if later:
        with notebook.ydoc.transaction():
            for index in reversed(later):
                del cells[index]
    return len(later)


def execution_counts(notebook: YNotebook) -> dict[str, Any]:
    """Each code cell's execution count by cell id (a change made here means: this person ran it)."""
    return {str(cell.get("id")): cell.get("execution_count") for cell in notebook.ycells}


def stamp_runs(notebook: YNotebook, seen: dict[str, Any], who: str) -> int:
    """Mark cells whose execution count changed since ``seen`` with ``metadata.nbrealtime = {ran_by, ran_at}``
    (outputs travel with the document; this says whose kernel made them). Updates ``seen``; returns how many."""
    stamped = 0
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with notebook.ydoc.transaction():
        for cell in notebook.ycells:
            cell_id, count = str(cell.get("id")), cell.get("execution_count")
            if count is not None and seen.get(cell_id) != count and "metadata" in cell:
                cell["metadata"]["nbrealtime"] = {"ran_by": who, "ran_at": now}
                stamped += 1
            seen[cell_id] = count
    return stamped


def decode_state_vector(state: bytes) -> dict[int, int]:
    """A Yjs state vector (varuint count, then client/clock pairs) as ``{client: clock}``."""
    numbers = list(_varuints(state))
    count = numbers[0] if numbers else 0
    pairs = numbers[1 : 1 + 2 * count]
    return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


def _varuints(data: bytes) -> Iterable[int]:
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            yield value
            value = shift = 0


def dominates(state: bytes, base: bytes) -> bool:
    """Whether a document with state vector ``state`` contains everything of one with ``base``."""
    have = decode_state_vector(state)
    return all(have.get(client, 0) >= clock for client, clock in decode_state_vector(base).items())


def classify_join(local: Doc, room_update: bytes, base: bytes | None) -> JoinAction:
    """Decide what a copy with its own content does when it (re)joins the room whose state is ``room_update``.

    ``base`` is the state vector the copy had at its last sync with this room (None if it never synced). The copy
    merges only if it continues that synced history and merging is consistent both ways; anything else — a file
    reloaded from disk, an unrelated notebook under the same name — is divergent. (Two copies of one cell id after
    concurrent moves are not divergence: :func:`drop_duplicate_cells` repairs them on every copy alike.)
    """
    room = Doc()
    room.apply_update(room_update)
    local_update = local.get_update()
    if len(local.get_update(room.get_state())) <= EMPTY_UPDATE_LENGTH:
        return JoinAction.ADOPT
    one_way = Doc()
    one_way.apply_update(room_update)
    one_way.apply_update(local_update)
    if base is None or not dominates(local.get_state(), base):
        # Not provably the synced history (a Jupyter server stopped mid-edit may have recorded a state its update
        # store never got): still safe to merge when what the copy adds changes nothing of the notebook.
        return JoinAction.MERGE if content_of(one_way) == content_of(room) else JoinAction.DIVERGED
    other_way = Doc()
    other_way.apply_update(local_update)
    other_way.apply_update(room_update)
    if content_of(one_way) != content_of(other_way):
        return JoinAction.DIVERGED
    return JoinAction.MERGE
