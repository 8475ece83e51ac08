/**
 * Where people are, in the notebook itself: in a room notebook each remote person's active cell carries their
 * colour and name at its left edge, and every cell that someone ran says who ran it and when (the
 * `nbrealtime: {ran_by, ran_at}` cell metadata that the notebook bridge stamps). One instance per notebook panel.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';

import { safeColor, textOn } from '../sidebar/format';
import type { IRoomState, Member } from '../tokens';
import type { RoomNotebooks } from './roomNotebooks';

export const PEOPLE_CLASS = 'nbrt-cell-people';
export const PERSON_CLASS = 'nbrt-cell-person';
export const RAN_BY_CLASS = 'nbrt-ran-by';
const HAS_PEOPLE_CLASS = 'nbrt-cell-has-people';

interface RunStamp {
  ran_by: string;
  ran_at: string | null;
}

export class NotebookPeople implements IDisposable {
  private disposed = false;
  private readonly watched = new WeakSet<object>();

  constructor(
    private readonly panel: NotebookPanel,
    private readonly state: IRoomState,
    private readonly notebooks: RoomNotebooks
  ) {
    state.changed.connect(this.render, this);
    notebooks.changed.connect(this.render, this);
    panel.content.modelChanged.connect(this.render, this);
    panel.disposed.connect(() => this.dispose());
    void panel.context.ready.then(() => {
      panel.content.model?.cells.changed.connect(this.render, this);
      this.render();
    });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.state.changed.disconnect(this.render, this);
      this.notebooks.changed.disconnect(this.render, this);
    }
  }

  /** Bring every cell's markers and run stamp up to date (idempotent: it only rewrites what changed). */
  private render(): void {
    if (this.disposed || !this.panel.context.isReady) {
      return;
    }
    const here = this.peopleByCell();
    for (const cell of this.panel.content.widgets) {
      this.watchMetadata(cell);
      showPeople(cell, here.get(cell.model.id) ?? []);
      showRunStamp(cell, runStamp(cell));
    }
  }

  /** The other people (online or away) who are at a cell of this notebook, by cell id. */
  private peopleByCell(): Map<string, Member[]> {
    const byCell = new Map<string, Member[]>();
    const notebook = this.notebooks.find(this.panel.context.path);
    if (!notebook) {
      return byCell;
    }
    for (const member of this.state.members(notebook.room)) {
      if (member.you || member.status === 'offline' || member.notebook?.id !== notebook.id || !member.cell) {
        continue;
      }
      byCell.set(member.cell, [...(byCell.get(member.cell) ?? []), member]);
    }
    return byCell;
  }

  private watchMetadata(cell: Cell): void {
    if (!this.watched.has(cell.model)) {
      this.watched.add(cell.model);
      cell.model.metadataChanged.connect(this.render, this);
    }
  }
}

function runStamp(cell: Cell): RunStamp | null {
  const stamp = cell.model.getMetadata('nbrealtime') as Partial<RunStamp> | undefined;
  if (!stamp || typeof stamp.ran_by !== 'string' || !stamp.ran_by) {
    return null;
  }
  return { ran_by: stamp.ran_by, ran_at: typeof stamp.ran_at === 'string' ? stamp.ran_at : null };
}

function showPeople(cell: Cell, people: Member[]): void {
  let box = cell.node.querySelector<HTMLElement>(`:scope > .${PEOPLE_CLASS}`);
  const key = people.map(person => `${person.user_id}:${person.name}:${person.color}`).join('|');
  if (!people.length) {
    box?.remove();
    cell.node.classList.remove(HAS_PEOPLE_CLASS);
    return;
  }
  if (box?.dataset.people === key) {
    return;
  }
  if (!box) {
    box = document.createElement('div');
    box.className = PEOPLE_CLASS;
    cell.node.appendChild(box);
  }
  box.dataset.people = key;
  box.replaceChildren(
    ...people.map(person => {
      const label = document.createElement('span');
      label.className = PERSON_CLASS;
      label.textContent = person.name;
      label.title = person.activity ? `${person.name} (${person.activity})` : person.name;
      label.style.setProperty('--nbrt-person-color', safeColor(person.color));
      label.style.color = textOn(person.color);
      return label;
    })
  );
  cell.node.classList.add(HAS_PEOPLE_CLASS);
  cell.node.style.setProperty('--nbrt-person-color', safeColor(people[0].color));
}

function showRunStamp(cell: Cell, stamp: RunStamp | null): void {
  let label = cell.node.querySelector<HTMLElement>(`:scope > .${RAN_BY_CLASS}`);
  if (!stamp) {
    label?.remove();
    return;
  }
  if (!label) {
    label = document.createElement('div');
    label.className = RAN_BY_CLASS;
    cell.node.appendChild(label);
  }
  const when = stamp.ran_at ? new Date(stamp.ran_at) : null;
  const time = when && !Number.isNaN(when.getTime()) ? ` at ${when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : '';
  const text = `ran by ${stamp.ran_by}${time}`;
  if (label.textContent !== text) {
    label.textContent = text;
    label.title = stamp.ran_at ? `ran by ${stamp.ran_by} at ${stamp.ran_at}` : text;
  }
}
