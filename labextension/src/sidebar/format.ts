/** How people are shown: initials, a readable text colour on their colour, "last seen …". */
import type { Member } from '../tokens';

export function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

/** Black or white, whichever reads better on `color` (a #rrggbb or #rgb colour; white for anything else). */
export function textOn(color: string): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color)?.[1];
  if (!hex) {
    return '#fff';
  }
  const full = hex.length === 3 ? [...hex].map(c => c + c).join('') : hex;
  const [r, g, b] = [0, 2, 4].map(i => parseInt(full.slice(i, i + 2), 16) / 255);
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.55 ? '#000' : '#fff';
}

/** Only a colour the CSS can take as it is; anything else falls back to the theme's accent. */
export function safeColor(color: string): string {
  return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(color) ? color : 'var(--jp-brand-color1)';
}

export function ago(iso: string | null, now: number = Date.now()): string {
  const then = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(then)) {
    return 'never';
  }
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) {
    return 'just now';
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.round(minutes / 60);
  if (hours < 24) {
    return `${hours} h ago`;
  }
  return new Date(then).toLocaleDateString();
}

export function statusText(member: Member): string {
  return member.status === 'offline' ? `offline, last seen ${ago(member.last_seen)}` : member.status;
}

/** "a viewer", "an editor", "an owner". */
export function article(role: string): string {
  return /^[aeiou]/.test(role) ? 'an' : 'a';
}
