/**
 * Follow and presenter mode: following a member picked in the sidebar (with its bar), and presenting to a room, with
 * their commands.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { IRoomNotebooks } from '../notebook/roomNotebooks';
import type { RoomNotebooks } from '../notebook/roomNotebooks';
import { ICellNavigator, IRoomState } from '../tokens';
import { FollowBar } from './bar';
import { Follower } from './follower';
import { Presenting } from './presenter';

export const STOP_FOLLOWING_COMMAND = 'nbrealtime:stop-following';
export const PRESENT_COMMAND = 'nbrealtime:present';
const CATEGORY = 'nbrealtime';

export const followPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:follow',
  description: 'Follow a colleague, or present to the room.',
  autoStart: true,
  requires: [IRoomState, ICellNavigator, INotebookTracker, IRoomNotebooks],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    state: IRoomState,
    navigator: ICellNavigator,
    tracker: INotebookTracker,
    notebooks: RoomNotebooks,
    palette: ICommandPalette | null
  ): void => {
    const follower = new Follower(state, navigator, tracker, app.shell);
    state.followRequested.connect((_, { room, member }) => follower.follow(room, member));
    Widget.attach(new FollowBar(follower), document.body);
    const presenting = new Presenting(state, follower);

    app.commands.addCommand(STOP_FOLLOWING_COMMAND, {
      label: 'Stop following',
      isEnabled: () => follower.target !== null,
      execute: () => follower.stop()
    });
    app.commands.addCommand(PRESENT_COMMAND, {
      label: () => (presenting.presentingIn.length ? 'Stop presenting' : 'Present to the room'),
      caption: 'Ask everyone in one of your rooms to follow you.',
      isEnabled: () => presenting.presentingIn.length > 0 || presentableRooms(state).length > 0,
      isToggled: () => presenting.presentingIn.length > 0,
      execute: async args => {
        try {
          await togglePresenting(state, presenting, notebooks, tracker, args.room);
        } catch (error) {
          Notification.error(`Presenting failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
    follower.changed.connect(() => app.commands.notifyCommandChanged(STOP_FOLLOWING_COMMAND));
    presenting.changed.connect(() => app.commands.notifyCommandChanged(PRESENT_COMMAND));
    for (const command of [PRESENT_COMMAND, STOP_FOLLOWING_COMMAND]) {
      palette?.addItem({ command, category: CATEGORY });
    }
  }
};

/** Owners and editors may present (docs/lab-api.md); viewers may not. */
function presentableRooms(state: IRoomState): string[] {
  return state.rooms.filter(summary => summary.role !== 'viewer').map(summary => summary.room);
}

/**
 * Stop presenting where this user presents; otherwise present to `room`, else the room of the current notebook,
 * else the only room they may present to, else the one they pick.
 */
async function togglePresenting(
  state: IRoomState,
  presenting: Presenting,
  notebooks: RoomNotebooks,
  tracker: INotebookTracker,
  requested: unknown
): Promise<void> {
  if (presenting.presentingIn.length) {
    await Promise.all(presenting.presentingIn.map(room => presenting.present(room, false)));
    return;
  }
  const rooms = presentableRooms(state);
  const current = tracker.currentWidget ? notebooks.find(tracker.currentWidget.context.path)?.room : undefined;
  let room = typeof requested === 'string' ? requested : current && rooms.includes(current) ? current : undefined;
  if (room === undefined && rooms.length === 1) {
    room = rooms[0];
  }
  if (room === undefined) {
    const result = await InputDialog.getItem({ title: 'Present to the room', label: 'Room', items: rooms, current: 0 });
    if (!result.button.accept || !result.value) {
      return;
    }
    room = result.value;
  }
  await presenting.present(room, true);
}
