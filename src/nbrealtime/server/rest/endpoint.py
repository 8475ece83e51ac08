"""The HTTP side of ``/rest/v1/{table}``: authentication, negotiation, status codes and headers.

Reads run one SELECT (plus a COUNT for ``Prefer: count=…``); writes run in one ``database.transaction()`` and their
change events are published after the commit, so a subscriber never hears of a row that could still roll back. Both
run on the database thread, so a commit's fsync never stalls the event loop.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from nbrealtime import schema
from nbrealtime.server import policies, rooms
from nbrealtime.server.rest import query as rest_query
from nbrealtime.server.rest import writes
from nbrealtime.server.rest.errors import RestError, error_response
from nbrealtime.server.storage import DatabaseError, Defaults, commit_timestamp, decode_row, quote
from nbrealtime.server.tokens import ANON, Claims, TokenError, verify_token

if TYPE_CHECKING:
    from nbrealtime.server.app import ServerContext

__all__ = ["rpc_endpoint", "table_endpoint"]

logger = logging.getLogger(__name__)


def _token(request: Request) -> str | None:
    """``Authorization: Bearer`` wins; else the ``apikey`` header (any case, as Python sends ``apiKey``)."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("apikey") or None


def _authenticate(request: Request, context: ServerContext) -> Claims:
    token = _token(request)
    if token is None:
        raise RestError(401, "PGRST302", "Anonymous access is disabled", hint="Send the anon key as apikey.")
    try:
        return verify_token(token, context.keys.jwt_secret)
    except TokenError as error:
        message = "JWT expired" if "expired" in error.message else error.message
        raise RestError(401, "PGRST301", message) from None


def _check_profile(request: Request) -> None:
    for header in ("accept-profile", "content-profile"):
        profile = request.headers.get(header)
        if profile is not None and profile != "public":
            raise RestError(
                406, "PGRST106", f"Invalid schema: {profile}", hint="Only the following schemas are exposed: public"
            )


def _table(context: ServerContext, name: str) -> schema.Table:
    table = context.tables.get(name)
    if table is None:
        raise RestError(404, "PGRST205", f"Could not find the table 'public.{name}' in the schema cache")
    return table


async def _body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RestError(413, "PGRST413", f"Request body exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RestError(413, "PGRST413", f"Request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise RestError(400, "PGRST102", "Empty or invalid json") from None


def _json(rows: list[dict[str, Any]], shape: rest_query.Representation) -> bytes:
    if shape.strip_nulls:
        rows = [{key: value for key, value in row.items() if value is not None} for row in rows]
    if shape.single:
        if len(rows) != 1:
            raise RestError(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
                f"The result contains {len(rows)} rows",
            )
        return orjson.dumps(rows[0])
    return orjson.dumps(rows)


def _content_range(first: int, returned: int, total: int | None) -> str:
    shown_total = "*" if total is None else str(total)
    if returned == 0:
        return f"*/{shown_total}"
    return f"{first}-{first + returned - 1}/{shown_total}"


async def table_endpoint(request: Request) -> Response:
    """``/rest/v1/{table}`` for GET, HEAD, POST, PATCH and DELETE."""
    context: ServerContext = request.app.state.context
    head = request.method == "HEAD"
    claims: Claims | None = None
    try:
        claims = _authenticate(request, context)
        _check_profile(request)
        table = _table(context, request.path_params["table"])
        shape = rest_query.representation(request.headers)
        prefer = rest_query.parse_prefer(request.headers.getlist("prefer"))
        database = context.database
        if request.method in ("GET", "HEAD"):
            return await database.run(_read, request, context, table, claims, shape, prefer)
        body = await _body(request, context.config.limits.max_request_bytes)
        response, changes = await database.run(_write, request, context, table, claims, shape, prefer, body)
        _publish(context, table, changes)  # back on the loop, in commit order (one database thread)
        return response
    except DatabaseError as error:
        return error_response(error, anon=claims is None or claims.role == ANON, head=head)
    except sqlite3.Error as error:  # the storage itself failed (disk full, I/O error): nothing was committed
        logger.error("the database failed a %s on %s: %s", request.method, request.path_params["table"], error)
        failure = RestError(503, "58030", f"the database could not complete the request: {error}")
        return error_response(failure, anon=claims is None or claims.role == ANON, head=head)


async def rpc_endpoint(request: Request) -> Response:
    """``POST /rest/v1/rpc/{fn}``: the room functions (``server/rooms.py``), in one transaction each."""
    context: ServerContext = request.app.state.context
    claims: Claims | None = None
    try:
        claims = _authenticate(request, context)
        name = request.path_params["function"]
        function = rooms.FUNCTIONS.get(name)
        if function is None or request.method != "POST":
            raise RestError(
                404,
                "PGRST202",
                f"Could not find the function public.{name} in the schema cache",
                hint=f"nbrealtime's data API has the functions {', '.join(sorted(rooms.FUNCTIONS))} (POST).",
            )
        body = await _body(request, context.config.limits.max_request_bytes)
        if body is not None and not isinstance(body, dict):
            raise RestError(400, "PGRST102", "Empty or invalid json")
        call = rooms.RoomCall(claims, context.tables, context.is_room_member, body or {})
        result, written = await context.database.run(_call, context, function, call)
        for table, change in written:
            _publish(context, table, [change])
        return Response(orjson.dumps(result), 200, media_type="application/json")
    except DatabaseError as error:
        return error_response(error, anon=claims is None or claims.role == ANON, head=request.method == "HEAD")


def _call(context: ServerContext, function: Any, call: rooms.RoomCall) -> tuple[Any, rooms.Written]:
    with context.database.transaction() as connection:
        return function(connection, call)


def _check_locked(table: schema.Table, claims: Claims, body: Any) -> None:
    """Columns only nbrealtime's functions write (``Table.locked``): PostgreSQL has no privilege on them for the API
    roles, and says so."""
    if claims.bypasses_policies or not table.locked:
        return
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            locked = sorted(set(item) & set(table.locked))
            if locked:
                raise DatabaseError(
                    "42501",
                    f"permission denied for table {table.name}",
                    f"the columns {', '.join(locked)} are changed only by nbrealtime's room functions",
                )


def _read(
    request: Request,
    context: ServerContext,
    table: schema.Table,
    claims: Claims,
    shape: rest_query.Representation,
    prefer: rest_query.Prefer,
) -> Response:
    query = rest_query.parse_query(table, request.query_params, request.headers, read=True, tables=context.tables)
    where, params = query.where_sql(claims)
    policy, policy_params = policies.policy_sql(table, "select", claims)
    where = f"{where} AND {policy}"
    params = [*params, *policy_params]
    connection = context.database.connection
    total = None
    if prefer.count:
        total = connection.execute(f"SELECT COUNT(*) FROM {quote(table.name)} WHERE {where}", params).fetchone()[0]
    window, window_params = query.window_sql()
    order, order_params = query.order_sql()
    rows = connection.execute(
        f"SELECT * FROM {quote(table.name)} WHERE {where}{order}{window}", [*params, *order_params, *window_params]
    ).fetchall()
    if total is not None and query.offset and query.offset > total:
        raise RestError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            f"An offset of {query.offset} was requested, but there are only {total} rows.",
        )
    data = query.render(connection, [decode_row(table, row) for row in rows], claims)
    content = _json(data, shape)
    status = 206 if total is not None and len(data) < total else 200
    headers = {"Content-Range": _content_range(query.offset, len(data), total)}
    return Response(b"" if request.method == "HEAD" else content, status, headers, media_type=shape.media_type)


