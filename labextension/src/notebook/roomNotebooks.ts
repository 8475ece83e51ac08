/**
 * Which files of this Jupyter server are room notebooks, and in which room. Follow mode, the people markers and the
 * read-only view ask this one registry. It learns from the rooms' live state — a member's `notebook.path` is where
 * that room notebook is on this server, and this user's own entry names the notebook they have in front as soon as
 * their `where` arrived — so it costs no request per room; sharing and opening read the one room's list at once.
 */
import { Token } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import type { IRoomState } from '../tokens';

/** A room notebook that is a file on this server. */
export interface RoomNotebook {
  room: string;
  id: string;
  name: string;
  path: string;
  /** This user is a viewer in the room: the notebook must not be edited here. */
  read_only: boolean;
}

/** A room notebook as a room frame or the notebooks list names it (`path` null: not a file here). */
type Seen = { id: unknown; name: unknown; path?: unknown };

export const IRoomNotebooks = new Token<RoomNotebooks>(
  '@nbrealtime/labextension:IRoomNotebooks',
  'Which notebooks of this Jupyter server are room notebooks, and in which room.'
);

export class RoomNotebooks {
  /** room → notebook id → the notebook. */
  private readonly byRoom = new Map<string, Map<string, RoomNotebook>>();
  private readonly _changed = new Signal<this, void>(this);

  constructor(private readonly state: IRoomState) {
    state.changed.connect((_, room) => (room === null ? this.forgetLeftRooms() : this.learn(room)));
  }

  /** Emits when a room notebook became known here or its read-only state changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The room notebook that is the file `path` here, if any. */
  find(path: string): RoomNotebook | undefined {
    for (const notebooks of this.byRoom.values()) {
      for (const notebook of notebooks.values()) {
        if (notebook.path === path) {
          return notebook;
        }
      }
    }
    return undefined;
  }

  /** Read one room's notebooks now (after sharing or opening one here, before its room frame says so). */
  async refresh(room: string): Promise<void> {
    const listed = await this.state.api.notebooks(room);
    const readOnly = listed.some(item => item.read_only === true) || this.state.room(room)?.role === 'viewer';
    this.take(room, listed, readOnly);
  }

  private learn(room: string): void {
    const info = this.state.room(room);
    if (info) {
      this.take(room, info.members.map(member => member.notebook), info.role === 'viewer');
    }
  }

  /** Add what `seen` names with a local path; a new role makes the room's notebooks (not) read-only. */
  private take(room: string, seen: Array<Seen | null>, readOnly: boolean): void {
    const known = this.byRoom.get(room) ?? new Map<string, RoomNotebook>();
    let changed = false;
    for (const notebook of known.values()) {
      if (notebook.read_only !== readOnly) {
        notebook.read_only = readOnly;
        changed = true;
      }
    }
    for (const item of seen) {
      if (!item || typeof item.path !== 'string' || !item.path) {
        continue;
      }
      const id = String(item.id);
      if (known.get(id)?.path !== item.path) {
        known.set(id, { room, id, name: String(item.name), path: item.path, read_only: readOnly });
        changed = true;
      }
    }
    this.byRoom.set(room, known);
    if (changed) {
      this._changed.emit();
    }
  }

  private forgetLeftRooms(): void {
    const rooms = new Set(this.state.rooms.map(summary => summary.room));
    const left = [...this.byRoom.keys()].filter(room => !rooms.has(room));
    for (const room of left) {
      this.byRoom.delete(room);
    }
    if (left.length) {
      this._changed.emit();
    }
  }
}
