/**
 * Tells the rooms where this user is: the notebook in front, its active cell, and whether they are editing or running
 * it. The server extension turns a room notebook's local path into its room id and puts it in this user's presence,
 * which the sidebar's "where" line (and follow mode) show on every server.
 */
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import type { Where } from './api';
import type { IRoomState } from './tokens';

/** Typing stops counting as "editing" after this long without a keystroke. */
const EDITING_MS = 10_000;
/** Bursts (cell to cell with the arrow keys, typing) go out as one report. */
const SETTLE_MS = 250;

export class WhereReporter {
  private activity: 'editing' | 'running' | 'idle' = 'idle';
  private readonly running = new Set<string>();
  private readonly sent = new Map<string, string>();
  private settle: ReturnType<typeof setTimeout> | null = null;
  private editingEnds: ReturnType<typeof setTimeout> | null = null;
  private watched: NotebookPanel | null = null;

  constructor(
    private readonly state: IRoomState,
    private readonly tracker: INotebookTracker
  ) {
    tracker.currentChanged.connect(() => this.watch());
    tracker.activeCellChanged.connect(() => this.schedule());
    NotebookActions.executionScheduled.connect((_, { cell }) => {
      this.running.add(cell.model.id);
      this.schedule();
    });
    NotebookActions.executed.connect((_, { cell }) => {
      this.running.delete(cell.model.id);
      this.schedule();
    });
    state.frames.connect((_, frame) => {
      if (frame.type === 'hello') {
        this.sent.clear(); // a new socket: the server's copy of where we are may be gone
      }
      if (frame.type === 'hello' || frame.type === 'rooms') {
        this.schedule();
      }
    });
    this.watch();
  }

  /** Keystrokes in the front notebook's editors are "editing" (its model's changes are not: remote edits land there). */
  private watch(): void {
    this.watched?.content.node.removeEventListener('keydown', this.typed);
    this.watched = this.tracker.currentWidget;
    this.watched?.content.node.addEventListener('keydown', this.typed);
    this.schedule();
  }

  private readonly typed = (): void => {
    if (this.watched?.content.mode !== 'edit') {
      return;
    }
    this.activity = 'editing';
    if (this.editingEnds !== null) {
      clearTimeout(this.editingEnds);
    }
    this.editingEnds = setTimeout(() => {
      this.activity = 'idle';
      this.schedule();
    }, EDITING_MS);
    this.schedule();
  };

  private schedule(): void {
    if (this.settle === null) {
      this.settle = setTimeout(() => {
        this.settle = null;
        this.report();
      }, SETTLE_MS);
    }
  }

  private current(): Where {
    const panel = this.tracker.currentWidget;
    const cell = panel?.content.activeCell?.model.id ?? null;
    if (!panel) {
      return { path: null, cell: null, activity: null };
    }
    const activity = cell !== null && this.running.has(cell) ? 'running' : this.activity;
    return { path: panel.context.path, cell, activity };
  }

  private report(): void {
    const where = this.current();
    const text = JSON.stringify(where);
    for (const { room } of this.state.rooms) {
      if (this.sent.get(room) === text) {
        continue;
      }
      this.sent.set(room, text);
      if (!this.state.live.send({ type: 'where', room, ...where })) {
        void this.state.api.where(room, where).catch(() => this.sent.delete(room));
      }
    }
  }
}
