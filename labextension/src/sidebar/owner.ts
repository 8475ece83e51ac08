/** An owner's room controls: invite links per role (copied at once), the list of open invites, who may join. */
import type { Invite, Role, RoomInfo, RoomSettings } from '../tokens';
import type { Announcer, SidebarContext } from './context';
import { button, h, select } from './dom';
import { ago, article } from './format';
import { ROLES } from './member';

const OPEN_TO: ReadonlyArray<readonly [RoomSettings['open_to'], string]> = [
  ['invited', 'Invited people only'],
  ['signed_in', 'Anyone signed in']
];
/** Invites and open rooms let people in as viewers or editors; owners are made by an owner, member by member. */
const JOIN_ROLES = ROLES.filter(([role]) => role !== 'owner');

/**
 * `links`: the links of invites made in this sidebar (the server shows an invite's token only once), so they can be
 * copied again.
 */
export function ownerSection(
  context: SidebarContext,
  info: RoomInfo,
  announcer: Announcer,
  links: Map<string, string>
): HTMLElement {
  let inviteRole: Role = 'editor';
  const roleSelect = select(JOIN_ROLES, inviteRole, value => (inviteRole = value as Role), {
    'aria-label': `Role of the people a new invite to ${info.room} lets in`,
    'data-focus-key': 'invite-role'
  });
  const create = button(
    'Create invite link',
    () =>
      void announcer.guard(async () => {
        const invite = await context.api.createInvite(info.room, inviteRole);
        links.set(invite.id, invite.link);
        announcer.say(await copyText(invite.link, `Invite link for a new ${invite.role} created`));
      }),
    { 'data-focus-key': 'invite-create', className: 'jp-mod-styled jp-mod-accept nbrt-lab-button nbrt-lab-invite' }
  );
  const invites = h('ul', { className: 'nbrt-lab-invites', 'aria-label': `Open invites to ${info.room}` });
  const open = info.invites.filter(invite => invite.usable && !invite.revoked);
  for (const invite of open) {
    invites.append(inviteRow(context, info, invite, announcer, links.get(invite.id)));
  }
  return h(
    'section',
    { className: 'nbrt-lab-owner', 'aria-label': `Manage ${info.room}` },
    h('h4', { className: 'nbrt-lab-subtitle' }, 'Invite'),
    h('div', { className: 'nbrt-lab-form-row' }, roleSelect, create),
    open.length ? invites : null,
    h('h4', { className: 'nbrt-lab-subtitle' }, 'Who can join'),
    accessRow(context, info, announcer)
  );
}

function inviteRow(
  context: SidebarContext,
  info: RoomInfo,
  invite: Invite,
  announcer: Announcer,
  link: string | undefined
): HTMLElement {
  const uses = invite.uses === null ? `used ${invite.used}×` : `${invite.used} of ${invite.uses} uses`;
  const expires = invite.expires_at ? `, expires ${expiresText(invite.expires_at)}` : '';
  const copy = link
    ? [
        h('input', {
          type: 'text',
          readonly: true,
          className: 'nbrt-lab-input nbrt-lab-invite-link',
          'aria-label': `Invite link for ${article(invite.role)} ${invite.role}`,
          value: link
        }),
        button('Copy', () => void copyText(link, 'Invite link').then(text => announcer.say(text)), {
          'aria-label': `Copy the ${invite.role} invite link`,
          'data-focus-key': `copy:${invite.id}`
        })
      ]
    : [];
  return h(
    'li',
    { className: 'nbrt-lab-invite-row', 'data-invite': invite.id },
    h('span', { className: 'nbrt-lab-invite-text' }, `${invite.role} · ${uses}${expires}`),
    h(
      'span',
      { className: 'nbrt-lab-form-row' },
      ...copy,
      button(
        'Revoke',
        () =>
          void announcer.guard(async () => {
            await context.api.deleteInvite(info.room, invite.id);
            announcer.say(`The ${invite.role} invite was revoked.`);
          }),
        {
          'aria-label': `Revoke the ${invite.role} invite`,
          'data-focus-key': `revoke:${invite.id}`,
          className: 'jp-mod-styled jp-mod-reject nbrt-lab-button'
        }
      )
    )
  );
}

function accessRow(context: SidebarContext, info: RoomInfo, announcer: Announcer): HTMLElement {
  const settings = { ...info.settings };
  const save = () =>
    void announcer.guard(async () => {
      await context.api.setSettings(info.room, settings);
      announcer.say(settings.open_to === 'invited' ? 'The room is invite-only.' : `Anyone signed in joins as ${settings.role}.`);
    });
  const openTo = select(OPEN_TO, settings.open_to, value => {
    settings.open_to = value as RoomSettings['open_to'];
    save();
  }, { 'aria-label': `Who can join ${info.room}`, 'data-focus-key': 'open-to' });
  const joinRole = select(JOIN_ROLES, settings.role, value => {
    settings.role = value as RoomSettings['role'];
    save();
  }, { 'aria-label': 'Role of people who join without an invite', 'data-focus-key': 'join-role' });
  joinRole.disabled = settings.open_to === 'invited';
  return h('div', { className: 'nbrt-lab-form-row' }, openTo, h('span', { className: 'nbrt-lab-muted' }, 'as'), joinRole);
}

function expiresText(iso: string): string {
  const then = Date.parse(iso);
  return Number.isNaN(then) ? iso : then > Date.now() ? new Date(then).toLocaleString() : `(expired ${ago(iso)})`;
}

/** Put `text` on the clipboard; the answer says whether it got there (a page without clipboard rights cannot). */
async function copyText(text: string, what: string): Promise<string> {
  try {
    await navigator.clipboard.writeText(text);
    return `${what}: copied to the clipboard.`;
  } catch {
    return `${what}: select the link and copy it (the browser refused the clipboard).`;
  }
}