def _write(
    request: Request,
    context: ServerContext,
    table: schema.Table,
    claims: Claims,
    shape: rest_query.Representation,
    prefer: rest_query.Prefer,
    body: Any,
) -> tuple[Response, list[writes.Change]]:
    """Run a write on the database thread; return the response and the committed changes to publish."""
    method = request.method
    params = request.query_params
    query = rest_query.parse_query(table, params, request.headers, read=False, tables=context.tables)
    caller = writes.Caller(claims, context.is_room_member, Defaults.for_caller(claims.user_id))
    _check_locked(table, claims, body)
    if method == "POST":
        if body is None or not isinstance(body, dict | list):
            raise RestError(400, "PGRST102", "Empty or invalid json")
        columns = rest_query.parse_columns(table, params.get("columns"))
        rows = writes.rows_from_body(table, body, columns, prefer.missing_default)
    elif method == "PATCH" and not isinstance(body, dict):
        raise RestError(400, "PGRST102", "Empty or invalid json")
    representation = prefer.returning == "representation"
    with context.database.transaction() as connection:
        if method == "POST":
            result = writes.insert(
                connection, table, rows, caller, resolution=prefer.resolution, on_conflict=params.get("on_conflict")
            )
        elif method == "PATCH":
            result = writes.update(connection, query, body, caller, max_affected=prefer.max_affected)
        else:
            result = writes.delete(connection, query, caller, max_affected=prefer.max_affected, tables=context.tables)
        if representation and method != "DELETE":
            for row in result.rows:  # RETURNING needs the new rows to be visible to the caller
                if not policies.row_allowed(table, "select", row, claims, context.is_room_member):
                    raise policies.PolicyViolation(table, claims)
        content = _json(query.render(connection, result.rows, claims), shape) if representation else b""
        if shape.single and not representation:
            _json(result.rows, shape)  # .single() on a write still demands exactly one row
    total = len(result.rows) if prefer.count else None
    headers = {"Content-Range": _content_range(0, len(result.rows), total)}
    if method == "POST":
        status = 201 if result.inserted or not prefer.resolution else 200
        if prefer.returning == "headers-only" and len(result.rows) == 1:
            key = "&".join(f"{name}=eq.{result.rows[0][name]}" for name in table.primary_key)
            headers["Location"] = f"/{table.name}?{key}"
    else:
        status = 200 if representation else 204
    if not representation:
        return Response(status_code=status, headers=headers), result.changes
    return Response(content, status, headers, media_type=shape.media_type), result.changes


def _publish(context: ServerContext, table: schema.Table, changes: list[writes.Change]) -> None:
    """Hand committed changes to the change feed; a failing subscriber must not turn a committed write into a 500."""
    timestamp = commit_timestamp()
    for change in changes:
        target = change.table or table
        try:
            context.changes.publish(target, change.event, change.record, change.old_record, timestamp)
        except Exception:
            logger.exception("publishing a %s on %s failed", change.event, target.name)
    members = [change for change in changes if (change.table or table).name == schema.ROOM_MEMBERS_TABLE]
    if members:
        context.membership_changed({str((c.record or c.old_record or {}).get("room")) for c in members})
