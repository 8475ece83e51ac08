/** "Join with an invite": paste the text or link `room.invite()` printed, and the room appears in the list. */
import type { SidebarContext } from './context';
import { Announcer } from './context';
import { h } from './dom';

export function joinForm(context: SidebarContext): HTMLElement {
  const announcer = new Announcer('nbrt-lab-join-status');
  const input = h('input', {
    type: 'text',
    className: 'nbrt-lab-input nbrt-lab-join-input',
    placeholder: 'Paste an invite link',
    'aria-label': 'Invite link or text to join a room',
    autocomplete: 'off',
    spellcheck: 'false'
  });
  const submit = h('button', { type: 'submit', className: 'jp-mod-styled jp-mod-accept nbrt-lab-button' }, 'Join');
  const form = h(
    'form',
    { className: 'nbrt-lab-join', 'aria-label': 'Join with an invite' },
    h('h3', { className: 'nbrt-lab-title' }, 'Join with an invite'),
    h('div', { className: 'nbrt-lab-form-row' }, input, submit),
    announcer.node
  );
  form.addEventListener('submit', event => {
    event.preventDefault();
    const invite = input.value.trim();
    if (!invite) {
      announcer.say('Paste the invite link someone gave you first.', true);
      return;
    }
    submit.disabled = true;
    void announcer
      .guard(async () => {
        const joined = await context.api.join(invite);
        input.value = '';
        announcer.say(`Joined ${joined.room} as ${joined.role}.`);
      })
      .finally(() => (submit.disabled = false));
  });
  return form;
}
