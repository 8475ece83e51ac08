"""The rooms' part of the Supabase migration: the room functions and the private channels' policies.

* ``nbrt_join_room`` and ``nbrt_set_role`` are ``security definer`` PL/pgSQL twins of the embedded server's
  ``server/rooms.py`` (same arguments, results, refusals and error codes), called through PostgREST's ``/rpc``.
  Redeeming an invite is one conditional ``UPDATE … RETURNING``, so two people racing for the last use cannot both win.
* Supabase Realtime authorises a private channel by trying, as the joining user, to read (SELECT) and write (INSERT)
  probe rows of ``realtime.messages`` for the topic (``realtime.topic()``) and each ``extension``; the policies here
  render :data:`schema.CHANNEL_RULES` for it.
"""

from __future__ import annotations

from nbrealtime.schema import (
    CHANNEL_RULES,
    JOIN_ROOM_FUNCTION,
    ROLES,
    ROOM_INVITES_TABLE,
    ROOM_MEMBERS_TABLE,
    ROOMS_TABLE,
    SET_ROLE_FUNCTION,
    roles_for,
)

__all__ = [
    "ROOM_MEMBER_FUNCTION",
    "ROOM_ROLE_FUNCTION",
    "channel_policies_sql",
    "room_functions_sql",
    "room_test",
    "upgrade_to_roles_sql",
]

ROOM_MEMBER_FUNCTION = "public.nbrt_is_room_member"
ROOM_ROLE_FUNCTION = "public.nbrt_room_role"
_CALLERS = "anon, authenticated, service_role"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def room_test(kind: str, room: str) -> str:
    """SQL that holds when the caller has one of the roles the room atom ``kind`` names in the room ``room``."""
    roles = roles_for(kind)
    if roles == ROLES:
        return f"{ROOM_MEMBER_FUNCTION}({room})"
    if len(roles) == 1:
        return f"{ROOM_ROLE_FUNCTION}({room}) = {_literal(roles[0])}"
    return f"{ROOM_ROLE_FUNCTION}({room}) in ({', '.join(_literal(role) for role in roles)})"


def _function_head(name: str, parameters: str, declarations: str) -> str:
    """The start of a ``security definer`` PL/pgSQL function of the caller (``caller``, refused when not signed in)."""
    return f"""\
create or replace function public.{name}({parameters})
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  caller uuid := auth.uid();
{declarations}
begin
  if caller is null then
    raise exception 'only a signed-in user can join a room'
      using errcode = '42501', hint = 'sign in (anonymously is enough) and try again';
  end if;
"""


def _function_tail(name: str, types: str) -> str:
    """The end of such a function, callable by the API roles (anon gets the refusal, not a 404)."""
    return f"""\
end;
$$;
revoke all on function public.{name}({types}) from public;
grant execute on function public.{name}({types}) to {_CALLERS};
"""


