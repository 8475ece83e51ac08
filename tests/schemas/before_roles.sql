-- The rooms tables as nbrealtime's migration created them before rooms had roles (for the upgrade test in
-- test_pgsql.py): no role column, no room settings, and a member could add themselves to any room.
create table if not exists public.nbrt_rooms (
  name text primary key,
  created_by uuid default auth.uid(),
  created_at timestamptz not null default now()
);
alter table public.nbrt_rooms enable row level security;
grant select, insert, update, delete on table public.nbrt_rooms to anon, authenticated, service_role;
create table if not exists public.nbrt_room_members (
  room text not null,
  user_id uuid not null default auth.uid(),
  name text,
  color text,
  joined_at timestamptz not null default now(),
  last_seen timestamptz not null default now(),
  primary key (room, user_id)
);
alter table public.nbrt_room_members enable row level security;
grant select, insert, update, delete on table public.nbrt_room_members to anon, authenticated, service_role;
create policy nbrt_insert_authenticated on public.nbrt_room_members
  for insert to authenticated
  with check (user_id = (select auth.uid()));
