/**
 * "Share notebook in a room…" and "Open a shared notebook…" (issue #15): in the command palette and, for sharing,
 * the notebook toolbar. Sharing puts the current notebook in a room the user picks; opening makes a room notebook a
 * live file on this server (keeping a different local file of that name aside) and opens it as a normal document.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { CommandToolbarButton } from '@jupyterlab/ui-components';

import { nbrealtimeIcon } from './icon';
import { IRoomNotebooks } from './notebook/roomNotebooks';
import type { RoomNotebooks } from './notebook/roomNotebooks';
import { IRoomState } from './tokens';

export const SHARE_COMMAND = 'nbrealtime:share-notebook';
export const OPEN_COMMAND = 'nbrealtime:open-shared-notebook';
const CATEGORY = 'nbrealtime';

interface Services {
  app: JupyterFrontEnd;
  state: IRoomState;
  notebooks: RoomNotebooks;
  tracker: INotebookTracker;
  documents: IDocumentManager;
  palette: ICommandPalette | null;
}

export const notebookCommandsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:notebook-commands',
  description: 'Share a notebook in a room, and open a shared notebook (palette and notebook toolbar).',
  autoStart: true,
  requires: [IRoomState, IRoomNotebooks, INotebookTracker, IDocumentManager],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    state: IRoomState,
    notebooks: RoomNotebooks,
    tracker: INotebookTracker,
    documents: IDocumentManager,
    palette: ICommandPalette | null
  ): void => addNotebookCommands({ app, state, notebooks, tracker, documents, palette })
};

function addNotebookCommands({ app, state, notebooks, tracker, documents, palette }: Services): void {
  app.commands.addCommand(SHARE_COMMAND, {
    label: 'Share notebook in a room…',
    caption: 'Put this notebook in one of your rooms: everyone there can open it and edit it with you.',
    icon: args => (args.toolbar ? nbrealtimeIcon : undefined),
    isEnabled: () => tracker.currentWidget !== null,
    execute: () => reportErrors('Sharing the notebook failed', () => share(state, notebooks, tracker))
  });
  app.commands.addCommand(OPEN_COMMAND, {
    label: 'Open a shared notebook…',
    caption: "Open one of a room's notebooks here, live.",
    execute: () => reportErrors('Opening the shared notebook failed', () => open(state, notebooks, documents))
  });
  for (const command of [SHARE_COMMAND, OPEN_COMMAND]) {
    palette?.addItem({ command, category: CATEGORY });
  }
  app.docRegistry.addWidgetExtension('Notebook', {
    createNew: (panel: NotebookPanel) => {
      const button = new CommandToolbarButton({
        commands: app.commands,
        id: SHARE_COMMAND,
        args: { toolbar: true },
        label: 'Share'
      });
      panel.toolbar.addItem('nbrealtime-share', button);
      return button;
    }
  });
}

async function share(state: IRoomState, notebooks: RoomNotebooks, tracker: INotebookTracker): Promise<void> {
  const panel = tracker.currentWidget;
  if (!panel) {
    return;
  }
  const rooms = state.rooms.filter(summary => summary.role !== 'viewer').map(summary => summary.room);
  if (!rooms.length) {
    throw new Error('You are not an owner or editor in any room: join one with an invite first.');
  }
  const room = await pick('Share notebook in a room', 'Room', rooms);
  if (room === null) {
    return;
  }
  const shared = await state.api.shareNotebook(room, panel.context.path);
  await notebooks.refresh(room);
  Notification.success(`${shared.name} is shared in ${room}.`, { autoClose: 5000 });
}

async function open(state: IRoomState, notebooks: RoomNotebooks, documents: IDocumentManager): Promise<void> {
  const rooms = state.rooms.map(summary => summary.room);
  if (!rooms.length) {
    throw new Error('You are in no room yet: join one with an invite first.');
  }
  const room = await pick('Open a shared notebook', 'Room', rooms);
  if (room === null) {
    return;
  }
  const listed = await state.api.notebooks(room);
  if (!listed.length) {
    throw new Error(`Nobody has shared a notebook in ${room} yet.`);
  }
  const labels = uniqueLabels(listed.map(describe));
  const label = await pick(`Open a shared notebook from ${room}`, 'Notebook', labels);
  if (label === null) {
    return;
  }
  const chosen = listed[labels.indexOf(label)];
  const opened = await state.api.openNotebook(room, String(chosen.id));
  await notebooks.refresh(room);
  documents.openOrReveal(opened.path);
  if (typeof opened.kept_aside === 'string') {
    Notification.info(`Your own ${opened.path} was different: it is kept as ${opened.kept_aside}.`, { autoClose: false });
  }
}

/** One choice from a list (null when the user cancels); a one-item list is still shown, so they see where it goes. */
async function pick(title: string, label: string, items: string[]): Promise<string | null> {
  const result = await InputDialog.getItem({ title, label, items, current: 0 });
  return result.button.accept && result.value !== null ? result.value : null;
}

function describe(notebook: Record<string, unknown>): string {
  const by = typeof notebook.shared_by === 'string' && notebook.shared_by ? ` — shared by ${notebook.shared_by}` : '';
  return `${String(notebook.name)}${by}`;
}

/** Sharing twice gives two notebooks of one name: number the repeats so every choice is one notebook. */
function uniqueLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map(label => {
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 ? label : `${label} (${count})`;
  });
}

async function reportErrors(what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    Notification.error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { autoClose: false });
  }
}