def room_functions_sql() -> str:
    """``nbrt_join_room`` and ``nbrt_set_role``: the PL/pgSQL twins of ``server/rooms.py``."""
    roles = ", ".join(_literal(role) for role in ROLES)
    members, rooms, invites = (f"public.{name}" for name in (ROOM_MEMBERS_TABLE, ROOMS_TABLE, ROOM_INVITES_TABLE))
    join, set_role = JOIN_ROOM_FUNCTION, SET_ROLE_FUNCTION
    join_parameters = "room text, invite text default null, name text default null, color text default null"
    join_declarations = f"""\
  granted text;
  created boolean := false;
  settings {rooms};
  found_invite {invites};
  digest text;
  ask text := format('ask an owner of room %L for a new invite', {join}.room);"""
    return f"""\
-- Rooms: joining (create as owner / already a member / redeem an invite / open room) and changing roles.  security
-- definer so they may write the columns the API roles cannot (role, uses); every check is in here.
{_function_head(join, join_parameters, join_declarations)}\
  if {join}.room is null or {join}.room !~ '^[\\w.-]{{1,64}}$' then
    raise exception 'a room name is 1 to 64 letters, digits, ''_'', ''-'' or ''.''' using errcode = '22023';
  end if;
  select m.role into granted from {members} as m where m.room = {join}.room and m.user_id = caller;
  if found then
    update {members} as m
      set name = coalesce({join}.name, m.name), color = coalesce({join}.color, m.color), last_seen = now()
      where m.room = {join}.room and m.user_id = caller;
    return jsonb_build_object('room', {join}.room, 'role', granted, 'created', false);
  end if;
  insert into {rooms} (name, created_by) values ({join}.room, caller) on conflict do nothing;
  if found then
    granted := 'owner';
    created := true;
  elsif {join}.invite is not null then
    digest := encode(sha256(convert_to({join}.invite, 'UTF8')), 'hex');
    update {invites} as i set uses = i.uses + 1
      where i.room = {join}.room and i.token_hash = digest and not i.revoked
        and (i.expires_at is null or i.expires_at > now()) and (i.max_uses is null or i.uses < i.max_uses)
      returning i.role into granted;
    if not found then
      select * into found_invite from {invites} as i where i.room = {join}.room and i.token_hash = digest;
      if not found then
        raise exception 'this invite is not valid for room %', quote_literal({join}.room)
          using errcode = '42501', hint = ask;
      elsif found_invite.revoked then
        raise exception 'this invite to room % was revoked', quote_literal({join}.room)
          using errcode = '42501', hint = ask;
      elsif found_invite.expires_at is not null and found_invite.expires_at <= now() then
        raise exception 'this invite to room % has expired', quote_literal({join}.room)
          using errcode = '42501', hint = ask;
      else
        raise exception 'this invite to room % has been used up', quote_literal({join}.room)
          using errcode = '42501', hint = ask;
      end if;
    end if;
    if granted not in ({roles}) then
      raise exception 'the invite''s role % is not one of owner, editor, viewer', quote_literal(granted)
        using errcode = '22023';
    end if;
  else
    select * into settings from {rooms} as r where r.name = {join}.room;
    if settings.open_to = 'signed_in' and settings.open_role in ('editor', 'viewer') then
      granted := settings.open_role;
    else
      raise exception 'room % is invite-only and you are not a member', quote_literal({join}.room)
        using errcode = '42501', hint = 'ask an owner of the room for an invite (room.invite() in their notebook), '
          'then join with nbrealtime.connect(invite=...)';
    end if;
  end if;
  insert into {members} (room, user_id, role, name, color)
    values ({join}.room, caller, granted, {join}.name, {join}.color)
    on conflict do nothing;
  return jsonb_build_object('room', {join}.room, 'role', granted, 'created', created);
{_function_tail(join, "text, text, text, text")}
{_function_head(set_role, "room text, member uuid, role text", "  previous text;")}\
  if {set_role}.role is null or {set_role}.role not in ({roles}) then
    raise exception 'role must be one of owner, editor, viewer, not %', quote_literal({set_role}.role)
      using errcode = '22023';
  end if;
  -- lock the room's owners first, so two owners demoting each other cannot leave it with none
  perform 1 from {members} as m where m.room = {set_role}.room and m.role = 'owner' for update;
  if {ROOM_ROLE_FUNCTION}({set_role}.room) is distinct from 'owner' then
    raise exception 'only an owner of room % can change roles', quote_literal({set_role}.room) using errcode = '42501';
  end if;
  select m.role into previous from {members} as m
    where m.room = {set_role}.room and m.user_id = {set_role}.member for update;
  if not found then
    raise exception '% is not a member of room %', {set_role}.member, quote_literal({set_role}.room)
      using errcode = 'P0002';
  end if;
  if previous = 'owner' and {set_role}.role <> 'owner'
     and (select count(*) from {members} as m where m.room = {set_role}.room and m.role = 'owner') = 1 then
    raise exception 'room % would have no owner', quote_literal({set_role}.room)
      using errcode = '42501', hint = 'make someone else an owner first';
  end if;
  update {members} as m set role = {set_role}.role
    where m.room = {set_role}.room and m.user_id = {set_role}.member;
  return jsonb_build_object('room', {set_role}.room, 'user_id', {set_role}.member, 'role', {set_role}.role);
{_function_tail(set_role, "text, uuid, text")}"""


def upgrade_to_roles_sql() -> str:
    """Tables made by a migration from before roles get the new columns before anything refers to them; their rooms
    keep working as they did (members become editors, whoever created a room its owner), as the embedded server's
    ``upgrade_to_roles``.  Does nothing on a fresh project or once upgraded."""
    members, rooms = (f"public.{name}" for name in (ROOM_MEMBERS_TABLE, ROOMS_TABLE))
    return f"""\
-- Upgrade from before roles: only where {ROOM_MEMBERS_TABLE} exists without a role column.
do $$
begin
  if exists (
    select 1 from information_schema.tables where table_schema = 'public' and table_name = '{ROOM_MEMBERS_TABLE}'
  ) and not exists (
    select 1 from information_schema.columns
    where table_schema = 'public' and table_name = '{ROOM_MEMBERS_TABLE}' and column_name = 'role'
  ) then
    alter table {members} add column role text not null default 'editor';
    update {members} as m set role = 'owner' from {rooms} as r where r.name = m.room and r.created_by = m.user_id;
    alter table {members} alter column role set default 'viewer';
    alter table {rooms} add column if not exists open_to text not null default 'invited';
    alter table {rooms} add column if not exists open_role text not null default 'viewer';
  end if;
end
$$;
"""


def _channel_condition(action: str) -> str:
    """Any rule's topic whose ``receive``/``send`` atom the caller passes."""
    tests = []
    for rule in CHANNEL_RULES:
        room = f"substring((select realtime.topic()) from {_literal(rule.pattern)})"
        tests.append(room_test(rule.receive if action == "receive" else rule.send, room))
    return "\n    or ".join(tests)


def channel_policies_sql() -> str:
    """RLS on ``realtime.messages``: SELECT = may receive on a room channel, INSERT = may send there."""
    described = "\n".join(f"--   nbrt:<room>{rule.suffix}: {rule.description}" for rule in CHANNEL_RULES)
    return f"""\
-- Realtime: the rooms' private channels.  Supabase decides at join (and on each token refresh) whether the user
-- may receive (SELECT) and send (INSERT) on a topic, from probe rows without an event:
{described}
drop policy if exists nbrt_channels_receive on realtime.messages;
create policy nbrt_channels_receive on realtime.messages
  for select to authenticated
  using (realtime.messages.extension in ('broadcast', 'presence') and (
    {_channel_condition("receive")}
  ));
drop policy if exists nbrt_channels_send on realtime.messages;
create policy nbrt_channels_send on realtime.messages
  for insert to authenticated
  with check (realtime.messages.extension in ('broadcast', 'presence') and (
    {_channel_condition("send")}
  ));
"""
