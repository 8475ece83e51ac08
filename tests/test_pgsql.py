"""``nbrealtime sql`` and the committed Supabase migration, applied to a real PostgreSQL 15 with Supabase's roles.

Policies are checked the way Supabase applies them: inside a transaction, switch to the API role and set the JWT
claims (``request.jwt.claims``) that PostgREST and Realtime set for a request, then try the operation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from nbrealtime.pgsql import MIGRATION_PATH, RESERVED_WORDS, migration_sql, policy_condition
from nbrealtime.schema import BUILTIN_TABLES, OPERATIONS, Table, builtin_tables, load_schema_file, make_table
from tests import query_cases, relation_cases
from tests.policy_cases import (
    A_IN_R1,
    A_OWNS_R1,
    A_VIEWS_R1,
    ACTORS,
    B_IN_R1,
    BUILTIN_CASES,
    CHANNEL_ACCESS,
    JOIN_CASES,
    ROOM_R1,
    SET_ROLE_CASES,
    TOKEN,
    A,
    B,
    JoinCase,
    PolicyCase,
    Row,
    SetRoleCase,
    User,
    invite,
    resolve,
    scenario,
)
from tests.postgres import PostgresCluster, PostgresUnavailable

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "todos.toml"
USER_IDS = {"A": "aaaaaaaa-0000-4000-8000-00000000000a", "B": "bbbbbbbb-0000-4000-8000-00000000000b"}
PUBLISHED = "select tablename from pg_publication_tables where pubname = 'supabase_realtime' order by 1"


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session; missing binaries fail the tests (they must run in CI)."""
    try:
        started = PostgresCluster.start()
    except PostgresUnavailable as error:
        pytest.fail(f"cannot start PostgreSQL for the migration tests: {error}", pytrace=False)
    yield started
    started.stop()


