/**
 * Tiny DOM helpers: element creation without innerHTML (no injection from product data),
 * and show/hide of messages.
 */

/**
 * Creates an element. `props` sets properties (className, textContent, ...), `attrs` keys
 * prefixed in `props.attrs` become attributes, `on` maps event names to handlers.
 * @param {string} tag
 * @param {object} [props]
 * @param {(Node|string|null|undefined|false)[]} [children]
 */
export function h(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  const { attrs = {}, on = {}, dataset = {}, ...rest } = props;
  Object.assign(element, rest);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, String(value));
  }
  for (const [name, value] of Object.entries(dataset)) element.dataset[name] = String(value);
  for (const [event, handler] of Object.entries(on)) element.addEventListener(event, handler);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/** Creates an inline SVG from path data (icons). */
export function icon(pathData, { className = 'icon', viewBox = '0 0 24 24' } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', viewBox);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', className);
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', pathData);
  svg.append(path);
  return svg;
}

/** Finds an element by id or throws (a missing element is a bug in index.html). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** Shows `message` in an alert element, or hides it when `message` is empty. */
export function setMessage(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}
