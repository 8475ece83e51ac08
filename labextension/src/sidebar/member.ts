/** One member's row: avatar, name, role, status, where they are; the owner's role picker and Remove. */
import type { Member, Role, RoomInfo } from '../tokens';
import type { Announcer, SidebarContext } from './context';
import { button, h, select } from './dom';
import { article, initials, safeColor, statusText, textOn } from './format';

export const ROLES: ReadonlyArray<readonly [Role, string]> = [
  ['viewer', 'Viewer'],
  ['editor', 'Editor'],
  ['owner', 'Owner']
];

export function memberRow(context: SidebarContext, info: RoomInfo, member: Member, announcer: Announcer): HTMLElement {
  const color = safeColor(member.color);
  const avatar = h('span', { className: 'nbrt-lab-avatar', 'aria-hidden': 'true' }, initials(member.name));
  avatar.style.backgroundColor = color;
  avatar.style.color = textOn(member.color);
  const dot = h('span', { className: `nbrt-lab-dot nbrt-lab-dot-${member.status}`, 'aria-hidden': 'true' });
  const name = h('span', { className: 'nbrt-lab-name' }, member.name, member.you ? ' (you)' : '');
  const role = h('span', { className: `nbrt-lab-role nbrt-lab-role-${member.role}` }, member.role);
  const status = h('span', { className: 'nbrt-lab-member-status' }, statusText(member));
  const where = whereText(context, member);
  const summary = h(
    'span',
    { className: 'nbrt-lab-member-text' },
    h('span', { className: 'nbrt-lab-member-line' }, name, role),
    h('span', { className: 'nbrt-lab-member-line' }, dot, status),
    where ? h('span', { className: 'nbrt-lab-where' }, where) : null
  );
  const label = `${member.name}, ${member.role}, ${statusText(member)}${where ? `, ${where}` : ''}`;
  const identity = member.you
    ? h('div', { className: 'nbrt-lab-member-main', 'aria-label': label }, avatar, summary)
    : h(
        'button',
        {
          type: 'button',
          className: 'nbrt-lab-member-main',
          title: `Follow ${member.name}`,
          'aria-label': `${label}. Follow ${member.name}`,
          'data-focus-key': `follow:${member.user_id}`
        },
        avatar,
        summary
      );
  if (!member.you) {
    identity.addEventListener('click', () => context.state.requestFollow({ room: info.room, member }));
  }
  const row = h('li', { className: 'nbrt-lab-member', 'data-user': member.user_id, 'data-status': member.status }, identity);
  if (info.role === 'owner' && !member.you) {
    row.append(ownerControls(context, info, member, announcer));
  }
  return row;
}

/** "running · analysis.ipynb · cell 3": what they do (idle says nothing) and where, as far as this server knows. */
function whereText(context: SidebarContext, member: Member): string {
  const activity = member.activity === 'idle' ? null : member.activity;
  const cell = member.notebook ? context.cellLabel(member) : null;
  return [activity, member.notebook?.name, cell].filter(Boolean).join(' · ');
}

function ownerControls(context: SidebarContext, info: RoomInfo, member: Member, announcer: Announcer): HTMLElement {
  const roleSelect = select(
    ROLES,
    member.role,
    role =>
      void announcer.guard(async () => {
        await context.api.setRole(info.room, member.user_id, role as Role);
        announcer.say(`${member.name} is now ${article(role)} ${role}.`);
      }),
    { 'aria-label': `Role of ${member.name}`, 'data-focus-key': `role:${member.user_id}` }
  );
  const remove = button(
    'Remove',
    () =>
      void announcer.guard(async () => {
        const sure = await context.confirm(
          'Remove from the room',
          `Remove ${member.name} from ${info.room}? They lose access until invited again.`,
          'Remove'
        );
        if (sure) {
          await context.api.removeMember(info.room, member.user_id);
          announcer.say(`${member.name} was removed.`);
        }
      }),
    {
      'aria-label': `Remove ${member.name} from ${info.room}`,
      className: 'jp-mod-styled jp-mod-reject nbrt-lab-button nbrt-lab-remove',
      'data-focus-key': `remove:${member.user_id}`
    }
  );
  return h('div', { className: 'nbrt-lab-member-controls' }, roleSelect, remove);
}
