/** A small element builder: every string becomes a text node (never parsed as HTML), so user text cannot inject. */
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string | boolean>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) {
      continue;
    }
    if (name === 'className') {
      element.className = String(value);
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(child);
    }
  }
  return element;
}

/** A real button with a label for screen readers (`label` defaults to its text). */
export function button(text: string, onClick: () => void, props: Partial<Record<string, string>> = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', className: 'jp-mod-styled jp-mod-reject nbrt-lab-button', ...props }, text);
  element.addEventListener('click', onClick);
  return element;
}

/** A select of `options` ([value, label]) with `value` chosen; `onChange` gets the new value. */
export function select(
  options: ReadonlyArray<readonly [string, string]>,
  value: string,
  onChange: (value: string) => void,
  props: Partial<Record<string, string>> = {}
): HTMLSelectElement {
  const element = h('select', { className: 'nbrt-lab-select', ...props });
  for (const [optionValue, label] of options) {
    const option = h('option', { value: optionValue }, label);
    option.selected = optionValue === value;
    element.append(option);
  }
  element.addEventListener('change', () => onChange(element.value));
  return element;
}
