/**
 * A viewer's room notebook is read-only here: every cell's editor is read-only, the keys and toolbar buttons that
 * change cells do nothing, and a banner says why. (The notebook bridge refuses a viewer's updates anyway: this
 * keeps the viewer's own copy from drifting away from the room's and tells them so.) One instance per panel.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import type { RoomNotebooks } from './roomNotebooks';

export const READ_ONLY_CLASS = 'nbrt-read-only';
export const BANNER_CLASS = 'nbrt-read-only-banner';

/** Command-mode keys of JupyterLab's default shortcuts that change cells (insert, cut, paste, delete, undo, type). */
const COMMAND_MODE_EDITS = new Set(['a', 'b', 'x', 'v', 'd', 'z', 'm', 'y', 'r', '1', '2', '3', '4', '5', '6']);

export class ReadOnlyView implements IDisposable {
  private banner: Widget | null = null;
  private room: string | null = null;
  private disposed = false;

  constructor(
    private readonly panel: NotebookPanel,
    private readonly notebooks: RoomNotebooks
  ) {
    notebooks.changed.connect(this.update, this);
    panel.disposed.connect(() => this.dispose());
    panel.content.node.addEventListener('keydown', this.refuseEditingKeys, true);
    void panel.context.ready.then(() => {
      panel.content.model?.cells.changed.connect(this.lockCells, this);
      this.update();
    });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.notebooks.changed.disconnect(this.update, this);
    }
  }

  private update(): void {
    if (this.disposed || !this.panel.context.isReady) {
      return;
    }
    const notebook = this.notebooks.find(this.panel.context.path);
    const room = notebook?.read_only ? notebook.room : null;
    if (room === this.room) {
      return;
    }
    this.room = room;
    this.panel.toggleClass(READ_ONLY_CLASS, room !== null);
    if (this.panel.content.model) {
      this.panel.content.model.readOnly = room !== null;
    }
    this.lockCells();
    this.banner?.dispose();
    this.banner = null;
    if (room !== null) {
      this.banner = new Widget();
      this.banner.addClass(BANNER_CLASS);
      this.banner.node.setAttribute('role', 'note');
      this.banner.node.textContent = `Read-only: you are a viewer in ${room}`;
      this.panel.contentHeader.addWidget(this.banner);
    }
  }

  /** Every cell (new ones too) follows the notebook's read-only state; the document's own metadata is untouched. */
  private lockCells(): void {
    for (const cell of this.panel.content.widgets) {
      lock(cell, this.room !== null);
    }
  }

  private readonly refuseEditingKeys = (event: KeyboardEvent): void => {
    if (this.room === null) {
      return;
    }
    const runs = event.key === 'Enter' && (event.shiftKey || event.ctrlKey || event.altKey || event.metaKey);
    const commandModeEdit =
      this.panel.content.mode === 'command' &&
      !event.ctrlKey &&
      !event.metaKey &&
      !event.altKey &&
      COMMAND_MODE_EDITS.has(event.key.toLowerCase());
    if (runs || commandModeEdit) {
      event.preventDefault();
      event.stopPropagation();
    }
  };
}

function lock(cell: Cell, readOnly: boolean): void {
  if (readOnly) {
    cell.syncEditable = false; // a viewer's lock is theirs alone: never written into the shared document
    cell.readOnly = true;
  } else if (cell.syncEditable === false) {
    cell.loadEditableState();
    cell.syncEditable = true;
  }
}
