/**
 * The client of nbrealtime's Jupyter server extension (docs/lab-api.md): REST calls through Jupyter's own
 * `ServerConnection` (token, cookie and XSRF handled as JupyterLab's services do) and the live websocket, which
 * reconnects with jittered backoff so a restarted Jupyter server is picked up again without a reload.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import type {
  Me,
  Member,
  NewInvite,
  NotebookRef,
  Role,
  RoomInfo,
  RoomNotification,
  RoomSettings,
  RoomSummary
} from './tokens';

const API = 'nbrealtime/api';

/** A refused or failed call, with the server's one-sentence `message`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

export type LiveFrame =
  | { type: 'hello'; me: Me; rooms: RoomSummary[] }
  | ({ type: 'room' } & RoomInfo)
  | { type: 'rooms'; rooms: RoomSummary[] }
  | { type: 'notification'; room: string; notification: RoomNotification }
  | { type: 'notifications'; room: string; notifications: RoomNotification[]; unread: number }
  | {
      type: 'present';
      room: string;
      presenter: { user_id: string; name: string; color: string } | null;
      notebook: NotebookRef | null;
      cell: string | null;
    }
  | { type: 'error'; message: string }
  | { type: 'pong' };

export type Where = { path: string | null; cell: string | null; activity: string | null };

export class LabApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  me(): Promise<Me> {
    return this.request('GET', 'me');
  }

  join(invite: string): Promise<RoomSummary> {
    return this.request('POST', 'rooms/join', { invite });
  }

  createInvite(
    room: string,
    role: Role,
    options: { expires_in?: number; uses?: number | null } = {}
  ): Promise<NewInvite> {
    return this.request('POST', roomPath(room, 'invites'), { role, ...options });
  }

  deleteInvite(room: string, id: string): Promise<void> {
    return this.request('DELETE', roomPath(room, 'invites', id));
  }

  setRole(room: string, userId: string, role: Role): Promise<Member> {
    return this.request('PUT', roomPath(room, 'members', userId), { role });
  }

  removeMember(room: string, userId: string): Promise<void> {
    return this.request('DELETE', roomPath(room, 'members', userId));
  }

  setSettings(room: string, settings: RoomSettings): Promise<RoomSettings> {
    return this.request('PUT', roomPath(room, 'settings'), settings);
  }

  markRead(room: string, ids: string[] | 'all'): Promise<{ unread: number }> {
    return this.request('POST', roomPath(room, 'notifications', 'read'), ids === 'all' ? { all: true } : { ids });
  }

  where(room: string, where: Where): Promise<void> {
    return this.request('POST', roomPath(room, 'where'), where);
  }

  present(room: string, on: boolean): Promise<void> {
    return this.request('POST', roomPath(room, 'present'), { on });
  }

  notebooks(room: string): Promise<Array<NotebookRef & Record<string, unknown>>> {
    return this.request('GET', roomPath(room, 'notebooks'));
  }

  /** Make a room notebook a live file on this server; the answer names its local `path`. */
  openNotebook(room: string, ref: string): Promise<{ path: string } & Record<string, unknown>> {
    return this.request('POST', roomPath(room, 'notebooks', ref, 'open'));
  }

  /** Share a local notebook in a room. */
  shareNotebook(room: string, path: string): Promise<NotebookRef & Record<string, unknown>> {
    return this.request('POST', roomPath(room, 'notebooks'), { path });
  }

  /** The full output (an nbformat output dict) that a room notebook's large-output placeholder stands for. */
  output(room: string, notebook: string, id: string): Promise<Record<string, unknown>> {
    return this.request('GET', roomPath(room, 'notebooks', notebook, 'outputs', id));
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, API, path);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(0, `The Jupyter server did not answer (${String(error)}).`);
    }
    const text = await response.text();
    const data = text ? parseJson(text) : undefined;
    if (!response.ok) {
      const message = (data as { message?: unknown } | undefined)?.message;
      throw new ApiError(response.status, typeof message === 'string' ? message : `${method} ${path}: ${response.status}`);
    }
    return data as T;
  }
}

function roomPath(room: string, ...rest: string[]): string {
  return ['rooms', room, ...rest].map(encodeURIComponent).join('/');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** `unavailable`: this Jupyter server has no lab API (nbrealtime's server extension off, or too old): no retries. */
export type LiveStatus = 'connecting' | 'open' | 'closed' | 'unavailable';

/**
 * `GET /nbrealtime/api/live`: frames in, `where`/`ping` out. Reconnects after 0.5 s, doubling up to 15 s (jittered),
 * back to 0.5 s once a socket opened; a ping every 25 s keeps proxies from closing an idle socket.
 */
export class LiveConnection {
  private socket: WebSocket | null = null;
  private delay = 500;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private readonly _frames = new Signal<this, LiveFrame>(this);
  private readonly _status = new Signal<this, LiveStatus>(this);
  private _state: LiveStatus = 'closed';

  constructor(private readonly settings: ServerConnection.ISettings) {}

  get frames(): ISignal<this, LiveFrame> {
    return this._frames;
  }

  get statusChanged(): ISignal<this, LiveStatus> {
    return this._status;
  }

  get status(): LiveStatus {
    return this._state;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** The server answered that it has no lab API: say so, and stop trying. */
  unavailable(): void {
    this.stop();
    this.setStatus('unavailable');
  }

  stop(): void {
    this.stopped = true;
    if (this.retry !== null) {
      clearTimeout(this.retry);
    }
    this.socket?.close();
  }

  /** Send a frame if the socket is open; false when it is not (the caller may fall back to REST). */
  send(frame: Record<string, unknown>): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private connect(): void {
    this.setStatus('connecting');
    let url = URLExt.join(this.settings.wsUrl, API, 'live');
    const token = this.settings.token;
    if (this.settings.appendToken && token) {
      url += `?token=${encodeURIComponent(token)}`;
    }
    const socket = new this.settings.WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.delay = 500;
      this.setStatus('open');
      this.pinger = setInterval(() => this.send({ type: 'ping' }), 25_000);
    };
    socket.onmessage = event => {
      const frame = parseJson(String(event.data)) as LiveFrame;
      if (frame && typeof frame === 'object' && typeof frame.type === 'string') {
        this._frames.emit(frame);
      }
    };
    socket.onclose = () => {
      if (this.pinger !== null) {
        clearInterval(this.pinger);
      }
      this.socket = null;
      if (!this.stopped) {
        this.setStatus('closed');
        const wait = this.delay * (0.75 + Math.random() / 2);
        this.delay = Math.min(this.delay * 2, 15_000);
        this.retry = setTimeout(() => this.connect(), wait);
      }
    };
  }

  private setStatus(status: LiveStatus): void {
    if (status !== this._state) {
      this._state = status;
      this._status.emit(status);
    }
  }
}
