"""Pure rules for outputs too large to share live (docs/shared-notebooks.md, "Large outputs").

An output whose nbformat JSON is above the limit never travels in the shared document: the copy where it appeared
stores it out of band and puts a *placeholder* output in its place, whose mime bundle says what was left out and
where to fetch it. Nothing here knows about sockets, tables or servers.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Map

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "OMITTED_MIME",
    "OUTPUT_LIMIT_VARIABLE",
    "SCREEN_ORIGIN",
    "OmittedOutput",
    "format_bytes",
    "output_bytes",
    "output_limit",
    "parse_limit",
    "placeholder",
    "replace_oversize_outputs",
    "screen_after",
]

OMITTED_MIME = "application/vnd.nbrealtime.omitted+json"
DEFAULT_OUTPUT_LIMIT = 1_000_000
OUTPUT_LIMIT_VARIABLE = "NBREALTIME_OUTPUT_LIMIT"
SCREEN_ORIGIN = "nbrealtime:omit-output"
"""The transaction origin of a replacement. Undo managers track only origin-less transactions, so the replaced
output is garbage-collected (its bytes leave the document's history) instead of kept for an undo."""
BINARY_TO_JSON = 8
"""An output's nbformat JSON is at most 6 times its bytes inside a CRDT update (a control character escaped as
``\\u0000``); 8 leaves room. So local updates worth less than limit / 8 bytes cannot carry an output above the limit."""
_UNITS = {"": 1, "b": 1, "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000}


def parse_limit(text: str | int) -> int:
    """A byte count from ``1000000``, ``"1MB"``, ``"500 kB"`` (decimal units); a clear error for anything else."""
    if isinstance(text, int) and not isinstance(text, bool):
        number, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
        if match is None or match.group(2).lower() not in _UNITS:
            raise ValueError(f"an output limit is a number of bytes, as 1000000 or 1MB or 500kB (not {text!r})")
        number, unit = float(match.group(1)), match.group(2).lower()
    limit = int(number * _UNITS[unit])
    if limit < 1:
        raise ValueError(f"an output limit must be at least one byte (not {text!r})")
    return limit


def output_limit(configured: str | int | None = None) -> int:
    """The limit in force: ``configured`` (a kernel's or a Jupyter server's), else ``$NBREALTIME_OUTPUT_LIMIT``,
    else 1 MB."""
    if configured is not None:
        return parse_limit(configured)
    from_environment = os.environ.get(OUTPUT_LIMIT_VARIABLE)
    return parse_limit(from_environment) if from_environment else DEFAULT_OUTPUT_LIMIT


def screen_after(limit: int) -> int:
    """How many bytes of local updates may go out before the document is checked for outputs above ``limit``."""
    return max(1, limit // BINARY_TO_JSON)


def output_bytes(output: dict[str, Any]) -> int:
    """The size of an output as nbformat JSON (UTF-8, compact): what the limit is about."""
    return len(json.dumps(output, separators=(",", ":"), ensure_ascii=False).encode())


def format_bytes(size: int) -> str:
    """``3.2 MB``, ``1 MB``, ``640 kB``, ``12 bytes``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _mime_types(output: dict[str, Any]) -> list[str]:
    if output.get("output_type") == "stream":
        return [f"text/plain ({output.get('name', 'stream')})"]
    if output.get("output_type") == "error":
        return ["error"]
    data = output.get("data")
    return sorted(data) if isinstance(data, dict) else []


@dataclass(frozen=True)
class OmittedOutput:
    """An output kept out of the shared document, and where it came from (``origin``: a Jupyter server's or a
    kernel's id, so the copy that holds it can show it at once)."""

    id: str
    room: str
    notebook: str
    output: dict[str, Any]
    bytes: int
    mime_types: list[str]
    ran_by: str
    origin: str

    @classmethod
    def of(cls, output: dict[str, Any], room: str, notebook: str, ran_by: str, origin: str) -> OmittedOutput:
        return cls(uuid.uuid4().hex, room, notebook, output, output_bytes(output), _mime_types(output), ran_by, origin)

    def describe(self) -> dict[str, Any]:
        """The placeholder's JSON (its ``application/vnd.nbrealtime.omitted+json`` part)."""
        return {
            "id": self.id,
            "room": self.room,
            "notebook": self.notebook,
            "bytes": self.bytes,
            "mime_types": self.mime_types,
            "ran_by": self.ran_by,
            "origin": self.origin,
        }

    def row(self) -> dict[str, Any]:
        """Its row in ``nbrt_notebook_outputs``."""
        return {**self.describe(), "output": self.output}


def placeholder(omitted: OmittedOutput, limit: int) -> dict[str, Any]:
    """The output that takes an omitted one's place: same kind (an execute result keeps its count), a mime bundle
    that says what was left out (``text/plain`` for anything that does not know the nbrealtime type)."""
    kinds = ", ".join(omitted.mime_types) or "no data"
    text = (
        f"[nbrealtime: a {format_bytes(omitted.bytes)} output ({kinds}) is not shared live "
        f"(limit {format_bytes(limit)})]"
    )
    replacement: dict[str, Any] = {
        "output_type": "display_data",
        "data": {OMITTED_MIME: omitted.describe(), "text/plain": text},
        "metadata": {},
    }
    if omitted.output.get("output_type") == "execute_result":
        replacement["output_type"] = "execute_result"
        replacement["execution_count"] = omitted.output.get("execution_count")
    return replacement


def replace_oversize_outputs(
    notebook: YNotebook, limit: int, room: str, notebook_id: str, ran_by: str, origin: str
) -> list[OmittedOutput]:
    """Put a placeholder in place of every output above ``limit`` (one transaction, :data:`SCREEN_ORIGIN`);
    return what was taken out. Call it where the document may be changed, on the copy where the outputs appeared
    (``ran_by``: its user)."""
    found: list[tuple[Any, int, OmittedOutput]] = []
    for cell in notebook.ycells:
        outputs = cell.get("outputs")
        if outputs is None:
            continue
        for index, youtput in enumerate(outputs):
            output = youtput.to_py() if hasattr(youtput, "to_py") else youtput
            if isinstance(output, dict) and output_bytes(output) > limit:
                found.append((outputs, index, OmittedOutput.of(output, room, notebook_id, ran_by, origin)))
    if found:
        with notebook.ydoc.transaction(origin=SCREEN_ORIGIN):
            for outputs, index, omitted in found:
                del outputs[index]
                outputs.insert(index, Map(placeholder(omitted, limit)))
    return [omitted for _outputs, _index, omitted in found]
