/**
 * Storefront settings in one place: confidence thresholds, page sizes, upload limits.
 * Every other module imports these instead of repeating numbers, so a shop tunes them here.
 */

/**
 * Match-score thresholds (cosine similarity in [0, 1]) for the colour of a result's badge.
 * Image-to-image similarities run much higher than text-to-image ones (CLIP's text tower scores
 * a good match around 0.3), so each query kind has its own pair. A score >= `high` is green,
 * >= `medium` blue, anything lower grey.
 */
export const CONFIDENCE_THRESHOLDS = Object.freeze({
  image: Object.freeze({ high: 0.85, medium: 0.7 }),
  text: Object.freeze({ high: 0.3, medium: 0.24 }),
});

/** Products per catalogue page (the API's `limit`). */
export const PAGE_SIZE = 24;

/** Results asked of `/search` per page, and per "Show more" (the API default is 12, its maximum 50). */
export const SEARCH_TOP_K = 24;

/** Brands listed in a filter panel before "Show all brands" (the chosen ones always show). */
export const BRANDS_SHOWN = 8;

/** Client-side upload checks; the server enforces its own limit too (413 / 415). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const ACCEPTED_IMAGE_TYPES = Object.freeze([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/bmp',
]);
/** File-name extensions accepted when the browser reports no MIME type. */
export const ACCEPTED_IMAGE_EXTENSIONS = Object.freeze(['jpg', 'jpeg', 'png', 'webp', 'gif', 'bmp']);

/** Catalogue sort orders the API knows, with their labels; the first is the default. */
export const SORTS = Object.freeze([
  ['name', 'Name (A–Z)'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
  ['rating', 'Top rated'],
]);
export const DEFAULT_SORT = 'name';

/** Stock at or below this count is shown as "only N left". */
export const LOW_STOCK = 10;

/** Currency used to format prices. */
export const CURRENCY = 'USD';
export const LOCALE = 'en-US';
