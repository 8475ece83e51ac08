/**
 * "Where I am": while a room notebook is this JupyterLab's current notebook, report its active cell and what the
 * user is doing there (editing, running, idle) to the room, so the sidebar, follow mode and the other people's cell
 * markers can show it. Leaving a room notebook reports `null` to that room.
 */
import { NotebookActions } from '@jupyterlab/notebook';
import type { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';

import type { LabApi, Where } from '../api';
import type { RoomNotebooks } from '../notebook/roomNotebooks';

type Activity = 'editing' | 'running' | 'idle';

const NOWHERE: Where = { path: null, cell: null, activity: null };

export class WhereReporter {
  private panel: NotebookPanel | null = null;
  private readonly running = new Map<Notebook, Set<string>>();
  private readonly senders = new Map<string, LatestOnly>();
  private reportedRoom: string | null = null;

  constructor(
    private readonly api: LabApi,
    tracker: INotebookTracker,
    private readonly notebooks: RoomNotebooks
  ) {
    tracker.currentChanged.connect((_, panel) => this.watch(panel));
    notebooks.changed.connect(() => this.report());
    NotebookActions.executionScheduled.connect((_, { notebook, cell }) => this.setRunning(notebook, cell.model.id, true));
    NotebookActions.executed.connect((_, { notebook, cell }) => this.setRunning(notebook, cell.model.id, false));
    this.watch(tracker.currentWidget);
  }

  private watch(panel: NotebookPanel | null): void {
    if (this.panel) {
      this.panel.content.activeCellChanged.disconnect(this.report, this);
      this.panel.content.stateChanged.disconnect(this.report, this);
    }
    this.panel = panel;
    if (panel) {
      panel.content.activeCellChanged.connect(this.report, this);
      panel.content.stateChanged.connect(this.report, this);
      void panel.context.ready.then(() => this.report());
    }
    this.report();
  }

  private setRunning(notebook: Notebook, cell: string, on: boolean): void {
    const cells = this.running.get(notebook) ?? new Set<string>();
    if (on) {
      cells.add(cell);
    } else {
      cells.delete(cell);
    }
    if (cells.size) {
      this.running.set(notebook, cells);
    } else {
      this.running.delete(notebook);
    }
    if (notebook === this.panel?.content) {
      this.report();
    }
  }

  private activity(notebook: Notebook): Activity {
    if (this.running.has(notebook)) {
      return 'running';
    }
    return notebook.mode === 'edit' ? 'editing' : 'idle';
  }

  private report(): void {
    const panel = this.panel;
    const found = panel && !panel.isDisposed && panel.context.isReady ? this.notebooks.find(panel.context.path) : undefined;
    const room = found?.room ?? null;
    if (this.reportedRoom !== null && this.reportedRoom !== room) {
      this.send(this.reportedRoom, NOWHERE);
    }
    this.reportedRoom = room;
    if (found && panel) {
      const cell = panel.content.activeCell?.model.id ?? null;
      this.send(found.room, { path: found.path, cell, activity: this.activity(panel.content) });
    }
  }

  private send(room: string, where: Where): void {
    let sender = this.senders.get(room);
    if (!sender) {
      sender = new LatestOnly(value => this.api.where(room, value));
      this.senders.set(room, sender);
    }
    sender.push(where);
  }
}

/**
 * Sends values one call at a time, skipping every value that a newer one replaced while a call was under way and
 * every repeat of the last sent one: the room sees the latest place in order, never an older one last.
 */
class LatestOnly {
  private last = '';
  private next: Where | null = null;
  private busy = false;

  constructor(private readonly call: (value: Where) => Promise<void>) {}

  push(value: Where): void {
    this.next = value;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      while (this.next) {
        const value = this.next;
        this.next = null;
        const key = JSON.stringify(value);
        if (key === this.last) {
          continue;
        }
        try {
          await this.call(value);
          this.last = key;
        } catch (error) {
          console.warn(`nbrealtime: could not tell the room where you are: ${String(error)}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
