/**
 * The bar that says whom this JupyterLab follows ("Following Ann") with Stop, or that following is paused after a
 * local navigation, with Resume and Stop. A view over the Follower: it keeps no state of its own.
 */
import { Widget } from '@lumino/widgets';

import { safeColor } from '../sidebar/format';
import type { Follower } from './follower';

export class FollowBar extends Widget {
  private readonly text = document.createElement('span');
  private readonly resumeButton = button('Resume', 'nbrt-follow-resume');
  private readonly stopButton = button('Stop', 'nbrt-follow-stop');

  constructor(private readonly follower: Follower) {
    super();
    this.addClass('nbrt-follow-bar');
    this.node.setAttribute('role', 'status');
    this.text.className = 'nbrt-follow-text';
    this.resumeButton.addEventListener('click', () => follower.resume());
    this.stopButton.addEventListener('click', () => follower.stop());
    this.node.append(this.text, this.resumeButton, this.stopButton);
    follower.changed.connect(this.render, this);
    this.render();
  }

  private render(): void {
    const target = this.follower.target;
    this.setHidden(target === null);
    if (!target) {
      return;
    }
    const paused = this.follower.mode === 'paused';
    this.node.classList.toggle('nbrt-follow-paused', paused);
    this.node.style.setProperty('--nbrt-follow-color', safeColor(target.color));
    this.text.textContent = paused ? `Stopped following ${target.name}` : `Following ${target.name}`;
    this.resumeButton.hidden = !paused;
  }
}

function button(label: string, className: string): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = `jp-Button jp-mod-styled ${className}`;
  element.textContent = label;
  return element;
}
