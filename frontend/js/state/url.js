/**
 * The storefront's state as it lives in the URL's query string, so any view can be shared,
 * bookmarked and reloaded: the catalogue page, its filter and sort, a text or "find similar"
 * search with its category, and an open product.
 *
 *   ?category=beauty&sort=price_asc&page=2        catalogue
 *   &q=red+shoes&scat=footwear                      text search (drawer open)
 *   &similar=<product id>                           search by that product's image
 *   &product=<product id>                           product modal open
 *
 * A pasted or dropped image cannot live in a URL; such a search is simply not restored.
 */
import { DEFAULT_SORT, SORTS } from '../config.js';

const SORT_KEYS = new Set(SORTS.map(([key]) => key));

/**
 * @typedef {object} ViewState
 * @property {string} category   catalogue category ('' = all)
 * @property {string} sort       catalogue sort key
 * @property {number} page       1-based catalogue page
 * @property {string} q          words of a text search ('' = none)
 * @property {string} similar    product id whose image is the query ('' = none)
 * @property {string} scat       category filter of the search ('' = all)
 * @property {string} product    product shown in the modal ('' = none)
 */

/** The state of a fresh visit. */
export function defaultState() {
  return { category: '', sort: DEFAULT_SORT, page: 1, q: '', similar: '', scat: '', product: '' };
}

/** Reads a ViewState from a query string, ignoring anything malformed. */
export function parseState(search) {
  const params = new URLSearchParams(search);
  const state = defaultState();
  state.category = (params.get('category') ?? '').trim();
  const sort = params.get('sort') ?? '';
  if (SORT_KEYS.has(sort)) state.sort = sort;
  const page = Number.parseInt(params.get('page') ?? '', 10);
  if (Number.isFinite(page) && page >= 1) state.page = page;
  state.q = (params.get('q') ?? '').trim();
  state.similar = (params.get('similar') ?? '').trim();
  state.scat = (params.get('scat') ?? '').trim();
  state.product = (params.get('product') ?? '').trim();
  return state;
}

/** Writes a ViewState as a query string ('' when everything is at its default). */
export function serializeState(state) {
  const params = new URLSearchParams();
  if (state.category) params.set('category', state.category);
  if (state.sort && state.sort !== DEFAULT_SORT) params.set('sort', state.sort);
  if (state.page > 1) params.set('page', String(state.page));
  if (state.q) params.set('q', state.q);
  if (state.similar) params.set('similar', state.similar);
  if (state.scat) params.set('scat', state.scat);
  if (state.product) params.set('product', state.product);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The state in the current address bar. */
export function readLocation() {
  return parseState(window.location.search);
}

/**
 * Puts a state into the address bar. `push` adds a history entry (the Back button returns to
 * the previous view); otherwise the current entry is replaced.
 */
export function writeLocation(state, { push = false } = {}) {
  const url = `${window.location.pathname}${serializeState(state)}${window.location.hash}`;
  if (url === `${window.location.pathname}${window.location.search}${window.location.hash}`) return;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}
