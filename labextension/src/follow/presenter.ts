/**
 * Presenter mode: an owner presents to a room; everyone else in it is asked (a JupyterLab notification) to follow
 * them, and may decline or stop later. When presenting stops, the question is withdrawn and whoever followed the
 * presenter because of it stops following.
 */
import { Notification } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import type { LiveFrame } from '../api';
import type { IRoomState } from '../tokens';
import type { Follower } from './follower';

type PresentFrame = Extract<LiveFrame, { type: 'present' }>;
type Presenter = NonNullable<PresentFrame['presenter']>;

export class Presenting {
  private readonly presenters = new Map<string, Presenter>();
  private readonly questions = new Map<string, string>();
  private readonly _changed = new Signal<this, void>(this);

  constructor(
    private readonly state: IRoomState,
    private readonly follower: Follower
  ) {
    state.frames.connect((_, frame) => {
      if (frame.type === 'present') {
        this.take(frame);
      }
    });
  }

  /** Emits when someone started or stopped presenting in any room. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The rooms this user is presenting to. */
  get presentingIn(): string[] {
    const me = this.state.me?.user_id;
    return [...this.presenters].filter(([, presenter]) => presenter.user_id === me).map(([room]) => room);
  }

  /** Start or stop presenting to `room` (the room's `present` frame then updates everyone, this view included). */
  async present(room: string, on: boolean): Promise<void> {
    await this.state.api.present(room, on);
  }

  private take(frame: PresentFrame): void {
    const before = this.presenters.get(frame.room);
    const after = frame.presenter;
    if (before?.user_id === after?.user_id) {
      return;
    }
    if (after) {
      this.presenters.set(frame.room, after);
    } else {
      this.presenters.delete(frame.room);
    }
    this.withdraw(frame.room);
    const target = this.follower.target;
    if (before && target?.room === frame.room && target.user_id === before.user_id) {
      this.follower.stop();
    }
    if (after && after.user_id !== this.state.me?.user_id) {
      this.ask(frame.room, after);
    }
    this._changed.emit();
  }

  private ask(room: string, presenter: Presenter): void {
    const id = Notification.info(`${presenter.name} is presenting in ${room}`, {
      autoClose: false,
      actions: [
        { label: 'Follow', callback: () => this.follower.follow(room, presenter), displayType: 'accent' },
        { label: 'Decline', callback: () => undefined }
      ]
    });
    this.questions.set(room, id);
  }

  private withdraw(room: string): void {
    const id = this.questions.get(room);
    if (id !== undefined) {
      Notification.dismiss(id);
      this.questions.delete(room);
    }
  }
}
