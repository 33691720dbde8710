/**
 * HTTP client for the visual-search API (same origin as the storefront). Every request carries
 * the tab's random id (X-Tab-Id, tab.js): the shop's figures and experiments count by it.
 * Every call resolves to parsed JSON or throws an ApiError that carries the server's
 * `detail` message, its machine `code`, the status and, for 429, the Retry-After delay.
 */

import { tabId } from './tab.js';

/** API paths are relative to the page, so the shop also works when served under a prefix. */
const base = new URL('./', document.baseURI);

/** An error answer from the API (or no answer at all: status 0). */
export class ApiError extends Error {
  /**
   * @param {string} message human-readable text, the server's `detail` when it sent one
   * @param {{status?: number, code?: string, retryAfter?: number|null}} [info]
   */
  constructor(message, { status = 0, code = 'network_error', retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Reads an error body: `{"detail": "...", "code": "..."}`, FastAPI's validation list, or text. */
async function errorFrom(response) {
  let detail = `${response.status} ${response.statusText}`.trim();
  let code = `http_${response.status}`;
  try {
    const body = await response.json();
    if (typeof body?.detail === 'string') detail = body.detail;
    else if (Array.isArray(body?.detail) && body.detail.length) {
      detail = body.detail.map((item) => item?.msg ?? String(item)).join('; ');
    }
    if (typeof body?.code === 'string') code = body.code;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(detail, {
    status: response.status,
    code,
    retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

/** fetch() with JSON parsing and ApiError on any failure. */
async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(new URL(path, base), {
      headers: { Accept: 'application/json', 'X-Tab-Id': tabId() },
      ...init,
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError('The shop cannot be reached. Check your connection and try again.');
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** The parameters, empty ones left out; a list becomes one comma list (the API splits it). */
function cleanParams(params) {
  const out = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '' || value === false) continue;
    if (Array.isArray(value)) {
      if (value.length) out.push([key, value.join(',')]);
    } else out.push([key, String(value)]);
  }
  return out;
}

/** Builds a query string, leaving out empty values. */
function query(params) {
  const text = new URLSearchParams(cleanParams(params)).toString();
  return text ? `?${text}` : '';
}

/**
 * The API's filter parameters for a Filter (see state/url.js): `category`, `brand`,
 * `price_min`, `price_max`, `in_stock`.
 * @param {Partial<import('./state/url.js').Filter>} [filter]
 */
export function filterParams(filter = {}) {
  return {
    category: filter.category || '',
    brand: filter.brands ?? [],
    price_min: filter.priceMin ?? '',
    price_max: filter.priceMax ?? '',
    in_stock: filter.inStock ? 'true' : '',
  };
}

/** `GET /info`: model, dimension, whether text search works, counts and a warning. */
export function getInfo() {
  return request('info');
}

/** `GET /products/categories` → `[{name, count}]`. */
export async function getCategories() {
  const body = await request('products/categories');
  return body.categories ?? [];
}

/**
 * `GET /products/` → `{items, total, skip, limit, facets?}`; `facets` asks for the counts of
 * each filter field (an older API leaves them out).
 */
export function listProducts({ skip = 0, limit, sort, filter = {}, facets = false }, { signal } = {}) {
  const params = { skip, limit, sort, ...filterParams(filter), facets: facets ? 'true' : '' };
  return request(`products/${query(params)}`, { signal });
}

/** `GET /suggest?q=` → `{query, suggestions: [{text, kind, product_id}]}` for the search box. */
export function suggest(text, { signal } = {}) {
  return request(`suggest${query({ q: text, limit: 8 })}`, { signal });
}

/** `GET /products/{id}`. */
export function getProduct(productId) {
  return request(`products/${encodeURIComponent(productId)}`);
}

/**
 * `POST /search` (an image, optionally with words) or `GET /search` (words only), with the
 * filters, a page (`offset`, `topK`) and, with `facets`, the counts of each filter field.
 * @returns {Promise<{results: object[], cache: boolean, count: number, offset?: number,
 *   has_more?: boolean, facets?: object}>}
 */
export function search(
  { file = null, text = '', topK, offset = 0, filter = {}, facets = false, crop = '' },
  { signal } = {},
) {
  const params = {
    q: text,
    top_k: topK,
    offset: offset || '',
    ...filterParams(filter),
    facets: facets ? 'true' : '',
  };
  if (!file) return request(`search${query(params)}`, { signal });
  const form = new FormData();
  form.append('file', file, file.name || 'query-image');
  for (const [key, value] of cleanParams(params)) form.append(key, value);
  // the crop box rides in the query string (the API takes it there or in the form)
  return request(`search${query({ crop })}`, { method: 'POST', body: form, signal });
}

/**
 * `GET /products/{id}/similar`: products closest to this one by its stored vector (itself left
 * out), with the same filters and answer as search; `inStock` keeps in-stock alternatives.
 */
export function similarProducts(productId, { topK = 8, inStock = false } = {}, { signal } = {}) {
  const params = { top_k: topK, in_stock: inStock ? 'true' : '' };
  return request(`products/${encodeURIComponent(productId)}/similar${query(params)}`, { signal });
}

/** Fetches a product image as a Blob (for "find similar"), resolving `image_url` on this origin. */
export async function fetchImage(imageUrl, { signal } = {}) {
  let response;
  try {
    response = await fetch(new URL(imageUrl, base), { signal });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError('The product image could not be loaded.');
  }
  if (!response.ok) throw await errorFrom(response);
  return response.blob();
}
