/** What the sidebar's parts share: the room state, the API, and how they ask, say and describe. */
import type { LabApi } from '../api';
import type { IRoomState, Member } from '../tokens';

export interface SidebarContext {
  readonly state: IRoomState;
  readonly api: LabApi;
  /** "cell 3" for a member's current cell when their notebook is open here, else null. */
  cellLabel(member: Member): string | null;
  /** A yes/no question (JupyterLab's dialog); resolves true when accepted. */
  confirm(title: string, body: string, accept: string): Promise<boolean>;
}

/** An aria-live line under a form that says what happened ("Link copied", or the server's error). */
export class Announcer {
  readonly node: HTMLElement;

  constructor(className: string) {
    this.node = document.createElement('div');
    this.node.className = `nbrt-lab-status ${className}`;
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
  }

  say(text: string, isError = false): void {
    this.node.textContent = text;
    this.node.classList.toggle('nbrt-lab-error', isError);
  }

  /** Run `work`; its error's message is said here (and the promise resolves to undefined). */
  async guard<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.say(error instanceof Error ? error.message : String(error), true);
      return undefined;
    }
  }
}
