/** The left-area panel: every room this user is in, then "Join with an invite". A view over `IRoomState`. */
import { Widget } from '@lumino/widgets';

import type { LiveConnection, LiveStatus } from '../api';
import { nbrealtimeIcon } from '../icon';
import type { SidebarContext } from './context';
import { h } from './dom';
import { joinForm } from './join';
import { RoomSection } from './room';

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  closed: 'Offline: reconnecting…',
  unavailable: "Not available: this Jupyter server has no nbrealtime lab API (pip install 'nbrealtime[lab]')"
};

export class RoomSidebar extends Widget {
  private readonly sections = new Map<string, RoomSection>();
  private readonly list: HTMLElement;
  private readonly liveLine: HTMLElement;
  private readonly clock: ReturnType<typeof setInterval>;

  constructor(
    private readonly context: SidebarContext,
    live: LiveConnection
  ) {
    super();
    this.id = 'nbrealtime-rooms';
    this.addClass('nbrt-lab-sidebar');
    this.title.icon = nbrealtimeIcon;
    this.title.caption = 'nbrealtime rooms';
    this.liveLine = h('span', { className: 'nbrt-lab-live', role: 'status' });
    this.list = h('div', { className: 'nbrt-lab-rooms' });
    this.node.append(
      h('header', { className: 'nbrt-lab-header' }, h('h2', { className: 'nbrt-lab-heading' }, 'Rooms'), this.liveLine),
      this.list,
      joinForm(context)
    );
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'nbrealtime rooms');
    live.statusChanged.connect((_, status) => this.showLive(status));
    this.showLive(live.status);
    context.state.changed.connect((_, room) => (room === null ? this.renderRooms() : this.sections.get(room)?.render()));
    this.renderRooms();
    // "last seen 5 min ago" ages while nothing else changes
    this.clock = setInterval(() => this.isVisible && this.sections.forEach(section => section.render()), 30_000);
  }

  dispose(): void {
    clearInterval(this.clock);
    super.dispose();
  }

  private showLive(status: LiveStatus): void {
    this.liveLine.textContent = LIVE_TEXT[status];
    this.liveLine.dataset.status = status;
  }

  private renderRooms(): void {
    const rooms = this.context.state.rooms;
    for (const [name, section] of this.sections) {
      if (!rooms.some(summary => summary.room === name && summary.role === section.summary.role)) {
        this.sections.delete(name);
      }
    }
    const nodes = rooms.map(summary => {
      let section = this.sections.get(summary.room);
      if (!section) {
        section = new RoomSection(this.context, summary);
        this.sections.set(summary.room, section);
      } else {
        section.render();
      }
      return section.node;
    });
    this.list.replaceChildren(
      ...(nodes.length ? nodes : [h('p', { className: 'nbrt-lab-muted nbrt-lab-empty' }, 'You are in no room yet.')])
    );
  }
}
