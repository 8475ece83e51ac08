"""A second "kernel" for tests: joins a room and obeys JSON commands on stdin, reporting events on stdout.

Usage: ``python peer.py ROOM USER [IDLE_AFTER]``; the backend comes from the environment as for any notebook, and an
invite to redeem from ``NBRT_PEER_INVITE``.
Commands (one JSON object per line): ``{"do": "send", "event": E, "payload": P}``, ``{"do": "notify", "to": T,
"title": X, "notebook": N?, "cell": C?}``, ``{"do": "presence", "cell": C, "activity": A, "status": S}``,
``{"do": "mark_read", "id": I}``,
``{"do": "cell_watch", "cell": C}`` (then ``{"cell": C, "text": T}`` on every change),
``{"do": "cell_insert", "cell": C, "index": I (-1 = end), "text": T}``, ``{"do": "collection_insert", "name": N,
"values": V}``, ``{"do": "collection_watch", "name": N}`` (then ``{"rows": [...]}`` on every change),
``{"do": "open"}`` (let everyone signed in join as an editor), ``{"do": "role"}`` (then ``{"role": R}`` on every change
of this user's role, None once removed), ``{"do": "close"}``.
Every command is answered with ``{"done": <do>}`` or ``{"error": <message>}``.
Events: ``{"message": E, "payload": P, "sender": NAME}``, ``{"notification": TITLE, "id": I}``, ``{"members": [...]}``.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import nbrealtime

_out = threading.Lock()


def emit(document: dict) -> None:
    with _out:
        sys.stdout.write(json.dumps(document) + "\n")
        sys.stdout.flush()


def main(room_name: str, user: str) -> None:
    idle_after = float(sys.argv[3]) if len(sys.argv) > 3 else 300.0
    room = nbrealtime.connect(room_name, user=user, invite=os.environ.get("NBRT_PEER_INVITE"), idle_after=idle_after)
    room.on("*", lambda payload, sender: emit({"message": True, "payload": payload, "sender": sender.name}))
    room.notifications.on_new(lambda n: emit({"notification": n.title, "id": n.id}))
    room.presence.on_change(
        lambda members: emit({"members": [{"name": m.name, "status": m.status, "cell": m.cell} for m in members]})
    )
    emit({"ready": room.me.id, "unread": room.notifications.unread_count})
    for line in sys.stdin:
        command = json.loads(line)
        action = command.pop("do")
        try:
            if action == "send":
                room.send(command["event"], command.get("payload"))
            elif action == "notify":
                about = {key: command[key] for key in ("notebook", "cell") if key in command}
                room.notify(command["to"], command["title"], command.get("message", ""), **about)
            elif action == "presence":
                room.presence.update(**command)
            elif action == "mark_read":
                room.notifications.mark_read(command["id"])
            elif action == "cell_insert":
                cell = room.cell(command["cell"])
                index = command["index"] if command["index"] >= 0 else len(cell.text)
                cell.insert(index, command["text"])
            elif action == "cell_watch":
                cell = room.cell(command["cell"])
                cell.on_change(lambda text, name=command["cell"]: emit({"cell": name, "text": text}))
                emit({"cell": command["cell"], "text": cell.text})
            elif action == "collection_insert":
                handle = room.collection(command["name"]).insert(command["values"])
                emit({"inserted": handle.key, "status": handle.status})
            elif action == "collection_watch":
                table = room.collection(command["name"])
                table.on_change(lambda old, new, t=table: emit({"rows": t.rows}))
                emit({"rows": table.rows, "pending": table.pending_count})
            elif action == "open":
                room.settings(open_to="signed_in", role="editor")
            elif action == "role":
                room.on_role(lambda role: emit({"role": role}))
                emit({"role": room.role})
            elif action == "close":
                room.close()
                emit({"done": action})
                return
            emit({"done": action})
        except Exception as error:
            emit({"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
