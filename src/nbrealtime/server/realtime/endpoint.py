"""The realtime websocket endpoint and the HTTP broadcast API (``/realtime/v1/...``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from nbrealtime.server.realtime.connection import Connection, RealtimeServices
from nbrealtime.server.realtime.protocol import Frame, ProtocolError, serializer_for
from nbrealtime.server.tokens import Claims, TokenError, verify_token

__all__ = ["routes"]


def _services(scope_owner: Request | WebSocket) -> RealtimeServices:
    return scope_owner.app.state.context.realtime


async def websocket_endpoint(websocket: WebSocket) -> None:
    services = _services(websocket)
    token = websocket.headers.get("x-api-key") or websocket.query_params.get("apikey")
    try:
        vsn = serializer_for(websocket.query_params.get("vsn"))
        claims = verify_token(token, services.jwt_secret)
    except (TokenError, ProtocolError) as error:
        await websocket.send_denial_response(JSONResponse({"error": str(error)}, status_code=401))
        return
    if services.connection_count >= services.limits.max_connections:
        await websocket.send_denial_response(JSONResponse({"error": "too_many_connections"}, status_code=429))
        return
    await websocket.accept()
    services.connection_count += 1
    try:
        await Connection(websocket, services, vsn, claims).run()
    finally:
        services.connection_count -= 1


def _request_claims(request: Request, services: RealtimeServices) -> Claims:
    authorization = request.headers.get("authorization", "")
    token = authorization[7:] if authorization.lower().startswith("bearer ") else request.headers.get("apikey")
    return verify_token(token, services.jwt_secret)


def _deliver(services: RealtimeServices, claims: Claims, message: dict[str, Any]) -> None:
    """Broadcast one HTTP message; a private one only if the caller may use that topic."""
    topic = message["topic"]
    private = bool(message.get("private"))
    if private and not services.channel_access(claims, topic).send:
        return
    payload: dict[str, Any] = {"type": "broadcast", "event": message["event"], "payload": message["payload"]}
    if message.get("id") is not None:
        payload["meta"] = {"id": str(message["id"])}
    services.hub.broadcast(Frame(f"realtime:{topic}", "broadcast", payload), private=private)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.response = _error(status, message)


async def _authorized_body(request: Request, services: RealtimeServices) -> tuple[Claims, Any]:
    """The caller's claims and the parsed JSON body (``{}`` if empty), or :class:`_Refused`."""
    try:
        claims = _request_claims(request, services)
    except TokenError:
        raise _Refused(401, "Unauthorized") from None
    body = await request.body()
    if len(body) > services.limits.max_payload_bytes:
        raise _Refused(413, "payload_size_exceeded")
    try:
        return claims, orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise _Refused(400, "Request body is not valid JSON") from None


def _batch_errors(body: Any) -> str | None:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return "messages: expected a list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not message.get("topic") or not isinstance(message.get("event"), str):
            return f"messages[{index}]: topic and event are required"
        if not isinstance(message.get("payload"), dict):
            return f"messages[{index}].payload: must be a JSON object"
    return None


async def broadcast_batch(request: Request) -> Response:
    services = _services(request)
    try:
        claims, body = await _authorized_body(request, services)
    except _Refused as refused:
        return refused.response
    problem = _batch_errors(body)
    if problem is not None:
        return _error(422, problem)
    for message in body["messages"]:
        _deliver(services, claims, message)
    return Response(status_code=202)


async def broadcast_single(request: Request) -> Response:
    services = _services(request)
    try:
        claims, payload = await _authorized_body(request, services)
    except _Refused as refused:
        return refused.response
    message = {
        "topic": request.path_params["topic"],
        "event": request.path_params["event"],
        "payload": payload,
        "private": request.query_params.get("private", "").lower() == "true",
    }
    _deliver(services, claims, message)
    return Response(status_code=202)


routes = [
    WebSocketRoute("/realtime/v1/websocket", websocket_endpoint),
    WebSocketRoute("/socket/websocket", websocket_endpoint),
    Route("/realtime/v1/api/broadcast", broadcast_batch, methods=["POST"]),
    Route("/realtime/v1/api/broadcast/{topic:path}/events/{event}", broadcast_single, methods=["POST"]),
]
