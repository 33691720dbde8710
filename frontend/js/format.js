/**
 * Formatting of product fields for display: prices, ratings, stock levels, match scores.
 * Pure functions, shared by the cards, the results and the modal.
 */
import { CONFIDENCE_THRESHOLDS, CURRENCY, LOCALE, LOW_STOCK, RETRIEVER_SCORE_KIND } from './config.js';

const priceFormat = new Intl.NumberFormat(LOCALE, { style: 'currency', currency: CURRENCY });

/** "$19.99", or an empty string when the price is unknown. */
export function formatPrice(price) {
  const value = Number(price);
  return Number.isFinite(value) ? priceFormat.format(value) : '';
}

/** "4.5" for a rating out of 5, or '' when there is none. */
export function formatRating(rating) {
  const value = Number(rating);
  return Number.isFinite(value) && value > 0 ? value.toFixed(1) : '';
}

/** Five stars, filled in proportion to the rating, as text ("★★★★☆"). */
export function stars(rating) {
  const value = Math.round(Math.max(0, Math.min(5, Number(rating) || 0)));
  return '★'.repeat(value) + '☆'.repeat(5 - value);
}

/**
 * The stock level in words and a tone for its colour.
 * @returns {{text: string, tone: 'ok'|'low'|'out'}}
 */
export function stockLevel(stock) {
  const count = Number(stock);
  if (!Number.isFinite(count) || count <= 0) return { text: 'Out of stock', tone: 'out' };
  if (count <= LOW_STOCK) return { text: `Only ${count} left`, tone: 'low' };
  return { text: `In stock (${count})`, tone: 'ok' };
}

/** A category slug as a title: "mens-shirts" → "Mens shirts". */
export function categoryLabel(name) {
  if (!name) return 'All products';
  const words = String(name).replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "87%" for a score of 0.871 (clamped to 0..100). */
export function formatScore(score) {
  const value = Math.max(0, Math.min(1, Number(score) || 0));
  return `${Math.round(value * 100)}%`;
}

/**
 * The confidence band of a score: 'high' (green), 'medium' (blue) or 'low' (grey).
 * @param {number} score in [0, 1]: a cosine similarity, a keyword score or a fused score
 * @param {'image'|'text'|'fused'|'keyword'|'semantic'} kind what the score means (`scoreKind`)
 */
export function confidence(score, kind = 'image') {
  const thresholds = CONFIDENCE_THRESHOLDS[kind] ?? CONFIDENCE_THRESHOLDS.image;
  const value = Number(score) || 0;
  if (value >= thresholds.high) return 'high';
  if (value >= thresholds.medium) return 'medium';
  return 'low';
}

/**
 * What a search answer's scores mean, for `confidence`: 'fused' when more than one retriever
 * ran, else that retriever's kind; `queryKind` for an answer that does not say (older API).
 * @param {string[]|undefined} retrievers the answer's `retrievers`
 * @param {'image'|'text'} queryKind
 */
export function scoreKind(retrievers, queryKind) {
  if (!Array.isArray(retrievers) || !retrievers.length) return queryKind;
  if (retrievers.length > 1) return 'fused';
  return RETRIEVER_SCORE_KIND[retrievers[0]] ?? queryKind;
}

/** "1.2 MB" for a byte count. */
export function formatBytes(bytes) {
  const value = Number(bytes) || 0;
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(0)} KB`;
  return `${(value / (1024 * 1024)).toFixed(value < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}