def _nbrealtime_sql(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrealtime", "sql", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def _apply(cluster: PostgresCluster, sql: str, database: str) -> None:
    """Apply a migration as ``supabase db push`` does: as one transaction."""
    cluster.psql(sql, database=database, extra=["--single-transaction"])


@pytest.fixture(scope="module")
def builtin_db(cluster: PostgresCluster) -> str:
    """A Supabase-like database with the committed migration applied."""
    database = cluster.create_database("builtin")
    _apply(cluster, (ROOT / MIGRATION_PATH).read_text(encoding="utf-8"), database)
    return database


@pytest.fixture(scope="module")
def user_db(cluster: PostgresCluster) -> str:
    """A Supabase-like database prepared with ``nbrealtime sql --schema tests/schemas/todos.toml``."""
    result = _nbrealtime_sql("--schema", str(SCHEMA_FILE))
    assert result.returncode == 0, result.stderr
    database = cluster.create_database("usertables")
    _apply(cluster, result.stdout, database)
    return database


# ---------------------------------------------------------------------------------------------------- running cases


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = json.dumps(value) if isinstance(value, Mapping) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return f'"{name}"'


def _where(key: Mapping[str, object]) -> str:
    return " and ".join(f"{_ident(column)} = {_literal(value)}" for column, value in key.items())


def _insert(table: str, values: Mapping[str, object]) -> str:
    columns = ", ".join(_ident(column) for column in values)
    return f"insert into public.{_ident(table)} ({columns}) values ({', '.join(map(_literal, values.values()))})"


def _as_actor(actor: str) -> str:
    """Switch to the role and claims that PostgREST/Realtime use for this actor's JWT."""
    if actor in USER_IDS:
        role, claims = "authenticated", {"sub": USER_IDS[actor], "role": "authenticated", "aud": "authenticated"}
    else:
        role, claims = actor, {"role": actor}
    return (
        f"select set_config('request.jwt.claims', {_literal(json.dumps(claims))}, true) is not null as claims_set;\n"
        f"set local role {role};\n"
    )


def case_sql(case: PolicyCase) -> str:
    """One transaction: the setup rows (as the owner), then the operation as the actor; prints rows affected."""
    lines = ["begin;"]
    lines += [f"{_insert(row.table, resolve(row.values, USER_IDS))};" for row in case.setup]
    lines.append(_as_actor(case.actor))
    table = f"public.{_ident(case.table)}"
    row = resolve(case.row, USER_IDS)
    if case.operation == "select":
        lines.append(f"select count(*) from {table} where {_where(row)};")
    elif case.operation == "insert":
        lines.append(f"{_insert(case.table, row)};\nselect 1;")
    elif case.operation == "update":
        changes = resolve(case.changes, USER_IDS)
        assignments = ", ".join(f"{_ident(column)} = {_literal(value)}" for column, value in changes.items())
        lines.append(f"with done as (update {table} set {assignments} where {_where(row)} returning 1)")
        lines.append("select count(*) from done;")
    else:
        lines.append(f"with done as (delete from {table} where {_where(row)} returning 1) select count(*) from done;")
    lines.append("rollback;")
    return "\n".join(lines) + "\n"


def run_case(cluster: PostgresCluster, database: str, case: PolicyCase) -> bool:
    """Whether the operation went through: one row affected; refused means no row or an RLS violation."""
    result = cluster.try_psql(case_sql(case), database=database)
    if result.returncode != 0:
        if "violates row-level security policy" in result.stderr or "permission denied for table" in result.stderr:
            return False  # a policy refused the row, or the column is locked (no column privilege)
        raise AssertionError(f"{case.name}: unexpected error\n{result.stderr}\n{case_sql(case)}")
    affected = result.stdout.split()[-1]
    assert affected in ("0", "1"), f"{case.name}: {result.stdout!r}"
    return affected == "1"


def _check(cluster: PostgresCluster, database: str, case: PolicyCase) -> None:
    allowed = run_case(cluster, database, case)
    verdict = "allowed" if allowed else "refused"
    assert allowed == case.allowed, f"{case.name} was {verdict}; SQL run:\n{case_sql(case)}"


# ---------------------------------------------------------------------------------------------------- migration


def test_committed_migration_is_the_generated_one() -> None:
    committed = (ROOT / MIGRATION_PATH).read_text(encoding="utf-8")
    assert committed == migration_sql(BUILTIN_TABLES), (
        f"{MIGRATION_PATH} is out of date with src/nbrealtime/schema.py; regenerate it with\n"
        f"    nbrealtime sql > {MIGRATION_PATH}"
    )


def test_sql_command_without_schema_prints_the_committed_migration() -> None:
    result = _nbrealtime_sql()
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / MIGRATION_PATH).read_text(encoding="utf-8")


