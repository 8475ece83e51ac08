/**
 * The plugins that make a room notebook look like one: the registry of room notebooks, and on every notebook panel
 * the people markers, the "ran by" stamps and — for a viewer — the read-only view.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { IRoomState } from '../tokens';
import { NotebookPeople } from './people';
import { ReadOnlyView } from './readonly';
import { IRoomNotebooks, RoomNotebooks } from './roomNotebooks';

export const roomNotebooksPlugin: JupyterFrontEndPlugin<RoomNotebooks> = {
  id: '@nbrealtime/labextension:room-notebooks',
  description: 'Which notebooks of this Jupyter server are room notebooks, and in which room.',
  autoStart: true,
  requires: [IRoomState],
  provides: IRoomNotebooks,
  activate: (_app: JupyterFrontEnd, state: IRoomState): RoomNotebooks => new RoomNotebooks(state)
};

export const notebookViewsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:notebook-views',
  description: "Other people's active cells, who ran each cell, and a viewer's read-only notebook.",
  autoStart: true,
  requires: [IRoomState, INotebookTracker, IRoomNotebooks],
  activate: (_app: JupyterFrontEnd, state: IRoomState, tracker: INotebookTracker, notebooks: RoomNotebooks): void => {
    const decorate = (panel: NotebookPanel): void => {
      new NotebookPeople(panel, state, notebooks);
      new ReadOnlyView(panel, notebooks);
    };
    tracker.forEach(decorate);
    tracker.widgetAdded.connect((_, panel) => decorate(panel));
  }
};
