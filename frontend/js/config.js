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
  // Fused (more than one retriever ran): the normalised reciprocal rank fusion score, which
  // measures agreement, not similarity (services/visualsearch/retrieval/fusion.py). 1 = first in
  // every retriever; two retrievers both ranking a product 10th give 0.87, both 25th 0.72; a
  // product only one of two found, first, 0.5. Green: every retriever ranks it near the top;
  // blue: found high by one, or by all lower down.
  fused: Object.freeze({ high: 0.8, medium: 0.5 }),
  // Keyword alone: 0.8 x the share of query words in the name, brand or category, + 0.2 rank.
  keyword: Object.freeze({ high: 0.8, medium: 0.5 }),
  // The sentence encoder alone (MiniLM cosine): a close paraphrase scores about 0.6.
  semantic: Object.freeze({ high: 0.6, medium: 0.4 }),
});

/** Which thresholds a search answer's scores take, from the retrievers that ran (`retrievers`). */
export const RETRIEVER_SCORE_KIND = Object.freeze({
  visual: 'image',
  clip_text: 'text',
  keyword: 'keyword',
  semantic: 'semantic',
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