def _schema_dump(cluster: PostgresCluster, database: str) -> str:
    """``pg_dump --schema-only`` without the random ``\\restrict`` key that recent pg_dump versions add."""
    command = [str(cluster.bindir / "pg_dump"), "-s", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    dump = subprocess.run([*command, database], capture_output=True, text=True, check=True, timeout=60).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def test_migration_applies_again_without_changing_anything(cluster: PostgresCluster) -> None:
    database = cluster.create_database("twice")
    sql = migration_sql(BUILTIN_TABLES)
    _apply(cluster, sql, database)
    first = _schema_dump(cluster, database)
    _apply(cluster, sql, database)
    second = _schema_dump(cluster, database)
    assert "nbrt_notifications" in first
    assert first == second


def test_every_table_is_published_with_rls_and_full_replica_identity(cluster: PostgresCluster, builtin_db: str) -> None:
    names = sorted(table.name for table in BUILTIN_TABLES)
    assert cluster.psql(PUBLISHED, database=builtin_db).split() == names
    rows = cluster.psql(
        "select relname, relrowsecurity, relreplident from pg_class"
        " where relnamespace = 'public'::regnamespace and relkind = 'r' order by 1",
        database=builtin_db,
    ).split()
    assert rows == [f"{name}|t|f" for name in names]


def test_api_roles_have_table_and_sequence_privileges(cluster: PostgresCluster, builtin_db: str) -> None:
    checks = []
    for table in BUILTIN_TABLES:
        for role in ("anon", "authenticated", "service_role"):
            for privilege in ("select", "insert", "update", "delete"):
                if table.locked and privilege in ("insert", "update") and role != "service_role":
                    checks += [
                        f"{'not ' if column.name in table.locked else ''}"
                        f"has_column_privilege('{role}', 'public.{table.name}', '{column.name}', '{privilege}')"
                        for column in table.columns
                    ]
                else:
                    checks.append(f"has_table_privilege('{role}', 'public.{table.name}', '{privilege}')")
    checks.append("has_sequence_privilege('authenticated', 'public.nbrt_cell_updates_seq_seq', 'usage')")
    assert cluster.psql(f"select {' and '.join(checks)}", database=builtin_db).strip() == "t"


def test_room_membership_function_is_security_definer_with_fixed_search_path(
    cluster: PostgresCluster, builtin_db: str
) -> None:
    row = cluster.psql(
        "select prosecdef, proconfig from pg_proc where oid = 'public.nbrt_is_room_member(text)'::regprocedure",
        database=builtin_db,
    )
    assert row.strip() == 't|{"search_path=\\"\\""}'


def test_reserved_words_are_postgres_keywords_that_need_quotes(cluster: PostgresCluster) -> None:
    words = cluster.psql("select word from pg_get_keywords() where catcode in ('R', 'T')").split()
    assert RESERVED_WORDS - set(words) <= {"system_user"}  # reserved from PostgreSQL 16 on
    assert set(words) <= RESERVED_WORDS


# ---------------------------------------------------------------------------------------------------- policies


def test_cases_cover_every_builtin_table_operation_and_actor() -> None:
    covered = {(case.table, case.operation, case.actor) for case in BUILTIN_CASES}
    expected = {
        (table.name, operation, actor) for table in BUILTIN_TABLES for operation in OPERATIONS for actor in ACTORS
    }
    assert expected <= covered, sorted(expected - covered)
    assert len({case.name for case in BUILTIN_CASES}) == len(BUILTIN_CASES)


@pytest.mark.parametrize("case", BUILTIN_CASES, ids=lambda case: case.name)
def test_builtin_policy(cluster: PostgresCluster, builtin_db: str, case: PolicyCase) -> None:
    _check(cluster, builtin_db, case)


def _rooms_sql(setup: tuple[Row, ...], actor: str, call: str) -> str:
    lines = ["begin;", *(f"{_insert(row.table, resolve(row.values, USER_IDS))};" for row in setup)]
    return "\n".join([*lines, _as_actor(actor), f"{call};", "rollback;"]) + "\n"


@pytest.mark.parametrize("case", JOIN_CASES, ids=lambda case: case.name)
def test_join_room(cluster: PostgresCluster, builtin_db: str, case: JoinCase) -> None:
    """The PostgreSQL nbrt_join_room grants what the embedded server's grants (tests/server/test_rooms.py)."""
    args = ", ".join(f"{name} => {_literal(value)}" for name, value in case.args.items())
    user = USER_IDS.get(case.actor, "")
    call = (
        f"select public.nbrt_join_room({args}) ->> 'role';\nreset role;\n"
        f"select role from public.nbrt_room_members where room = {_literal(case.args['room'])} and user_id = '{user}'"
    )
    result = cluster.try_psql(_rooms_sql(case.setup, case.actor, call), database=builtin_db)
    if case.role is None:
        assert result.returncode != 0 and case.refusal in result.stderr, result.stdout + result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[-2:] == [case.role, case.role]


@pytest.mark.parametrize("case", SET_ROLE_CASES, ids=lambda case: case.name)
def test_set_role(cluster: PostgresCluster, builtin_db: str, case: SetRoleCase) -> None:
    member = USER_IDS[case.member.name]
    call = (
        f"select public.nbrt_set_role('r1', '{member}', {_literal(case.role)}) ->> 'role';\n"
        f"reset role;\nselect role from public.nbrt_room_members where room = 'r1' and user_id = '{member}'"
    )
    result = cluster.try_psql(_rooms_sql(case.setup, case.actor, call), database=builtin_db)
    if case.allowed:
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[-1] == case.role
    else:
        assert result.returncode != 0 and case.refusal in result.stderr, result.stdout + result.stderr


def test_an_invite_is_redeemed_once_when_its_last_use_is_raced(cluster: PostgresCluster, builtin_db: str) -> None:
    """Two joins with a one-use invite, one after the other in separate transactions: one gets in."""
    setup = [ROOM_R1, A_OWNS_R1, invite(max_uses=1)]
    lines = [f"{_insert(row.table, resolve(row.values, USER_IDS))};" for row in setup]
    cluster.psql("\n".join(["delete from public.nbrt_rooms; delete from public.nbrt_room_members;",
                             "delete from public.nbrt_room_invites;", *lines]), database=builtin_db)  # fmt: skip
    try:
        outcomes = []
        for user in (USER_IDS["B"], "cccccccc-0000-4000-8000-00000000000c"):
            claims = json.dumps({"sub": user, "role": "authenticated"})
            sql = (
                f"begin;\nselect set_config('request.jwt.claims', {_literal(claims)}, true);\n"
                "set local role authenticated;\n"
                f"select public.nbrt_join_room(room => 'r1', invite => {_literal(TOKEN)}) ->> 'role';\ncommit;\n"
            )
            outcomes.append(cluster.try_psql(sql, database=builtin_db))
        assert [outcome.returncode == 0 for outcome in outcomes] == [True, False]
        assert "used up" in outcomes[1].stderr
        assert cluster.psql("select uses from public.nbrt_room_invites", database=builtin_db).split() == ["1"]
    finally:
        cluster.psql("delete from public.nbrt_rooms; delete from public.nbrt_room_members; "
                     "delete from public.nbrt_room_invites;", database=builtin_db)  # fmt: skip


_STANDING_ROWS = {
    "owner": (A_OWNS_R1,), "editor": (A_IN_R1,), "viewer": (A_VIEWS_R1,), "outsider": (B_IN_R1,), "anon": (A_IN_R1,),
}  # fmt: skip


def _channel_probe_sql(topic: str, standing: str) -> str:
    """What Supabase Realtime does at a private join: probe rows per extension, read back and inserted as the user."""
    actor = "anon" if standing == "anon" else "A"
    setup = [f"{_insert(row.table, resolve(row.values, USER_IDS))};" for row in _STANDING_ROWS[standing]]
    probes = ", ".join(f"('{extension}', {_literal(topic)})" for extension in ("broadcast", "presence"))
    return "\n".join([
        "begin;", *setup,
        f"insert into realtime.messages (extension, topic) values {probes};",
        _as_actor(actor),
        f"select set_config('realtime.topic', {_literal(topic)}, true) is not null;",
        "select count(*) from realtime.messages;",
        "savepoint probe;",
        f"insert into realtime.messages (extension, topic) values {probes};",
        "select 'sent';",
        "rollback;",
    ]) + "\n"  # fmt: skip


@pytest.mark.parametrize(
    ("topic", "standing"),
    [(topic, standing) for topic, row in CHANNEL_ACCESS.items() for standing in row],
    ids=lambda value: str(value),
)
def test_private_channel_policy(cluster: PostgresCluster, builtin_db: str, topic: str, standing: str) -> None:
    """RLS on realtime.messages: who may receive (read both probes back) and send (insert them) on a topic."""
    receive, send = CHANNEL_ACCESS[topic][standing]  # type: ignore[index]
    result = cluster.try_psql(_channel_probe_sql(topic, standing), database=builtin_db)
    lines = result.stdout.split()
    assert lines[2] == ("2" if receive else "0"), (topic, standing, result.stdout, result.stderr)
    if send:
        assert result.returncode == 0 and lines[-1] == "sent", result.stderr
    else:
        assert "violates row-level security policy" in result.stderr, (topic, standing, result.stdout)


def test_policy_on_room_members_does_not_recurse(cluster: PostgresCluster, builtin_db: str) -> None:
    setup = _insert("nbrt_room_members", resolve({"room": "r1", "user_id": A}, USER_IDS))
    sql = f"begin;\n{setup};\n{_as_actor('A')}select count(*) from public.nbrt_room_members;\nrollback;\n"
    assert cluster.psql(sql, database=builtin_db).split()[-1] == "1"


# ---------------------------------------------------------------------------------------------------- user tables

NOTE_BY_A = Row("room_notes", {"room": "r1", "id": "n1", "body": "hi", "author": A})
TODO_ID = "00000000-0000-4000-8000-0000000000d1"
TODO_OF_A = Row("todos", {"id": TODO_ID, "owner": A, "title": "write tests", "order": 1})
ENTRY_OF_A = Row("guestbook", {"id": "g1", "user": A, "message": "hello"})
ANNOUNCEMENT = Row("announcements", {"id": 7, "body": "maintenance"})


USER_CASES: list[PolicyCase] = [
    *scenario("read A's todo", "todos", "select", {"id": TODO_ID}, allowed=("A", "service_role"), setup=(TODO_OF_A,)),
    *scenario("A adds a todo", "todos", "insert", TODO_OF_A.values, allowed=("A", "service_role")),
    *scenario(
        "reorder A's todo",
        "todos",
        "update",
        {"id": TODO_ID},
        changes={"order": 2, "done": True},
        allowed=("A", "service_role"),
        setup=(TODO_OF_A,),
    ),
    *scenario("delete A's todo", "todos", "delete", {"id": TODO_ID}, allowed=("A", "service_role"), setup=(TODO_OF_A,)),
    *scenario("read an announcement", "announcements", "select", {"id": 7}, allowed=ACTORS, setup=(ANNOUNCEMENT,)),
    *scenario("announce", "announcements", "insert", {"body": "news"}, allowed=("service_role",)),
    *scenario(
        "edit an announcement",
        "announcements",
        "update",
        {"id": 7},
        changes={"body": "x"},
        allowed=("service_role",),
        setup=(ANNOUNCEMENT,),
    ),
    *scenario(
        "delete an announcement", "announcements", "delete", {"id": 7}, allowed=("service_role",), setup=(ANNOUNCEMENT,)
    ),
    *scenario(
        "read a room note",
        "room_notes",
        "select",
        {"room": "r1", "id": "n1"},
        allowed=("A", "service_role"),
        setup=(A_IN_R1, NOTE_BY_A),
    ),
    *scenario(
        "a member writes a note in their own name",
        "room_notes",
        "insert",
        NOTE_BY_A.values,
        allowed=("A", "service_role"),
        setup=(A_IN_R1, B_IN_R1),
    ),
    *scenario(
        "edit A's note (both members)",
        "room_notes",
        "update",
        {"room": "r1", "id": "n1"},
        changes={"body": "edited"},
        allowed=("A", "service_role"),
        setup=(A_IN_R1, B_IN_R1, NOTE_BY_A),
    ),
    *scenario(
        "delete A's note (both members)",
        "room_notes",
        "delete",
        {"room": "r1", "id": "n1"},
        allowed=("A", "service_role"),
        setup=(A_IN_R1, B_IN_R1, NOTE_BY_A),
    ),
    *scenario("read the guestbook", "guestbook", "select", {"id": "g1"}, allowed=ACTORS, setup=(ENTRY_OF_A,)),
    *scenario("sign the guestbook", "guestbook", "insert", {"id": "g2", "message": "hi"}, allowed=ACTORS),
    *scenario(
        "correct A's entry",
        "guestbook",
        "update",
        {"id": "g1"},
        changes={"message": "hello!"},
        allowed=("A", "service_role"),
        setup=(ENTRY_OF_A,),
    ),
    *scenario("delete A's entry", "guestbook", "delete", {"id": "g1"}, allowed=("service_role",), setup=(ENTRY_OF_A,)),
]


def test_sql_command_with_schema_adds_the_user_tables(cluster: PostgresCluster, user_db: str) -> None:
    user_tables = load_schema_file(SCHEMA_FILE)
    expected = sorted([*builtin_tables(), *(table.name for table in user_tables)])
    assert cluster.psql(PUBLISHED, database=user_db).split() == expected
    assert _nbrealtime_sql("--schema", str(SCHEMA_FILE)).stdout == migration_sql([*BUILTIN_TABLES, *user_tables])


@pytest.mark.parametrize("case", USER_CASES, ids=lambda case: case.name)
def test_user_table_policy(cluster: PostgresCluster, user_db: str, case: PolicyCase) -> None:
    _check(cluster, user_db, case)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tables.t]\ncolumns = { id = 'text primary key' }\npolicy = 'owner:nobody'\n", "unknown column 'nobody'"),
        ("[tables.t\n", "not valid TOML"),
        ("[tables.nbrt_x]\ncolumns = { id = 'text primary key' }\n", "reserved for nbrealtime"),
    ],
)
def test_sql_command_rejects_a_bad_schema_file(tmp_path: Path, content: str, message: str) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text(content, encoding="utf-8")
    result = _nbrealtime_sql("--schema", str(schema))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"nbrealtime sql: {schema}") and message in result.stderr


