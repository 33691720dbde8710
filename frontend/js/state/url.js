/**
 * The storefront's state as it lives in the URL's query string, so any view can be shared,
 * bookmarked and reloaded: the catalogue page, its filter and sort, a text or "find similar"
 * search with its category, and an open product.
 *
 *   ?category=beauty&sort=price_asc&page=2        catalogue
 *   &brand=Acme&brand=Zest&price_min=10&price_max=50&in_stock=true
 *                                                   catalogue filters (the API's own names)
 *   &q=red+shoes&scat=footwear                      text search (drawer open)
 *   &sbrand=Acme&sprice_min=5&sprice_max=80&sin_stock=true
 *                                                   filters of the search results
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
 * @property {string[]} brand    catalogue brand filter ([] = all)
 * @property {string} price_min  catalogue price floor ('' = none), a canonical number
 * @property {string} price_max  catalogue price ceiling ('' = none)
 * @property {boolean} in_stock  catalogue: only products with stock
 * @property {string[]} sbrand   the same four filters for the search results
 * @property {string} sprice_min
 * @property {string} sprice_max
 * @property {boolean} sin_stock
 */

/**
 * A filter as the filter panel and the API client see it.
 * @typedef {object} Filter
 * @property {string} category   '' = all
 * @property {string[]} brands
 * @property {string} priceMin   '' = none
 * @property {string} priceMax   '' = none
 * @property {boolean} inStock
 */

/** The state keys of each filter scope: the catalogue's and the search results'. */
const FILTER_KEYS = Object.freeze({
  catalogue: { category: 'category', brands: 'brand', priceMin: 'price_min', priceMax: 'price_max', inStock: 'in_stock' },
  search: { category: 'scat', brands: 'sbrand', priceMin: 'sprice_min', priceMax: 'sprice_max', inStock: 'sin_stock' },
});

/** The most brands a URL may select (the API's own limit is 100). */
const MAX_BRANDS = 50;

/**
 * A price typed by the shopper or read from a URL, as a canonical string ('' when empty).
 * @returns {string|null} null when the text is not a price (negative, not a number)
 */
export function normalizePrice(text) {
  const raw = String(text ?? '').trim();
  if (!raw) return '';
  if (!/^\d*\.?\d+$|^\d+\.$/.test(raw)) return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) return null;
  return String(Math.round(value * 100) / 100);
}

/** Brand values from repeated (or comma-listed) parameters, distinct, in order. */
function brandList(values) {
  const out = [];
  for (const chunk of values) {
    for (const part of chunk.split(',')) {
      const value = part.trim();
      if (value && !out.includes(value) && out.length < MAX_BRANDS) out.push(value);
    }
  }
  return out;
}

/** The filter of one scope ('catalogue' or 'search') out of a ViewState. */
export function filterOf(state, scope) {
  const keys = FILTER_KEYS[scope];
  return {
    category: state[keys.category] ?? '',
    brands: [...(state[keys.brands] ?? [])],
    priceMin: state[keys.priceMin] ?? '',
    priceMax: state[keys.priceMax] ?? '',
    inStock: Boolean(state[keys.inStock]),
  };
}

/** A ViewState patch that sets the filter of one scope (fields left out of `filter` keep theirs). */
export function filterPatch(scope, filter) {
  const keys = FILTER_KEYS[scope];
  const patch = {};
  for (const [field, key] of Object.entries(keys)) {
    if (field in filter) patch[key] = field === 'brands' ? [...filter[field]] : filter[field];
  }
  return patch;
}

/** A patch that clears every filter of one scope. */
export function clearedFilter(scope) {
  return filterPatch(scope, { category: '', brands: [], priceMin: '', priceMax: '', inStock: false });
}

/** How many filters of a scope are set, the category left out (it has its own control). */
export function activeFilterCount(filter) {
  return filter.brands.length + (filter.priceMin || filter.priceMax ? 1 : 0) + (filter.inStock ? 1 : 0);
}

/** A stable text key of a filter (to tell whether a list must be fetched again). */
export function filterKey(filter) {
  return JSON.stringify([filter.category, [...filter.brands].sort(), filter.priceMin, filter.priceMax, filter.inStock]);
}

/** The state of a fresh visit. */
export function defaultState() {
  return {
    category: '', sort: DEFAULT_SORT, page: 1, q: '', similar: '', scat: '', product: '',
    brand: [], price_min: '', price_max: '', in_stock: false,
    sbrand: [], sprice_min: '', sprice_max: '', sin_stock: false,
  };
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
  for (const scope of ['catalogue', 'search']) {
    const keys = FILTER_KEYS[scope];
    state[keys.brands] = brandList(params.getAll(keys.brands));
    let low = normalizePrice(params.get(keys.priceMin)) ?? '';
    let high = normalizePrice(params.get(keys.priceMax)) ?? '';
    if (low && high && Number(low) > Number(high)) [low, high] = [high, low];
    state[keys.priceMin] = low;
    state[keys.priceMax] = high;
    state[keys.inStock] = params.get(keys.inStock) === 'true';
  }
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
  for (const scope of ['catalogue', 'search']) {
    const keys = FILTER_KEYS[scope];
    for (const brand of state[keys.brands] ?? []) params.append(keys.brands, brand);
    if (state[keys.priceMin]) params.set(keys.priceMin, state[keys.priceMin]);
    if (state[keys.priceMax]) params.set(keys.priceMax, state[keys.priceMax]);
    if (state[keys.inStock]) params.set(keys.inStock, 'true');
  }
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
