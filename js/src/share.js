// The owner's share view: invites (copy, revoke, new), members (role picker, remove). Every action is a message
// to the kernel; what the kernel refuses comes back in the `error` trait.
import { avatar } from "./lib/avatar.js";
import { h } from "./lib/dom.js";
import { Disposer, str } from "./lib/model.js";

const ROLES = ["owner", "editor", "viewer"];
const INVITABLE = ["editor", "viewer"];

/**
 * A short description of an invite's state: "2/5 uses · expires 2026-11-27 16:00" / "revoked" / "used up".
 * @param {{ uses?: number, max_uses?: number | null, expires_at?: string | null, revoked?: boolean, usable?: boolean }} invite
 */
export function inviteState(invite) {
  if (invite.revoked) return "revoked";
  const used = invite.uses ?? 0;
  const uses = invite.max_uses == null ? `${used} ${used === 1 ? "use" : "uses"}` : `${used}/${invite.max_uses} uses`;
  const expires = invite.expires_at ? ` · expires ${str(invite.expires_at).slice(0, 16).replace("T", " ")}` : "";
  return invite.usable === false ? `${uses}${expires} · no longer usable` : `${uses}${expires}`;
}

/**
 * @param {string[]} options
 * @param {string} value
 * @param {string} label
 */
function picker(options, value, label) {
  const select = h("select", { class: "nbrt-share-role", "aria-label": label });
  for (const option of options) select.append(h("option", { value: option, text: option, selected: option === value }));
  return select;
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();
    const title = h("div", { class: "nbrt-share-title" });
    const error = h("div", { class: "nbrt-share-error", role: "alert" });
    const invites = h("ul", { class: "nbrt-share-invites" });
    const members = h("ul", { class: "nbrt-share-members" });
    const newRole = picker(INVITABLE, "editor", "role of the new invite");
    const create = h("button", { class: "nbrt-share-create", type: "button", text: "New invite" });
    const owner = h("div", { class: "nbrt-share-owner" }, h("div", { class: "nbrt-share-new" }, newRole, create), invites);
    const root = h("div", { class: "nbrt-root nbrt-share" }, title, error, owner, members);
    el.append(root);
    d.dom(create, "click", () => model.send({ type: "invite", role: newRole.value }));

    const draw = () => {
      const isOwner = model.get("role") === "owner";
      title.textContent = `Room ${str(model.get("room"))} · you are ${str(model.get("role")) || "not a member"}`;
      error.textContent = str(model.get("error"));
      error.hidden = !error.textContent;
      owner.hidden = !isOwner;
      invites.replaceChildren();
      for (const invite of model.get("invites") || []) {
        const text = str(invite.text);
        const copy = h("button", { type: "button", class: "nbrt-share-copy", text: "Copy", disabled: !text,
          title: text ? "Copy the invite to send it" : "Only shown to whoever made it, when they made it" });
        const revoke = h("button", { type: "button", class: "nbrt-share-revoke", text: "Revoke", disabled: !invite.usable });
        // Says so once it is on the clipboard (or that it is not: then the text beside it can be selected by hand).
        copy.addEventListener("click", () => {
          const done = (/** @type {string} */ label) => () => { copy.textContent = label; };
          if (!navigator.clipboard) return done("Select the text to copy")();
          navigator.clipboard.writeText(text).then(done("Copied"), done("Select the text to copy"));
        });
        revoke.addEventListener("click", () => model.send({ type: "revoke", id: invite.id }));
        invites.append(h("li", { class: ["nbrt-share-invite", !invite.usable && "nbrt-share-invite--dead"] },
          h("span", { class: "nbrt-share-invite-role", text: str(invite.role) }),
          h("span", { class: "nbrt-share-invite-state", text: inviteState(invite) }),
          text ? h("code", { class: "nbrt-share-invite-text", text }) : null, copy, revoke));
      }
      members.replaceChildren();
      for (const member of model.get("members") || []) {
        const row = h("li", { class: "nbrt-share-member" }, avatar(member, { size: "sm" }),
          h("span", { class: "nbrt-share-member-name", text: str(member.name) }));
        if (isOwner && !member.is_self) {
          const role = picker(ROLES, str(member.role), `role of ${str(member.name)}`);
          const remove = h("button", { type: "button", class: "nbrt-share-remove", text: "Remove" });
          role.addEventListener("change", () => model.send({ type: "set_role", member: member.id, role: role.value }));
          remove.addEventListener("click", () => model.send({ type: "remove", member: member.id }));
          row.append(role, remove);
        } else {
          row.append(h("span", { class: "nbrt-share-member-role", text: str(member.role) }));
        }
        members.append(row);
      }
    };
    for (const t of ["room", "role", "invites", "members", "error"]) d.model(model, `change:${t}`, draw);
    draw();
    return () => d.dispose();
  },
};
