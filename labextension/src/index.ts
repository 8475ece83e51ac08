/**
 * nbrealtime's JupyterLab 4 / Notebook 7 extension: the live room state (a token other plugins use), the room
 * sidebar, nbrealtime notifications in JupyterLab's notification centre, and opening a room notebook at a cell.
 * It talks only to nbrealtime's Jupyter server extension (docs/lab-api.md), never to a kernel.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';

import { LabApi } from './api';
import { notebookCommandsPlugin } from './commands';
import { followPlugin } from './follow/plugin';
import { notebookViewsPlugin, roomNotebooksPlugin } from './notebook/plugin';
import { outputsPlugin } from './outputs';
import { cellLabel, CellNavigator } from './navigate';
import { NotificationBridge } from './notifications';
import { RoomSidebar } from './sidebar/panel';
import { RoomState } from './state';
import { ICellNavigator, IRoomState } from './tokens';
import { WhereReporter } from './where';

export * from './tokens';
export { ApiError, LabApi } from './api';
export type { LiveFrame, Where } from './api';

const stateplugin: JupyterFrontEndPlugin<IRoomState> = {
  id: '@nbrealtime/labextension:state',
  description: 'The rooms this user is in and their live state, from the nbrealtime Jupyter server extension.',
  autoStart: true,
  provides: IRoomState,
  activate: (app: JupyterFrontEnd): IRoomState => {
    const state = new RoomState(new LabApi(app.serviceManager.serverSettings));
    void state.start();
    return state;
  }
};

const navigatorPlugin: JupyterFrontEndPlugin<ICellNavigator> = {
  id: '@nbrealtime/labextension:navigator',
  description: 'Opens a room notebook at one of its cells.',
  autoStart: true,
  requires: [IRoomState, IDocumentManager],
  provides: ICellNavigator,
  activate: (_app: JupyterFrontEnd, state: IRoomState, documents: IDocumentManager): ICellNavigator =>
    new CellNavigator(state.api, documents)
};

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:sidebar',
  description: 'The room sidebar: members, roles, status, where they are; owner controls; joining by invite.',
  autoStart: true,
  requires: [IRoomState],
  optional: [INotebookTracker],
  activate: (app: JupyterFrontEnd, state: IRoomState, tracker: INotebookTracker | null): void => {
    const sidebar = new RoomSidebar(
      {
        state,
        api: state.api,
        cellLabel: member => cellLabel(tracker, member),
        confirm: async (title, body, accept) =>
          (
            await showDialog({
              title,
              body,
              buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })]
            })
          ).button.accept
      },
      state.live
    );
    app.shell.add(sidebar, 'left', { rank: 600, type: 'nbrealtime rooms' });
  }
};

const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:notifications',
  description: "nbrealtime notifications in JupyterLab's notification centre, read state kept in agreement.",
  autoStart: true,
  requires: [IRoomState],
  optional: [ICellNavigator],
  activate: (_app: JupyterFrontEnd, state: IRoomState, navigator: ICellNavigator | null): void => {
    new NotificationBridge(state, navigator);
  }
};

const wherePlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:where',
  description: 'Tells the rooms which notebook and cell this user is at, and whether they are editing or running it.',
  autoStart: true,
  requires: [IRoomState, INotebookTracker],
  activate: (_app: JupyterFrontEnd, state: IRoomState, tracker: INotebookTracker): void => {
    new WhereReporter(state, tracker);
  }
};

export default [
  stateplugin,
  navigatorPlugin,
  sidebarPlugin,
  notificationsPlugin,
  wherePlugin,
  // follow and presenter mode, room notebooks in the notebook view, share/open, large outputs
  roomNotebooksPlugin,
  notebookViewsPlugin,
  followPlugin,
  notebookCommandsPlugin,
  outputsPlugin
];
