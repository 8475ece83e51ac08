/**
 * Which files of this Jupyter server are room notebooks, and in which room. Follow mode, the "where I am" reports,
 * the people markers and the read-only view all ask this one registry (from `GET …/rooms/<room>/notebooks` of every
 * room this user is in) instead of each listing the rooms' notebooks on its own.
 */
import { Token } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import type { IRoomState, Role } from '../tokens';

/** A room notebook that is a file on this server. */
export interface RoomNotebook {
  room: string;
  id: string;
  name: string;
  path: string;
  /** This user is a viewer in the room: the notebook must not be edited here. */
  read_only: boolean;
}

export const IRoomNotebooks = new Token<RoomNotebooks>(
  '@nbrealtime/labextension:IRoomNotebooks',
  'Which notebooks of this Jupyter server are room notebooks, and in which room.'
);

export class RoomNotebooks {
  private readonly byRoom = new Map<string, RoomNotebook[]>();
  private readonly roles = new Map<string, Role>();
  private readonly _changed = new Signal<this, void>(this);

  constructor(private readonly state: IRoomState) {
    state.changed.connect((_, room) => (room === null ? void this.refreshAll() : this.roleMayHaveChanged(room)));
    void this.refreshAll();
  }

  /** Emits after any room's list of notebooks was read again. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The room notebook that is the file `path` here, if any. */
  find(path: string): RoomNotebook | undefined {
    for (const notebooks of this.byRoom.values()) {
      const found = notebooks.find(notebook => notebook.path === path);
      if (found) {
        return found;
      }
    }
    return undefined;
  }

  /** Read one room's notebooks again (after sharing or opening one, or when a file shows up that we do not know). */
  async refresh(room: string): Promise<void> {
    let listed: Array<Record<string, unknown>>;
    try {
      listed = await this.state.api.notebooks(room);
    } catch (error) {
      console.warn(`nbrealtime: could not list the notebooks of ${room}: ${String(error)}`);
      return;
    }
    const here = listed.filter(item => typeof item.path === 'string');
    this.byRoom.set(
      room,
      here.map(item => ({
        room,
        id: String(item.id),
        name: String(item.name),
        path: String(item.path),
        read_only: item.read_only === true
      }))
    );
    this._changed.emit();
  }

  /** Read every room's notebooks again (the rooms changed, or a notebook opened that no room is known to hold). */
  async refreshAll(): Promise<void> {
    const rooms = this.state.rooms.map(summary => summary.room);
    for (const room of [...this.byRoom.keys()]) {
      if (!rooms.includes(room)) {
        this.byRoom.delete(room);
      }
    }
    await Promise.all(rooms.map(room => this.refresh(room)));
  }

  /** A new role (a viewer made an editor, or the reverse) changes which notebooks are read-only. */
  private roleMayHaveChanged(room: string): void {
    const role = this.state.room(room)?.role;
    if (role && this.roles.get(room) !== role) {
      const known = this.roles.has(room);
      this.roles.set(room, role);
      if (known) {
        void this.refresh(room);
      }
    }
  }
}
