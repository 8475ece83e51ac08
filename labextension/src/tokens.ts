/**
 * What other nbrealtime plugins (follow and presenter mode, cell markers) plug into: the live room state and the
 * "go to a cell of a room notebook" helper, as Lumino tokens, so they need not edit the sidebar's files.
 */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { LabApi, LiveConnection, LiveFrame } from './api';

export type Role = 'owner' | 'editor' | 'viewer';
export type Status = 'online' | 'away' | 'offline';
export type Kind = 'info' | 'success' | 'warning' | 'error';

/** A room notebook, and where it is on this Jupyter server (`path` null: not open here). */
export interface NotebookRef {
  id: string;
  name: string;
  path: string | null;
}

export interface Member {
  user_id: string;
  name: string;
  color: string;
  role: Role;
  status: Status;
  last_seen: string | null;
  notebook: NotebookRef | null;
  cell: string | null;
  activity: string | null;
  you: boolean;
}

/** An invite as a room's state lists it: `token` and `link` null (only the token's hash is stored; see `NewInvite`),
 * `uses` how many joins it allows (null: unlimited), `used` how many it had. */
export interface Invite {
  id: string;
  role: Role;
  token: null;
  link: null;
  expires_at: string | null;
  uses: number | null;
  used: number;
  revoked: boolean;
  usable: boolean;
  created_at: string;
}

/** The answer to making an invite: `link` is the text to send (`nbrt-invite:ROOM:TOKEN`). */
export interface NewInvite {
  id: string;
  role: Role;
  token: string;
  link: string;
  expires_at: string | null;
  uses: number | null;
}

export interface RoomSettings {
  open_to: 'invited' | 'signed_in';
  role: 'viewer' | 'editor';
}

export interface RoomSummary {
  room: string;
  role: Role;
}

/** The whole state of one room, as the `room` frame and `GET …/rooms/<room>` carry it. */
export interface RoomInfo extends RoomSummary {
  settings: RoomSettings;
  members: Member[];
  invites: Invite[];
}

export interface Me {
  user_id: string;
  name: string;
  color: string;
  backend: string;
}

export interface RoomNotification {
  id: string;
  room: string;
  title: string;
  message: string;
  kind: Kind;
  sender: { user_id: string; name: string } | null;
  created_at: string;
  read: boolean;
  notebook: NotebookRef | null;
  cell: string | null;
}

/** A click on a member in the sidebar: follow mode listens. */
export interface FollowRequest {
  room: string;
  member: Member;
}

export interface IRoomState {
  /** The REST + websocket client (docs/lab-api.md). */
  readonly api: LabApi;
  /** The live socket: its status, and `send` for cheap `where` frames. */
  readonly live: LiveConnection;
  /** Who this Jupyter server signs in as (null until the server answered). */
  readonly me: Me | null;
  /** The rooms this user is a member of. */
  readonly rooms: ReadonlyArray<RoomSummary>;
  /** One room's last known state (undefined until its first `room` frame). */
  room(name: string): RoomInfo | undefined;
  /** Its members, `[]` while unknown. */
  members(name: string): ReadonlyArray<Member>;
  /** Emits the room whose state changed, or null when the list of rooms (or `me`) changed. */
  readonly changed: ISignal<IRoomState, string | null>;
  /** Every frame the live socket receives (`present`, `notification`, …), after the state above took it in. */
  readonly frames: ISignal<IRoomState, LiveFrame>;
  /** Emits when someone asks to follow a member (a click on the member in the sidebar). */
  readonly followRequested: ISignal<IRoomState, FollowRequest>;
  requestFollow(request: FollowRequest): void;
}

export const IRoomState = new Token<IRoomState>(
  '@nbrealtime/labextension:IRoomState',
  'The rooms this user is in, their members and live frames, from the nbrealtime Jupyter server extension.'
);

export interface ICellNavigator {
  /** Open a room notebook here (through the API when it is not open yet) and scroll to, select and reveal `cell`. */
  goToCell(room: string, notebook: NotebookRef, cell: string | null): Promise<void>;
}

export const ICellNavigator = new Token<ICellNavigator>(
  '@nbrealtime/labextension:ICellNavigator',
  'Opens a room notebook in this JupyterLab and brings one of its cells into view.'
);
