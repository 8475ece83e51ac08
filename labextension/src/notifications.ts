/**
 * nbrealtime notifications as JupyterLab notifications: each unread one is in JupyterLab's notification centre (a
 * toast when it is new, counted by the status-bar bell), and read state agrees both ways — dismissing it here (or
 * "Mark read") marks it read in nbrealtime, and marking it read anywhere else (a kernel, another JupyterLab) dismisses
 * it here.
 */
import { Notification } from '@jupyterlab/apputils';

import type { LiveFrame } from './api';
import type { ICellNavigator, IRoomState, Kind, RoomNotification } from './tokens';

const TYPES: Record<Kind, Notification.TypeOptions> = {
  info: 'info',
  success: 'success',
  warning: 'warning',
  error: 'error'
};
const TOAST_MS = 8000;

type Key = string; // `${room}\n${id}`

export class NotificationBridge {
  /** nbrealtime notification → the JupyterLab notification showing it. */
  private readonly shown = new Map<Key, string>();
  private readonly byLabId = new Map<string, RoomNotification>();
  /** Asked to be marked read from here: never shown again, even by a frame sent before the server knew. */
  private readonly readHere = new Set<Key>();
  /** JupyterLab notifications this bridge removes itself (their removal is not a user's "read"). */
  private readonly removing = new Set<string>();
  /** Listed without a toast (they were there before this page, or a state frame brought them). */
  private readonly quiet = new Set<Key>();

  constructor(
    private readonly state: IRoomState,
    private readonly navigator: ICellNavigator | null
  ) {
    state.frames.connect((_, frame) => this.take(frame));
    Notification.manager.changed.connect((_, change) => {
      if (change.type === 'removed') {
        this.removedInLab(change.notification.id);
      }
    });
  }

  private take(frame: LiveFrame): void {
    switch (frame.type) {
      case 'notification':
        this.show(frame.notification, true);
        break;
      case 'notifications':
        this.sync(frame.room, frame.notifications);
        break;
    }
  }

  /**
   * The room's whole list (sent when the socket opens, and whenever it or its read state changes anywhere): read ones
   * leave the centre, unread ones not shown yet join it quietly.
   */
  private sync(room: string, list: RoomNotification[]): void {
    for (const notification of list) {
      const key = keyOf({ ...notification, room });
      if (notification.read) {
        this.dismiss(key);
      } else {
        this.show({ ...notification, room }, false);
      }
    }
  }

  private show(notification: RoomNotification, toast: boolean): void {
    const key = keyOf(notification);
    if (toast && this.quiet.has(key)) {
      this.dismiss(key); // listed quietly by a state frame that overtook it: it is new, so it toasts after all
    }
    if (notification.read || this.shown.has(key) || this.readHere.has(key)) {
      return;
    }
    const actions: Notification.IAction[] = [];
    const { notebook, cell } = notification;
    if (notebook && this.navigator) {
      const navigator = this.navigator;
      actions.push({
        label: cell ? 'Go to cell' : 'Open notebook',
        caption: `Open ${notebook.name} from ${notification.room}`,
        displayType: 'accent',
        callback: event => {
          event.preventDefault(); // keep it in the centre: going somewhere is not reading it
          navigator
            .goToCell(notification.room, notebook, cell)
            .catch(error => Notification.error(`nbrealtime could not go there: ${messageOf(error)}`));
        }
      });
    }
    actions.push({
      label: 'Mark read',
      caption: 'Mark it read in nbrealtime (for every view of it)',
      callback: () => this.markRead(notification)
    });
    const sender = notification.sender ? ` — ${notification.sender.name}` : '';
    const text = notification.title
      ? `${notification.title}: ${notification.message}${sender}`
      : `${notification.message}${sender}`;
    const id = Notification.emit(text, TYPES[notification.kind] ?? 'info', {
      autoClose: toast ? (notification.kind === 'error' ? false : TOAST_MS) : 0,
      actions,
      data: { nbrealtime: { room: notification.room, id: notification.id } }
    });
    this.shown.set(key, id);
    this.byLabId.set(id, notification);
    if (!toast) {
      this.quiet.add(key);
    }
  }

  private markRead(notification: RoomNotification): void {
    const key = keyOf(notification);
    this.readHere.add(key);
    void this.state.api.markRead(notification.room, [notification.id]).catch(error => {
      this.readHere.delete(key);
      Notification.error(`nbrealtime could not mark it read: ${messageOf(error)}`);
    });
  }

  private dismiss(key: Key): void {
    const id = this.shown.get(key);
    if (id !== undefined) {
      this.removing.add(id);
      Notification.dismiss(id);
      this.removing.delete(id);
      this.forget(id);
    }
  }

  /** Removed from JupyterLab's centre: by us (nothing to do) or by the user (Mark read, ×, Clear all). */
  private removedInLab(id: string): void {
    const notification = this.byLabId.get(id);
    if (!notification || this.removing.has(id)) {
      return;
    }
    this.forget(id);
    if (!this.readHere.has(keyOf(notification))) {
      this.markRead(notification);
    }
  }

  private forget(id: string): void {
    const notification = this.byLabId.get(id);
    if (notification) {
      this.byLabId.delete(id);
      this.shown.delete(keyOf(notification));
      this.quiet.delete(keyOf(notification));
    }
  }
}

function keyOf(notification: { room: string; id: string }): Key {
  return `${notification.room}\n${notification.id}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