def test_sql_command_reports_a_missing_schema_file(tmp_path: Path) -> None:
    result = _nbrealtime_sql("--schema", str(tmp_path / "missing.toml"))
    assert (result.returncode, result.stdout) == (1, "")
    assert "cannot read" in result.stderr and "missing.toml" in result.stderr


# ---------------------------------------------------------------------------------------------------- query cases


@pytest.fixture(scope="module")
def docs_db(cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The query cases' table, made by ``nbrealtime sql`` from their schema and filled with their rows."""
    schema = tmp_path_factory.mktemp("query-cases") / "schema.toml"
    schema.write_text(query_cases.SCHEMA, encoding="utf-8")
    result = _nbrealtime_sql("--schema", str(schema))
    assert result.returncode == 0, result.stderr
    database = cluster.create_database("querycases")
    _apply(cluster, result.stdout, database)
    rows = _literal(json.dumps(list(query_cases.ROWS)))
    fill = f"insert into public.docs select * from json_populate_recordset(null::public.docs, {rows})"
    cluster.psql(fill, database=database)
    return database


@pytest.mark.parametrize("case", query_cases.CASES, ids=lambda case: case.name)
def test_query_case(cluster: PostgresCluster, docs_db: str, case: query_cases.QueryCase) -> None:
    """PostgreSQL returns the rows the embedded server must return (``tests/server/test_query_cases.py``)."""
    ids = f"coalesce(string_agg(id::text, ',' order by {case.order_by}), '')"
    output = _as_anon(cluster, docs_db, f"select 'ids:' || {ids} from public.docs where {case.where}")
    assert tuple(int(id_) for id_ in output.split(",") if id_) == case.ids


@pytest.mark.parametrize("case", query_cases.SELECT_CASES, ids=lambda case: case.name)
def test_select_case(cluster: PostgresCluster, docs_db: str, case: query_cases.SelectCase) -> None:
    """PostgREST answers ``json_agg`` of the select: the embedded server must give the same JSON."""
    output = _as_anon(cluster, docs_db, f"select 'ids:' || coalesce(json_agg(t), '[]') from ({case.sql}) t")
    assert tuple(json.loads(output)) == case.rows


def _as_anon(cluster: PostgresCluster, database: str, sql: str) -> str:
    """The text after ``ids:`` in the one-row answer of ``sql``, run as PostgREST runs an anon request."""
    output = cluster.psql(f"begin;\n{_as_actor('anon')}{sql};\nrollback;\n", database=database)
    return output.split("ids:", 1)[1].strip()


# ---------------------------------------------------------------------------------------------------- relations


@pytest.fixture(scope="module")
def relations_db(cluster: PostgresCluster) -> str:
    """``nbrealtime sql --schema tests/schemas/relations.toml``, applied twice (seed rows must go in once)."""
    result = _nbrealtime_sql("--schema", str(relation_cases.SCHEMA_FILE))
    assert result.returncode == 0, result.stderr
    database = cluster.create_database("relations")
    _apply(cluster, result.stdout, database)
    _apply(cluster, result.stdout, database)
    return database


def test_relations_seed_rows_and_identity(cluster: PostgresCluster, relations_db: str) -> None:
    rows = cluster.psql("select id, name, country from public.authors order by id", database=relations_db)
    assert rows.split() == ["1|Ada|UK", "2|Grace|US"]
    inserted = "begin; insert into public.posts (author, title) values (1, 'New') returning id; rollback;"
    assert cluster.psql(inserted, database=relations_db).split() == ["12"]  # the sequence moved past the seeds


@pytest.mark.parametrize("case", relation_cases.REFUSED_WRITES, ids=lambda case: case.name)
def test_relations_refused_write(
    cluster: PostgresCluster, relations_db: str, case: relation_cases.RefusedWrite
) -> None:
    sql = f"\\set VERBOSITY verbose\nbegin;\n{_as_actor('service_role')}{case.sql};\nrollback;\n"
    result = cluster.try_psql(sql, database=relations_db)
    assert result.returncode != 0
    assert f"ERROR:  {case.code}: {case.message}\n" in result.stderr, result.stderr


def test_relations_cascade_set_null_and_restrict(cluster: PostgresCluster, relations_db: str) -> None:
    sql = (
        "begin;\n"
        "insert into public.secrets (id, owner, post, note) values ('s', gen_random_uuid(), 10, 'n');\n"
        "delete from public.authors where id = 2;\n"
        "select id, coalesce(editor::text, 'null') from public.posts order by id;\n"
        "delete from public.posts where id = 10;\n"
    )
    result = cluster.try_psql(sql, database=relations_db)
    assert result.stdout.split() == ["10|null"]
    assert 'Key (id)=(10) is still referenced from table "secrets".' in result.stderr


@pytest.mark.parametrize("actor", sorted(relation_cases.EMBEDDED_SECRETS))
def test_relations_embedding_sees_what_rls_shows(cluster: PostgresCluster, relations_db: str, actor: str) -> None:
    """PostgREST embeds with a join under the caller's RLS: the notes per post must be what the embedded server
    embeds (``tests/server/test_relations.py``)."""
    rows = [{**row, "owner": USER_IDS[str(row["owner"])]} for row in relation_cases.SECRETS]
    notes = "(select coalesce(string_agg(s.note, ';' order by s.id), '') from public.secrets s where s.post = p.id)"
    exists = "exists (select 1 from public.secrets s where s.post = p.id)"
    sql = (
        "begin;\n"
        + "".join(f"{_insert('secrets', row)};\n" for row in rows)
        + _as_actor(actor)
        + f"select p.id, {notes}, {exists} from public.posts p order by p.id;\nrollback;\n"
    )
    lines = [line.split("|") for line in cluster.psql(sql, database=relations_db).split("\n") if "|" in line]
    embedded = tuple((int(id_), tuple(note for note in text.split(";") if note)) for id_, text, _ in lines)
    inner = tuple(int(id_) for id_, _, kept in lines if kept == "t")
    assert (embedded, inner) == relation_cases.EMBEDDED_SECRETS[actor]


# ---------------------------------------------------------------------------------------------------- translation


def _policy_table(rule: str, room_type: str = "text") -> Table:
    rules = dict.fromkeys(OPERATIONS, rule)
    return make_table("t", {"id": "text primary key", "owner": "uuid", "room": room_type}, rules)


@pytest.mark.parametrize(
    ("rule", "anon", "authenticated"),
    [
        ("anyone or owner:owner", "true", "true"),
        ("signed_in and owner:owner", None, "owner = (select auth.uid())"),
        (
            "owner:owner or room:room and owner:owner",
            None,
            "owner = (select auth.uid()) or (public.nbrt_is_room_member(room) and owner = (select auth.uid()))",
        ),
        ("anyone and none", None, None),
        ("none or anyone", "true", "true"),
    ],
)
def test_policy_condition_per_role(rule: str, anon: str | None, authenticated: str | None) -> None:
    table = _policy_table(rule)
    assert policy_condition(table.policy.select, table, "anon") == anon
    assert policy_condition(table.policy.select, table, "authenticated") == authenticated


def test_room_column_of_another_type_is_cast_to_text() -> None:
    table = _policy_table("room:room", room_type="uuid")
    condition = policy_condition(table.policy.select, table, "authenticated")
    assert condition == "public.nbrt_is_room_member(room::text)"


def test_user_refs_resolve_to_ids() -> None:
    assert resolve({"owner": A, "n": 1}, USER_IDS) == {"owner": USER_IDS["A"], "n": 1}
    assert isinstance(B, User)


def test_a_project_from_before_roles_is_upgraded_and_its_rooms_keep_working(cluster: PostgresCluster) -> None:
    """The migration as it was before roles, with a room in use, then today's: the creator owns the room, the other
    member edits, and the room functions and policies work on the old rows."""
    database = cluster.create_database("before_roles")
    _apply(cluster, (ROOT / "tests" / "schemas" / "before_roles.sql").read_text(encoding="utf-8"), database)
    a, b = USER_IDS["A"], USER_IDS["B"]
    cluster.psql(
        f"insert into public.nbrt_rooms (name, created_by) values ('old', '{a}');\n"
        f"insert into public.nbrt_room_members (room, user_id) values ('old', '{a}'), ('old', '{b}');",
        database=database,
    )
    migration = (ROOT / MIGRATION_PATH).read_text(encoding="utf-8")
    _apply(cluster, migration, database)
    _apply(cluster, migration, database)  # and again: nothing changes the second time
    roles = cluster.psql("select user_id || '=' || role from public.nbrt_room_members order by 1", database=database)
    assert roles.split() == [f"{a}=owner", f"{b}=editor"]
    call = "select public.nbrt_set_role('old', '" + b + "', 'viewer') ->> 'role'"
    result = cluster.try_psql(_rooms_sql((), "A", call), database=database)
    assert result.returncode == 0 and result.stdout.split()[-1] == "viewer", result.stderr


def test_a_table_from_an_older_migration_gains_the_columns_added_since(cluster: PostgresCluster) -> None:
    """Notifications before they could name a notebook and a cell: the migration adds the columns, rows stay."""
    database = cluster.create_database("older_columns")
    a = USER_IDS["A"]
    cluster.psql(
        "create table public.nbrt_notifications (id uuid primary key default gen_random_uuid(), room text not null,"
        " recipient uuid not null, sender uuid not null, title text not null, message text not null default '',"
        " kind text not null default 'info', read boolean not null default false,"
        " created_at timestamptz not null default now());\n"
        f"insert into public.nbrt_notifications (room, recipient, sender, title) values ('r', '{a}', '{a}', 'old');",
        database=database,
    )
    migration = (ROOT / MIGRATION_PATH).read_text(encoding="utf-8")
    _apply(cluster, migration, database)
    _apply(cluster, migration, database)
    rows = cluster.psql("select title || '|' || coalesce(notebook, '-') || '|' || coalesce(cell, '-')"
                        " from public.nbrt_notifications", database=database)  # fmt: skip
    assert rows.split() == ["old|-|-"]
