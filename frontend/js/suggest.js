/**
 * Suggestions under the header's search box as the shopper types (`GET /suggest`), in the
 * WAI-ARIA combobox pattern: the input owns a listbox, ArrowDown/ArrowUp move the active option
 * (aria-activedescendant, focus stays in the input), Enter takes it, Escape closes the list
 * (a second Escape clears the box), and a live region says how many suggestions there are.
 */

import { suggest } from './api.js';
import { h } from './dom.js';

const DEBOUNCE_MS = 120;
const KIND_LABEL = { category: 'Category', brand: 'Brand', product: 'Product' };

/**
 * @param {{input: HTMLInputElement, listbox: HTMLElement, status: HTMLElement,
 *   onPick: (text: string) => void}} parts
 */
export function createSuggest({ input, listbox, status, onPick }) {
  let options = [];
  let active = -1;
  let timer = 0;
  let controller = null;

  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listbox.id);
  input.setAttribute('aria-expanded', 'false');

  function close() {
    controller?.abort();
    options = [];
    active = -1;
    listbox.replaceChildren();
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function setActive(index) {
    active = index;
    listbox.querySelectorAll('[role="option"]').forEach((element, i) => {
      element.setAttribute('aria-selected', String(i === index));
    });
    if (index >= 0) {
      const element = listbox.children[index];
      input.setAttribute('aria-activedescendant', element.id);
      element.scrollIntoView?.({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function pick(index) {
    const chosen = options[index];
    close();
    if (!chosen) return;
    input.value = chosen.text;
    onPick(chosen.text);
  }

  function show(found) {
    options = found;
    active = -1;
    listbox.replaceChildren(
      ...found.map((s, i) =>
        h('li', {
          id: `${listbox.id}-${i}`,
          className: 'suggestions__option',
          attrs: { role: 'option', 'aria-selected': 'false' },
          on: {
            // mousedown, not click: the input keeps focus (and does not close the list first)
            mousedown: (event) => {
              event.preventDefault();
              pick(i);
            },
          },
        }, [
          h('span', { className: 'suggestions__text', textContent: s.text }),
          h('span', { className: 'suggestions__kind', textContent: KIND_LABEL[s.kind] ?? '' }),
        ]),
      ),
    );
    const open = found.length > 0;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    input.removeAttribute('aria-activedescendant');
    status.textContent = open
      ? `${found.length} suggestion${found.length === 1 ? '' : 's'}; use the up and down arrows to choose.`
      : '';
  }

  async function fetchFor(text) {
    controller?.abort();
    controller = new AbortController();
    try {
      const body = await suggest(text, { signal: controller.signal });
      if (input.value.trim() === text && document.activeElement === input) show(body.suggestions ?? []);
    } catch (error) {
      if (error?.name !== 'AbortError') close(); // suggestions are a help: a failure hides them
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      close();
      return;
    }
    timer = setTimeout(() => fetchFor(text), DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (event) => {
    const open = !listbox.hidden && options.length > 0;
    if (event.key === 'ArrowDown' && open) {
      event.preventDefault();
      setActive((active + 1) % options.length);
    } else if (event.key === 'ArrowUp' && open) {
      event.preventDefault();
      setActive(active <= 0 ? options.length - 1 : active - 1);
    } else if (event.key === 'Enter' && open && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === 'Escape') {
      if (open) {
        event.preventDefault();
        close();
      } else if (input.value) {
        event.preventDefault();
        input.value = '';
      }
    } else if (event.key === 'Enter') {
      clearTimeout(timer);
      close();
    }
  });

  input.addEventListener('blur', () => {
    clearTimeout(timer);
    close();
  });

  close();
  return { close };
}
