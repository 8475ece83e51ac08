/**
 * Follow mode: this JupyterLab shows the room notebook and cell a colleague is at — on whatever server they are —
 * and goes along as they move. Any local navigation (a click, a key or a scroll by the user in the notebook, or
 * switching to another tab) pauses following; `resume()` catches up again, `stop()` ends it.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { safeColor } from '../sidebar/format';
import type { ICellNavigator, IRoomState, Member, NotebookRef } from '../tokens';

/** Who is followed, in which room. */
export interface FollowTarget {
  room: string;
  user_id: string;
  name: string;
  color: string;
}

export type FollowMode = 'following' | 'paused';

/** The DOM events only a person makes: a programmatic scroll or focus change fires none of them. */
const LOCAL_NAVIGATION = ['mousedown', 'keydown', 'wheel', 'touchstart'] as const;
export const FOLLOWED_CELL_CLASS = 'nbrt-followed-cell';

export class Follower {
  private _target: FollowTarget | null = null;
  private _mode: FollowMode = 'following';
  private readonly _changed = new Signal<this, void>(this);
  private applied = '';
  private generation = 0;
  private navigating = 0;
  private panel: NotebookPanel | null = null;
  private highlighted: Cell | null = null;
  private cancelWait: (() => void) | null = null;
  /** Room notebooks this follower made files here: room + id → the promise of their path. */
  private readonly opened = new Map<string, Promise<string>>();
  private readonly onLocalNavigation = (): void => this.pause();

  constructor(
    private readonly state: IRoomState,
    private readonly navigator: ICellNavigator,
    private readonly tracker: INotebookTracker,
    shell: JupyterFrontEnd.IShell
  ) {
    state.changed.connect((_, room) => {
      if (room !== null && room === this._target?.room) {
        void this.catchUp();
      }
    });
    shell.currentChanged?.connect((_, change) => {
      if (this.navigating === 0 && this.panel && change.newValue !== this.panel) {
        this.pause();
      }
    });
  }

  /** Emits whenever the target or the mode changed (the follow bar listens). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get target(): FollowTarget | null {
    return this._target;
  }

  get mode(): FollowMode {
    return this._mode;
  }

  follow(room: string, member: Pick<Member, 'user_id' | 'name' | 'color'>): void {
    if (member.user_id === this.state.me?.user_id) {
      return; // one cannot follow oneself (another browser of the same user included)
    }
    this.release();
    this._target = { room, user_id: member.user_id, name: member.name, color: member.color };
    this._mode = 'following';
    this._changed.emit();
    void this.catchUp();
  }

  /** Go back to where the followed person is now, and along with them again. */
  resume(): void {
    if (this._target && this._mode === 'paused') {
      this._mode = 'following';
      this._changed.emit();
      void this.catchUp();
    }
  }

  pause(): void {
    if (this._target && this._mode === 'following') {
      this.release();
      this._mode = 'paused';
      this._changed.emit();
    }
  }

  stop(): void {
    if (this._target) {
      this.release();
      this._target = null;
      this._changed.emit();
    }
  }

  /** Forget the followed panel, its listeners, the highlight and any navigation under way. */
  private release(): void {
    this.generation++;
    this.applied = '';
    this.cancelWait?.();
    this.cancelWait = null;
    this.highlight(null);
    if (this.panel) {
      for (const type of LOCAL_NAVIGATION) {
        this.panel.node.removeEventListener(type, this.onLocalNavigation, true);
      }
      this.panel = null;
    }
  }

  private async catchUp(): Promise<void> {
    const target = this._target;
    if (!target || this._mode !== 'following') {
      return;
    }
    const member = this.state.members(target.room).find(candidate => candidate.user_id === target.user_id);
    const notebook = member?.notebook;
    if (!member || !notebook) {
      return; // not in a room notebook right now: stay put until they are
    }
    const key = `${notebook.id}\n${member.cell ?? ''}`;
    if (key === this.applied) {
      return;
    }
    this.applied = key;
    const generation = ++this.generation;
    this.navigating++;
    try {
      await this.show(target.room, notebook, member.cell, generation);
    } catch (error) {
      if (generation === this.generation) {
        // not retried until they move on: every room frame would otherwise ask the server again
        const message = error instanceof Error ? error.message : String(error);
        Notification.warning(`Could not follow ${target.name} to ${notebook.name}: ${message}`, { autoClose: 8000 });
      }
    } finally {
      this.navigating--;
    }
  }

  private async show(room: string, notebook: NotebookRef, cellId: string | null, generation: number): Promise<void> {
    const path = notebook.path ?? (await this.openHere(room, notebook.id));
    await this.navigator.goToCell(room, { ...notebook, path }, null);
    const panel = this.tracker.find(candidate => candidate.context.path === path);
    if (!panel || generation !== this.generation) {
      return;
    }
    this.watchPanel(panel);
    if (cellId === null) {
      this.highlight(null);
      return;
    }
    const index = await this.cellIndex(panel, cellId);
    if (index < 0 || generation !== this.generation) {
      return;
    }
    panel.content.activeCellIndex = index;
    await panel.content.scrollToItem(index, 'center');
    if (generation === this.generation) {
      this.highlight(panel.content.widgets[index] ?? null);
    }
  }

  /**
   * Make a room notebook a file here once: the room frames that follow may still say it is not open here, and the
   * bridge must not be asked to open one notebook twice at once.
   */
  private openHere(room: string, id: string): Promise<string> {
    const key = `${room}\n${id}`;
    let opening = this.opened.get(key);
    if (!opening) {
      opening = this.state.api.openNotebook(room, id).then(answer => answer.path);
      opening.catch(() => this.opened.delete(key));
      this.opened.set(key, opening);
    }
    return opening;
  }

  /** The cell's index, waiting for it when their cell has not reached this server's copy yet; -1 if superseded. */
  private cellIndex(panel: NotebookPanel, cellId: string): Promise<number> {
    const find = (): number => panel.content.widgets.findIndex(cell => cell.model.id === cellId);
    const index = find();
    const cells = panel.content.model?.cells;
    if (index >= 0 || !cells) {
      return Promise.resolve(index);
    }
    return new Promise(resolve => {
      const done = (found: number): void => {
        cells.changed.disconnect(check);
        this.cancelWait = null;
        resolve(found);
      };
      const check = (): void => {
        const found = find();
        if (found >= 0) {
          done(found);
        }
      };
      cells.changed.connect(check);
      this.cancelWait = () => done(-1);
    });
  }

  private watchPanel(panel: NotebookPanel): void {
    if (this.panel === panel) {
      return;
    }
    if (this.panel) {
      for (const type of LOCAL_NAVIGATION) {
        this.panel.node.removeEventListener(type, this.onLocalNavigation, true);
      }
    }
    this.panel = panel;
    for (const type of LOCAL_NAVIGATION) {
      panel.node.addEventListener(type, this.onLocalNavigation, { capture: true, passive: true });
    }
  }

  private highlight(cell: Cell | null): void {
    this.highlighted?.node.classList.remove(FOLLOWED_CELL_CLASS);
    this.highlighted = cell;
    if (cell && this._target) {
      cell.node.classList.add(FOLLOWED_CELL_CLASS);
      cell.node.style.setProperty('--nbrt-follow-color', safeColor(this._target.color));
    }
  }
}
