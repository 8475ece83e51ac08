/**
 * The live room state behind `IRoomState`: it takes the socket's frames in (hello, rooms, room) and tells views what
 * changed. No DOM here: the sidebar and the notification bridge are views over it.
 */
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { ApiError, LabApi, LiveConnection } from './api';
import type { LiveFrame } from './api';
import type { FollowRequest, IRoomState, Me, Member, RoomInfo, RoomSummary } from './tokens';

export class RoomState implements IRoomState {
  readonly live: LiveConnection;
  private _me: Me | null = null;
  private _rooms: RoomSummary[] = [];
  private readonly infos = new Map<string, RoomInfo>();
  private readonly _changed = new Signal<this, string | null>(this);
  private readonly _frames = new Signal<this, LiveFrame>(this);
  private readonly _followRequested = new Signal<this, FollowRequest>(this);

  constructor(readonly api: LabApi = new LabApi()) {
    this.live = new LiveConnection(api.settings);
    this.live.frames.connect((_, frame) => this.take(frame));
  }

  get me(): Me | null {
    return this._me;
  }

  get rooms(): ReadonlyArray<RoomSummary> {
    return this._rooms;
  }

  get changed(): ISignal<this, string | null> {
    return this._changed;
  }

  get frames(): ISignal<this, LiveFrame> {
    return this._frames;
  }

  get followRequested(): ISignal<this, FollowRequest> {
    return this._followRequested;
  }

  room(name: string): RoomInfo | undefined {
    return this.infos.get(name);
  }

  members(name: string): ReadonlyArray<Member> {
    return this.infos.get(name)?.members ?? [];
  }

  /**
   * Connect the live socket, once the server showed it has the lab API: a server without it (404) is said once
   * instead of a socket retried forever.
   */
  async start(): Promise<void> {
    try {
      this._me = await this.api.me();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.live.unavailable();
        return;
      }
    }
    this.live.start();
  }

  requestFollow(request: FollowRequest): void {
    this._followRequested.emit(request);
  }

  private take(frame: LiveFrame): void {
    switch (frame.type) {
      case 'hello':
        this._me = frame.me;
        this.setRooms(frame.rooms);
        break;
      case 'rooms':
        this.setRooms(frame.rooms);
        break;
      case 'room': {
        const { type: _type, ...info } = frame;
        this.infos.set(info.room, info);
        this._changed.emit(info.room);
        break;
      }
      case 'error':
        console.warn(`nbrealtime lab extension: ${frame.message}`);
        break;
    }
    this._frames.emit(frame);
  }

  private setRooms(rooms: RoomSummary[]): void {
    this._rooms = [...rooms].sort((a, b) => a.room.localeCompare(b.room));
    const names = new Set(rooms.map(summary => summary.room));
    for (const name of [...this.infos.keys()]) {
      if (!names.has(name)) {
        this.infos.delete(name);
      }
    }
    this._changed.emit(null);
  }
}
