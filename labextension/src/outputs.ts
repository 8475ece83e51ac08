/**
 * The large-output placeholder (issue #15): an output above the room's size limit reaches the others as a small
 * `application/vnd.nbrealtime.omitted+json` bundle. This renderer shows what was left out ("Large output (3.2 MB,
 * image/png) from Alice") with a Load button that fetches the full output from the Jupyter server and renders it
 * with JupyterLab's own renderers. An output this server produced itself loads at once.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IRenderMimeRegistry, OutputModel } from '@jupyterlab/rendermime';
import type { IOutputModel } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import type { LabApi } from './api';
import { IRoomState } from './tokens';

export const OMITTED_MIME = 'application/vnd.nbrealtime.omitted+json';

/** What the placeholder says about the output it stands for. */
export interface OmittedOutput {
  id: string;
  room: string;
  notebook: string;
  bytes: number;
  mime_types: string[];
  ran_by: string | null;
  /** The `server_id` of the Jupyter server whose kernel produced it. */
  origin: string | null;
}

export type FullOutput = IOutputModel.IOptions['value'];

/** Where the full outputs come from (the Jupyter server extension's API). */
export interface OutputSource {
  fetch(omitted: OmittedOutput): Promise<FullOutput>;
  /** This Jupyter server's id, null when it does not say. */
  serverId(): Promise<string | null>;
}

export class OmittedOutputView extends Panel implements IRenderMime.IRenderer {
  private readonly placeholder = new Widget();

  constructor(
    private readonly source: OutputSource,
    private readonly rendermime: IRenderMimeRegistry
  ) {
    super();
    this.addClass('nbrt-omitted-output');
    this.placeholder.addClass('nbrt-omitted-placeholder');
    this.addWidget(this.placeholder);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const omitted = parseOmitted(model.data[OMITTED_MIME]);
    if (!omitted) {
      this.placeholder.node.textContent = 'A large output was left out here, and its description is unreadable.';
      return;
    }
    const load = this.showPlaceholder(omitted, model.trusted);
    if (omitted.origin !== null && omitted.origin === (await this.source.serverId())) {
      await load();
    }
  }

  /** Draw the description and the Load button; returns what the button does. */
  private showPlaceholder(omitted: OmittedOutput, trusted: boolean): () => Promise<void> {
    const text = document.createElement('span');
    text.className = 'nbrt-omitted-text';
    const from = omitted.ran_by ? ` from ${omitted.ran_by}` : '';
    const types = omitted.mime_types.length ? `, ${omitted.mime_types.join(', ')}` : '';
    text.textContent = `Large output (${formatBytes(omitted.bytes)}${types})${from}`;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'jp-Button jp-mod-styled jp-mod-accept nbrt-omitted-load';
    button.textContent = 'Load';
    const status = document.createElement('span');
    status.className = 'nbrt-omitted-status';
    status.setAttribute('role', 'status');
    this.placeholder.node.replaceChildren(text, button, status);
    const load = async (): Promise<void> => {
      button.disabled = true;
      status.textContent = 'Loading…';
      try {
        await this.showFull(await this.source.fetch(omitted), trusted);
      } catch (error) {
        status.textContent = `Could not load it: ${error instanceof Error ? error.message : String(error)}`;
        button.disabled = false;
      }
    };
    button.addEventListener('click', () => void load());
    return load;
  }

  /** Render the full output in place of the placeholder, as JupyterLab would have rendered it in the first place. */
  private async showFull(value: FullOutput, trusted: boolean): Promise<void> {
    const model = new OutputModel({ value, trusted });
    const mime = this.rendermime.preferredMimeType(model.data, trusted ? 'any' : 'ensure');
    if (!mime) {
      throw new Error(`JupyterLab has no renderer for ${Object.keys(model.data).join(', ') || 'an empty output'}`);
    }
    const renderer = this.rendermime.createRenderer(mime);
    await renderer.renderModel(model);
    this.placeholder.dispose();
    this.addWidget(renderer);
  }
}

/** The placeholder's description, or null when a field is missing or of the wrong type. */
export function parseOmitted(value: unknown): OmittedOutput | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const item = value as Record<string, unknown>;
  const text = (key: string): string | null => (typeof item[key] === 'string' ? (item[key] as string) : null);
  const id = text('id');
  const room = text('room');
  const notebook = text('notebook');
  if (!id || !room || !notebook || typeof item.bytes !== 'number') {
    return null;
  }
  const mimeTypes = Array.isArray(item.mime_types) ? item.mime_types.filter(m => typeof m === 'string') : [];
  return { id, room, notebook, bytes: item.bytes, mime_types: mimeTypes, ran_by: text('ran_by'), origin: text('origin') };
}

/** 3.2 MB, 1 MB, 640 kB, 12 bytes (decimal units, as the placeholder's own text/plain says them). */
export function formatBytes(bytes: number): string {
  for (const [unit, scale] of [
    ['GB', 1e9],
    ['MB', 1e6],
    ['kB', 1e3]
  ] as const) {
    if (bytes >= scale) {
      return `${(bytes / scale).toFixed(1).replace(/\.0$/, '')} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/** The renderer factory, for `IRenderMimeRegistry.addFactory`: preferred over the bundle's text/plain fallback. */
export function omittedOutputFactory(source: OutputSource, rendermime: IRenderMimeRegistry): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [OMITTED_MIME],
    defaultRank: 10,
    createRenderer: () => new OmittedOutputView(source, rendermime)
  };
}

/** The full outputs from this Jupyter server's API; its `server_id` asked once. */
export function apiOutputSource(api: LabApi): OutputSource {
  let serverId: Promise<string | null> | null = null;
  return {
    fetch: async omitted => (await api.output(omitted.room, omitted.notebook, omitted.id)) as unknown as FullOutput,
    serverId: () =>
      (serverId ??= api.me().then(
        me => {
          const id = (me as { server_id?: unknown }).server_id;
          return typeof id === 'string' ? id : null;
        },
        () => null
      ))
  };
}

export const outputsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbrealtime/labextension:large-outputs',
  description: 'Renders the placeholder of a large output left out of a room notebook, and loads the full output.',
  autoStart: true,
  requires: [IRoomState, IRenderMimeRegistry],
  activate: (_app: JupyterFrontEnd, state: IRoomState, rendermime: IRenderMimeRegistry): void => {
    rendermime.addFactory(omittedOutputFactory(apiOutputSource(state.api), rendermime));
  }
};
