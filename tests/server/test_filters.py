"""The shared filter grammar: parsing (REST and realtime), three-valued logic, and SQL ≡ Python evaluation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbrealtime import schema
from nbrealtime.server import filters, storage
from nbrealtime.server.filters import FilterError, parse_logic_tree, parse_realtime_filter, parse_rest_condition
from nbrealtime.server.storage import DatabaseError

TABLE = schema.make_table(
    "things",
    {
        "id": "bigint primary key",
        "name": "text",
        "n": "integer",
        "x": "double precision",
        "flag": "boolean",
        "at": "timestamptz",
        "owner": "uuid",
        "data": "jsonb",
    },
    "public",
)


def rest(text: str) -> filters.Filter:
    """``col=op.value`` as a one-condition filter."""
    column, _, value = text.partition("=")
    return filters.Filter(TABLE, (parse_rest_condition(TABLE, column, value),))


# ---------------------------------------------------------------------------------------------------- parsing


def test_rest_values_are_cast_to_the_column_type() -> None:
    condition = parse_rest_condition(TABLE, "at", "gt.2025-01-02 03:04:05+02")
    assert condition.value == "2025-01-02T01:04:05.000000+00:00"
    assert parse_rest_condition(TABLE, "flag", "eq.true").value == 1
    assert parse_rest_condition(TABLE, "owner", "eq.0A11CE00-0000-4000-8000-00000000000A").value == (
        "0a11ce00-0000-4000-8000-00000000000a"
    )
    assert parse_rest_condition(TABLE, "data", 'eq.{"b":1,"a":2}').value == '{"a":2,"b":1}'


def test_rest_in_lists_quote_and_escape() -> None:
    condition = parse_rest_condition(TABLE, "name", 'in.(a,"b,c","d\\"e", f )')
    assert condition.value == ("a", "b,c", 'd"e', "f")
    assert parse_rest_condition(TABLE, "n", "in.()").value == ()
    assert parse_rest_condition(TABLE, "name", "not.in.(x)").negate


def test_like_accepts_star_in_rest_only() -> None:
    assert parse_rest_condition(TABLE, "name", "like.*ab%").value == "%ab%"
    assert parse_realtime_filter("name=like.*ab%", TABLE).conditions[0].value == "*ab%"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nope.1", "PGRST100"),
        ("eq", "PGRST100"),
        ("in.1,2", "PGRST100"),
        ("is.maybe", "PGRST100"),
    ],
)
def test_rest_syntax_errors_are_pgrst100(text: str, code: str) -> None:
    with pytest.raises(DatabaseError) as error:
        parse_rest_condition(TABLE, "n", text)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("column", "text", "code"),
    [
        ("missing", "eq.1", "42703"),
        ("n", "eq.abc", "22P02"),
        ("n", "eq.99999999999", "22003"),
        ("owner", "eq.not-a-uuid", "22P02"),
        ("n", "like.1%", "42883"),
        ("n", "is.true", "42804"),
        ("name", "match.(", "2201B"),
    ],
)
def test_rest_value_errors_carry_sqlstate(column: str, text: str, code: str) -> None:
    with pytest.raises(DatabaseError) as error:
        parse_rest_condition(TABLE, column, text)
    assert error.value.code == code


def test_logic_trees_nest() -> None:
    tree = parse_logic_tree(TABLE, "or", '(n.eq.1,and(n.gt.2,name.is.null),not.or(name.eq."a,b",n.in.(7,8)))')
    assert tree.kind == "or" and len(tree.items) == 3
    nested = tree.items[2]
    assert isinstance(nested, filters.Group) and nested.negate and nested.items[0].value == "a,b"
    assert nested.items[1].value == (7, 8)
    negated = parse_logic_tree(TABLE, "not.and", "(n.eq.1)")
    assert negated.negate and negated.kind == "and"
    with pytest.raises(DatabaseError):
        parse_logic_tree(TABLE, "or", "n.eq.1")
    with pytest.raises(DatabaseError):
        parse_logic_tree(TABLE, "or", "(n.eq.1,,n.eq.2)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name=foo.hey", 'Error parsing `filter` params: ["foo", "hey"]'),
        ("undefined", 'Error parsing `filter` params: ["undefined"]'),
        ("name=eq", 'Error parsing `filter` params: ["eq"]'),
        ("n=in.1,2", "Error parsing `filter` params: `in` filter value must be wrapped by parentheses"),
        (
            "n=eq.1,,n=eq.2",
            "Error parsing `filter` params: filter must not contain empty segments (check for extra commas)",
        ),
    ],
)
def test_realtime_parse_errors_match_the_server(text: str, message: str) -> None:
    with pytest.raises(FilterError) as error:
        parse_realtime_filter(text, TABLE)
    assert error.value.message == message and error.value.kind == "parse"


def test_realtime_invalid_filters() -> None:
    with pytest.raises(FilterError) as unknown:
        parse_realtime_filter("ghost=eq.1", TABLE)
    assert (unknown.value.kind, unknown.value.message) == ("invalid", 'column "ghost" does not exist')
    with pytest.raises(FilterError) as bad_value:
        parse_realtime_filter("n=eq.one", TABLE)
    assert bad_value.value.kind == "invalid" and "invalid input syntax for type integer" in bad_value.value.message


def test_realtime_filter_and_split_and_quotes() -> None:
    parsed = parse_realtime_filter('name=in.("a,b", c),n=not.gt.5,name=neq."x,y"', TABLE)
    assert [c.op for c in parsed.conditions] == ["in", "gt", "neq"]
    assert parsed.conditions[0].value == ("a,b", "c") and parsed.conditions[1].negate
    assert parsed.conditions[2].value == "x,y"
    assert parse_realtime_filter("  ", TABLE).matches({}) is True
    assert parse_realtime_filter(None, TABLE).conditions == ()


# ---------------------------------------------------------------------------------------------------- evaluation


def test_python_evaluation_on_decoded_rows() -> None:
    row = {
        "id": 1,
        "name": "Alpha",
        "n": 5,
        "x": 1.5,
        "flag": True,
        "at": "2025-01-02T03:04:05.5+00:00",
        "owner": None,
        "data": {"a": [1, 2]},
    }
    assert rest("n=gt.4").matches(row) and not rest("n=gt.5").matches(row)
    assert rest("name=ilike.al*").matches(row) and not rest("name=like.al*").matches(row)
    assert rest("name=match.^A.p").matches(row) and rest("name=imatch.PHA$").matches(row)
    assert rest("flag=is.true").matches(row) and rest("owner=is.null").matches(row)
    assert rest("at=gte.2025-01-02T03:04:05.5Z").matches(row)
    assert rest('data=eq.{"a":[1,2]}').matches(row)
    assert rest("owner=isdistinct.0a11ce00-0000-4000-8000-00000000000a").matches(row)
    # NULL compares unknown, and not(unknown) is still unknown: the row does not pass either way
    assert not rest("owner=eq.0a11ce00-0000-4000-8000-00000000000a").matches(row)
    assert not rest("owner=not.eq.0a11ce00-0000-4000-8000-00000000000a").matches(row)
    assert rest("n=in.(1,5)").matches(row)
    assert not parse_realtime_filter("n=eq.5", TABLE).matches({"id": 1})  # filter column absent


# ---------------------------------------------------------------------------------------------------- SQL ≡ Python


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.row_factory = sqlite3.Row
    storage.create_tables(connection, [TABLE])
    filters.register_sql_functions(connection)
    yield connection
    connection.close()


NAMES = st.sampled_from(["alpha", "Alpha", "beta", "a_b", "a%b", "", "ω", None])
INTS = st.one_of(st.none(), st.integers(-3, 3))
ROWS = st.fixed_dictionaries(
    {
        "name": NAMES,
        "n": INTS,
        "x": st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 2.0, 2.5])),
        "flag": st.one_of(st.none(), st.booleans()),
        "at": st.one_of(st.none(), st.sampled_from(["2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00.5+00:00"])),
    }
)
VALUE_TEXT = {
    "name": st.sampled_from(["alpha", "Alpha", "a*", "%a%", "a_b", "a\\%b", "ω", "null"]),
    "n": st.integers(-3, 3).map(str),
    "x": st.sampled_from(["-1.5", "0", "2", "2.5"]),
    "flag": st.sampled_from(["true", "false"]),
    "at": st.sampled_from(["2025-01-01", "2025-01-01T00:00:00.25Z", "2025-01-01T02:00:00+02:00"]),
}
OPS = {
    "name": ["eq", "neq", "gt", "lt", "like", "ilike", "match", "imatch", "isdistinct"],
    "n": ["eq", "neq", "gt", "gte", "lt", "lte", "isdistinct"],
    "x": ["eq", "gt", "lte"],
    "flag": ["eq", "neq", "isdistinct"],
    "at": ["eq", "gt", "lt", "gte"],
}


@st.composite
def conditions(draw: st.DrawFn) -> str:
    column = draw(st.sampled_from(sorted(OPS)))
    negate = "not." if draw(st.booleans()) else ""
    kind = draw(st.sampled_from(["op", "op", "in", "is"]))
    if kind == "in":
        values = draw(st.lists(VALUE_TEXT[column], max_size=3))
        return f"{column}.{negate}in.({','.join(chr(34) + v + chr(34) for v in values)})"
    if kind == "is":
        value = draw(st.sampled_from(["null", "true", "false"] if column == "flag" else ["null"]))
        return f"{column}.{negate}is.{value}"
    op = draw(st.sampled_from(OPS[column]))
    value = draw(VALUE_TEXT[column])
    if op in ("match", "imatch"):
        value = draw(st.sampled_from(["^a", "A$", "l.h", "b"]))
    return f"{column}.{negate}{op}.{value}"


def trees(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = conditions()
    if depth == 0:
        return leaf
    group = st.tuples(
        st.sampled_from(["and", "or", "not.and", "not.or"]), st.lists(trees(depth - 1), min_size=1, max_size=3)
    ).map(lambda t: f"{t[0]}({','.join(t[1])})")
    return st.one_of(leaf, group)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROWS, min_size=1, max_size=6), tree=trees(), kind=st.sampled_from(["or", "and", "not.or"]))
def test_sql_and_python_agree(db: sqlite3.Connection, rows: list[dict[str, Any]], tree: str, kind: str) -> None:
    parsed = filters.Filter(TABLE, (parse_logic_tree(TABLE, kind, f"({tree})"),))
    db.execute("DELETE FROM things")
    decoded = []
    for index, row in enumerate(rows):
        full = {"id": index, **row}
        stored = {name: storage.encode(TABLE.column(name), value) for name, value in full.items()}
        db.execute(
            f"INSERT INTO things ({', '.join(stored)}) VALUES ({', '.join('?' for _ in stored)})", list(stored.values())
        )
        decoded.append(storage.decode_row(TABLE, db.execute("SELECT * FROM things WHERE id = ?", (index,)).fetchone()))
    where, params = parsed.to_sql()
    in_sql = {row["id"] for row in db.execute(f"SELECT id FROM things WHERE {where}", params)}
    in_python = {row["id"] for row in decoded if parsed.matches(row)}
    assert in_sql == in_python, (tree, where, params)


@pytest.mark.parametrize("text", ["data=cs.{}", "name=fts.cat", "data->>a=eq.1", "name=like(any).{a}"])
def test_realtime_keeps_to_its_own_operators_and_plain_columns(text: str) -> None:
    with pytest.raises(FilterError):
        parse_realtime_filter(text, TABLE)
