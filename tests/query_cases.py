"""Data API queries and the rows they must return, as data that any backend's test can run.

Each case is a PostgREST query string over the ``docs`` table below and the SQL ``WHERE`` clause PostgREST runs for
it on PostgreSQL.  The embedded server's test sends the query string to ``/rest/v1/docs``; the PostgreSQL test
(``test_pgsql.py``) runs the clause on a real PostgreSQL 15 prepared by ``nbrealtime sql`` from the same schema.
Both must return exactly ``ids`` — so the two backends give the same rows for the same query.  No SQL engine here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CASES", "ERROR_CASES", "ROWS", "SCHEMA", "SELECT_CASES", "QueryCase", "SelectCase"]

SCHEMA = """
[tables.docs]
policy = { select = "anyone", insert = "anyone", update = "anyone", delete = "anyone" }

[tables.docs.columns]
id = "bigint primary key"
title = "text"
body = "text"
tags = "text[]"
meta = "jsonb"
n = "integer"
"""

ROWS: tuple[dict[str, object], ...] = (
    {
        "id": 1,
        "title": "Cats",
        "body": "The cats are running quickly",
        "tags": ["a", "b"],
        "meta": {"k": 1, "l": [1, 2]},
        "n": 3,
    },
    {"id": 2, "title": "dogs", "body": "A dog sat on the mat", "tags": ["b"], "meta": {"k": 2, "s": "x"}, "n": 10},
    {"id": 3, "title": None, "body": None, "tags": None, "meta": [1, "x"], "n": None},
    {
        "id": 4,
        "title": "fat cat",
        "body": "fat cat sat",
        "tags": ["c", None],
        "meta": {"k": True, "o": {"p": 1}},
        "n": 7,
    },
    {"id": 5, "title": "Mats", "body": "Supernovae stars are bright; the star shone", "tags": [], "meta": {}, "n": 0},
)


@dataclass(frozen=True)
class QueryCase:
    """``query`` (PostgREST filter parameters) and ``where`` (PostgreSQL) both select exactly ``ids``, in the order
    of ``order_by`` (PostgreSQL; the query then has its own ``order``)."""

    name: str
    query: str
    where: str
    ids: tuple[int, ...]
    order_by: str = "id"


@dataclass(frozen=True)
class SelectCase:
    """``query`` (``select=…&order=…``) answers ``rows``, as ``json_agg`` of ``sql`` does on PostgreSQL."""

    name: str
    query: str
    sql: str
    rows: tuple[dict[str, object], ...]


CASES: tuple[QueryCase, ...] = (
    # containment and overlap on text[]
    QueryCase("array contains", "tags=cs.{a}", "tags @> '{a}'", (1,)),
    QueryCase("array contains two", "tags=cs.{b,a}", "tags @> '{b,a}'", (1,)),
    QueryCase("array contains nothing", "tags=cs.{}", "tags @> '{}'", (1, 2, 4, 5)),
    QueryCase("array contained by", "tags=cd.{a,b,c}", "tags <@ '{a,b,c}'", (1, 2, 5)),
    QueryCase("array overlaps", "tags=ov.{c,a}", "tags && '{c,a}'", (1, 4)),
    QueryCase("not array contains", "tags=not.cs.{b}", "not (tags @> '{b}')", (4, 5)),
    QueryCase("quoted array element", 'tags=cs.{"b"}', "tags @> '{\"b\"}'", (1, 2)),
    # containment on jsonb
    QueryCase("jsonb contains object", 'meta=cs.{"k":1}', "meta @> '{\"k\":1}'", (1,)),
    QueryCase("jsonb contains nested", 'meta=cs.{"l":[2]}', "meta @> '{\"l\":[2]}'", (1,)),
    QueryCase("jsonb contains deep", 'meta=cs.{"o":{"p":1}}', 'meta @> \'{"o":{"p":1}}\'', (4,)),
    QueryCase("jsonb true is not 1", 'meta=cs.{"k":true}', "meta @> '{\"k\":true}'", (4,)),
    QueryCase("jsonb array contains", "meta=cs.[1]", "meta @> '[1]'", (3,)),
    QueryCase("jsonb array contains scalar", 'meta=cs."x"', "meta @> '\"x\"'", (3,)),
    QueryCase("jsonb contained by", 'meta=cd.{"k":2,"s":"x","z":0}', 'meta <@ \'{"k":2,"s":"x","z":0}\'', (2, 5)),
    # quantified patterns
    QueryCase("like any", "body=like(any).{*cat*,*dog*}", "body like any ('{%cat%,%dog%}')", (1, 2, 4)),
    QueryCase("like all", "body=like(all).{*at*,*s*}", "body like all ('{%at%,%s%}')", (1, 2, 4)),
    QueryCase("ilike any", "title=ilike(any).{c*,m*}", "title ilike any ('{c%,m%}')", (1, 5)),
    QueryCase("ilike all", "title=ilike(all).{*a*,*s}", "title ilike all ('{%a%,%s}')", (1, 5)),
    QueryCase("not like any", "title=not.like(any).{*a*}", "not (title like any ('{%a%}'))", (2,)),
    # full-text search on text (the column is vectorised with the default configuration, english)
    QueryCase("fts stems", "body=fts.cat", "body @@ to_tsquery('cat')", (1, 4)),
    QueryCase("fts and not", "body=fts.cat %26 !run", "body @@ to_tsquery('cat & !run')", (4,)),
    QueryCase("fts or", "body=fts.dog | star", "body @@ to_tsquery('dog | star')", (2, 5)),
    QueryCase("fts prefix", "body=fts.supern:*", "body @@ to_tsquery('supern:*')", (5,)),
    QueryCase("fts phrase operator", "body=fts.fat <-> cat", "body @@ to_tsquery('fat <-> cat')", (4,)),
    QueryCase("fts distance", "body=fts.dog <3> mat", "body @@ to_tsquery('dog <3> mat')", ()),
    QueryCase("fts distance exact", "body=fts.dog <4> mat", "body @@ to_tsquery('dog <4> mat')", (2,)),
    QueryCase("fts simple query", "body=fts(simple).cat", "body @@ to_tsquery('simple', 'cat')", (1, 4)),
    QueryCase("fts simple keeps plural", "body=fts(simple).cats", "body @@ to_tsquery('simple', 'cats')", ()),
    QueryCase("fts only stop words", "body=fts.the", "body @@ to_tsquery('the')", ()),
    QueryCase("plain fts", "body=plfts.running cats", "body @@ plainto_tsquery('running cats')", (1,)),
    QueryCase(
        "phrase fts",
        "body=phfts(english).sat on the mat",
        "body @@ phraseto_tsquery('english', 'sat on the mat')",
        (2,),
    ),
    QueryCase("phrase fts order", "body=phfts.cat fat", "body @@ phraseto_tsquery('cat fat')", ()),
    QueryCase("websearch", 'body=wfts."fat cat" or dog', "body @@ websearch_to_tsquery('\"fat cat\" or dog')", (2, 4)),
    QueryCase("websearch minus", "body=wfts.cat -fat", "body @@ websearch_to_tsquery('cat -fat')", (1,)),
    QueryCase("not fts", "body=not.fts.cat", "not (body @@ to_tsquery('cat'))", (2, 5)),
    # the new operators inside logic trees
    QueryCase(
        "or with cs and fts", "or=(tags.cs.{c},body.fts.dog)", "tags @> '{c}' or body @@ to_tsquery('dog')", (2, 4)
    ),
    QueryCase(
        "nested not",
        "or=(n.gt.8,not.and(tags.ov.{a,c},title.like(any).{*a*}))",
        "n > 8 or not (tags && '{a,c}' and title like any ('{%a%}'))",
        (2, 5),
    ),
)

PATH_CASES: tuple[QueryCase, ...] = (
    QueryCase("path text eq", "meta->>s=eq.x", "meta->>'s' = 'x'", (2,)),
    QueryCase("path json eq", "meta->k=eq.1", "meta->'k' = '1'", (1,)),
    QueryCase("path text of true", "meta->>k=eq.true", "meta->>'k' = 'true'", (4,)),
    QueryCase("path json order", "meta->k=gt.1", "meta->'k' > '1'", (2, 4)),
    QueryCase("path text order", "meta->>k=gt.1", "meta->>'k' > '1'", (2, 4)),
    QueryCase("path index", "meta->l->>0=eq.1", "meta->'l'->>0 = '1'", (1,)),
    QueryCase("path negative index", "meta->l->>-1=eq.2", "meta->'l'->>-1 = '2'", (1,)),
    QueryCase("path contains", 'meta->o=cs.{"p":1}', "meta->'o' @> '{\"p\":1}'", (4,)),
    QueryCase("path in", "meta->>k=in.(1,2)", "meta->>'k' in ('1','2')", (1, 2)),
    QueryCase("path missing is null", "meta->s=is.null", "meta->'s' is null", (1, 3, 4, 5)),
    QueryCase("path like", "meta->>k=like.*ru*", "meta->>'k' like '%ru%'", (4,)),
    QueryCase("path in a tree", "or=(meta->>s.eq.x,meta->k.eq.1)", "meta->>'s' = 'x' or meta->'k' = '1'", (1, 2)),
    QueryCase("order by json", "order=meta->k.desc,id", "true", (3, 5, 4, 2, 1), "meta->'k' desc, id"),
    QueryCase("order by text", "order=meta->>k.asc,id", "true", (1, 2, 4, 3, 5), "meta->>'k' asc, id"),
    QueryCase("order nulls first", "order=title.nullsfirst,id", "true", (3, 1, 5, 2, 4), "title nulls first, id"),
)
CASES += PATH_CASES

SELECT_CASES: tuple[SelectCase, ...] = (
    SelectCase(
        "json paths",
        "select=id,title:meta->>s,meta->k,meta->l->0,x:meta->o->>p,meta->>o&order=id",
        "select id, meta->>'s' as title, meta->'k' as k, meta->'l'->0 as l, meta->'o'->>'p' as x, meta->>'o' as o"
        " from public.docs order by id",
        (
            {"id": 1, "title": None, "k": 1, "l": 1, "x": None, "o": None},
            {"id": 2, "title": "x", "k": 2, "l": None, "x": None, "o": None},
            {"id": 3, "title": None, "k": None, "l": None, "x": None, "o": None},
            {"id": 4, "title": None, "k": True, "l": None, "x": "1", "o": '{"p": 1}'},
            {"id": 5, "title": None, "k": None, "l": None, "x": None, "o": None},
        ),
    ),
    SelectCase(
        "casts",
        "select=id::text,n::text,tags::text,meta::text,body:n::numeric,title::text&order=id",
        "select id::text as id, n::text as n, tags::text as tags, meta::text as meta, n::numeric as body,"
        " title::text as title from public.docs order by id",
        (
            {"id": "1", "n": "3", "tags": "{a,b}", "meta": '{"k": 1, "l": [1, 2]}', "body": 3, "title": "Cats"},
            {"id": "2", "n": "10", "tags": "{b}", "meta": '{"k": 2, "s": "x"}', "body": 10, "title": "dogs"},
            {"id": "3", "n": None, "tags": None, "meta": '[1, "x"]', "body": None, "title": None},
            {
                "id": "4",
                "n": "7",
                "tags": "{c,NULL}",
                "meta": '{"k": true, "o": {"p": 1}}',
                "body": 7,
                "title": "fat cat",
            },
            {"id": "5", "n": "0", "tags": "{}", "meta": "{}", "body": 0, "title": "Mats"},
        ),
    ),
)

ERROR_CASES: tuple[tuple[str, int, str], ...] = (
    # (query, HTTP status, PostgreSQL/PostgREST code) — what the embedded server answers for a query PostgREST refuses
    ("meta=ov.{a}", 404, "42883"),
    ("body=cs.{a}", 404, "42883"),
    ("n=fts.x", 404, "42883"),
    ("body=fts.a b", 400, "42601"),
    ("body=fts(klingon).x", 400, "42704"),
    ("title=like(some).{a}", 400, "PGRST100"),
    ("title=like(any).x", 400, "22P02"),
    ("meta=cs.{a}", 400, "22P02"),
    ("title->>a=eq.x", 404, "42883"),
    ("meta->>a->b=eq.x", 400, "PGRST100"),
    ("n::text=eq.3", 400, "PGRST100"),
    ("select=n::money", 400, "42704"),
    ("select=nope->a", 400, "42703"),
)
