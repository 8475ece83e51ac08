"""Writes that the schema file's constraints refuse (``tests/schemas/relations.toml``), as data both backends run.

Each case is one write as a data API request (method, path, JSON body) and as the SQL PostgREST runs for it; both
must fail with the same SQLSTATE and message.  The embedded server's test sends the request as ``service_role``
(policies aside), the PostgreSQL test runs the SQL on a database prepared by ``nbrealtime sql`` from the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EMBEDDED_SECRETS", "REFUSED_WRITES", "SCHEMA_FILE", "SECRETS", "RefusedWrite"]

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "relations.toml"


@dataclass(frozen=True)
class RefusedWrite:
    name: str
    method: str
    path: str
    body: Any
    sql: str
    code: str
    message: str


REFUSED_WRITES: tuple[RefusedWrite, ...] = (
    RefusedWrite(
        "unknown author",
        "POST",
        "/posts",
        {"author": 99, "title": "x"},
        "insert into public.posts (author, title) values (99, 'x')",
        "23503",
        'insert or update on table "posts" violates foreign key constraint "posts_author_fkey"',
    ),
    RefusedWrite(
        "check fails",
        "POST",
        "/posts",
        {"author": 1, "title": "x", "stars": 9},
        "insert into public.posts (author, title, stars) values (1, 'x', 9)",
        "23514",
        'new row for relation "posts" violates check constraint "posts_stars_check"',
    ),
    RefusedWrite(
        "check on update",
        "PATCH",
        "/authors?id=eq.1",
        {"name": "   "},
        "update public.authors set name = '   ' where id = 1",
        "23514",
        'new row for relation "authors" violates check constraint "authors_name_check"',
    ),
    RefusedWrite(
        "varchar too long",
        "POST",
        "/authors",
        {"name": "x" * 21},
        f"insert into public.authors (name) values ('{'x' * 21}')",
        "22001",
        "value too long for type character varying(20)",
    ),
    RefusedWrite(
        "char too long",
        "POST",
        "/authors",
        {"name": "Alan", "country": "GBR"},
        "insert into public.authors (name, country) values ('Alan', 'GBR')",
        "22001",
        "value too long for type character(2)",
    ),
    RefusedWrite(
        "identity always",
        "POST",
        "/posts",
        {"id": 50, "author": 1, "title": "x"},
        "insert into public.posts (id, author, title) values (50, 1, 'x')",
        "428C9",
        'cannot insert a non-DEFAULT value into column "id"',
    ),
    RefusedWrite(
        "identity always on update",
        "PATCH",
        "/posts?id=eq.10",
        {"id": 51},
        "update public.posts set id = 51 where id = 10",
        "428C9",
        'column "id" can only be updated to DEFAULT',
    ),
)


# Row policies inside embedding: secrets are readable by their owner only ("A" and "B" are two signed-in users).
SECRETS: tuple[dict[str, object], ...] = (
    {"id": "a1", "owner": "A", "post": 10, "note": "A on 10"},
    {"id": "b1", "owner": "B", "post": 10, "note": "B on 10"},
    {"id": "b2", "owner": "B", "post": 11, "note": "B on 11"},
)
#: actor → ``posts?select=id,secrets(note)&order=id`` as (post id, notes) pairs; and the posts ``secrets!inner`` keeps.
EMBEDDED_SECRETS: dict[str, tuple[tuple[tuple[int, tuple[str, ...]], ...], tuple[int, ...]]] = {
    "anon": (((10, ()), (11, ())), ()),
    "A": (((10, ("A on 10",)), (11, ())), (10,)),
    "B": (((10, ("B on 10",)), (11, ("B on 11",))), (10, 11)),
}
