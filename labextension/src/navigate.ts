/** Open a room notebook in this JupyterLab (through the API when it is not open here yet) and bring a cell into view. */
import type { IDocumentManager } from '@jupyterlab/docmanager';
import { NotebookPanel } from '@jupyterlab/notebook';
import type { INotebookTracker } from '@jupyterlab/notebook';

import type { LabApi } from './api';
import type { ICellNavigator, Member, NotebookRef } from './tokens';

export class CellNavigator implements ICellNavigator {
  constructor(
    private readonly api: LabApi,
    private readonly documents: IDocumentManager
  ) {}

  async goToCell(room: string, notebook: NotebookRef, cell: string | null): Promise<void> {
    const path = notebook.path ?? (await this.api.openNotebook(room, notebook.id)).path;
    const widget = this.documents.openOrReveal(path);
    if (!(widget instanceof NotebookPanel)) {
      throw new Error(`${path} did not open as a notebook.`);
    }
    await widget.context.ready;
    await widget.revealed;
    if (cell === null) {
      return;
    }
    const index = widget.content.widgets.findIndex(child => child.model.id === cell);
    if (index < 0) {
      throw new Error(`${notebook.name} has no cell ${cell} (any more).`);
    }
    widget.content.activeCellIndex = index;
    await widget.content.scrollToItem(index, 'center');
  }
}

/** "cell 3" when the member's notebook is open here and has their cell. */
export function cellLabel(tracker: INotebookTracker | null, member: Member): string | null {
  const path = member.notebook?.path;
  if (!tracker || !path || !member.cell) {
    return null;
  }
  const panel = tracker.find(candidate => candidate.context.path === path);
  const index = panel?.content.widgets.findIndex(child => child.model.id === member.cell) ?? -1;
  return index >= 0 ? `cell ${index + 1}` : null;
}
