/** One room in the sidebar: its name and your role, its members, and for owners the room's controls. */
import type { RoomInfo, RoomSummary } from '../tokens';
import { Announcer } from './context';
import type { SidebarContext } from './context';
import { h } from './dom';
import { memberRow } from './member';
import { ownerSection } from './owner';

const STATUS_ORDER = { online: 0, away: 1, offline: 2 };

export class RoomSection {
  readonly node: HTMLElement;
  private readonly body: HTMLElement;
  /** Kept across renders, so what the last action said stays visible after the state it caused arrives. */
  private readonly announcer = new Announcer('nbrt-lab-room-status');
  private readonly inviteLinks = new Map<string, string>();

  constructor(
    private readonly context: SidebarContext,
    readonly summary: RoomSummary
  ) {
    this.body = h('div', { className: 'nbrt-lab-room-body' });
    this.node = h('section', { className: 'nbrt-lab-room', 'data-room': summary.room }, this.body);
    this.render();
  }

  /** Rebuild from the latest state, keeping keyboard focus on the same control (by its data-focus-key). */
  render(): void {
    const focused = document.activeElement;
    const focusKey = focused instanceof HTMLElement && this.node.contains(focused) ? focused.dataset.focusKey : undefined;
    const info = this.context.state.room(this.summary.room);
    this.node.setAttribute('aria-label', `Room ${this.summary.room}`);
    this.body.replaceChildren(...this.parts(info));
    if (focusKey) {
      this.node.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
    }
  }

  private parts(info: RoomInfo | undefined): Node[] {
    const role = info?.role ?? this.summary.role;
    const header = h(
      'h3',
      { className: 'nbrt-lab-room-name' },
      h('span', {}, this.summary.room),
      h('span', { className: `nbrt-lab-role nbrt-lab-role-${role}`, title: 'Your role' }, role)
    );
    if (!info) {
      return [header, h('p', { className: 'nbrt-lab-muted' }, 'Loading members…')];
    }
    const online = info.members.filter(member => member.status !== 'offline').length;
    const members = h('ul', { className: 'nbrt-lab-members', 'aria-label': `Members of ${info.room}` });
    const sorted = [...info.members].sort(
      (a, b) => Number(b.you) - Number(a.you) || STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.name.localeCompare(b.name)
    );
    for (const member of sorted) {
      members.append(memberRow(this.context, info, member, this.announcer));
    }
    return [
      header,
      h('p', { className: 'nbrt-lab-muted nbrt-lab-count' }, `${online} of ${info.members.length} online`),
      members,
      this.announcer.node,
      info.role === 'owner' ? ownerSection(this.context, info, this.announcer, this.inviteLinks) : null
    ].filter((part): part is HTMLElement => part !== null);
  }
}
