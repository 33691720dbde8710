/**
 * The product card used by the catalogue grid and the search results: image, name, brand,
 * price, rating and, for a search result, the match score as a colour-coded percentage.
 * The card's title is a real link (`?product=<id>`), so it works with the keyboard, in a new tab
 * and when shared; a plain click opens the product modal in place.
 */
import { h } from './dom.js';
import { categoryLabel, confidence, formatPrice, formatRating, formatScore, stars } from './format.js';

/** The colour-coded match badge ("92% match"). */
export function scoreBadge(score, kind = 'image') {
  const band = confidence(score, kind);
  const text = formatScore(score);
  return h('span', {
    className: `score score--${band}`,
    textContent: `${text} match`,
    title: `${band.charAt(0).toUpperCase()}${band.slice(1)} confidence match`,
    dataset: { score: String(score), confidence: band },
  });
}

/**
 * Builds one card.
 * @param {object} product a Product from the API (with `score` when it is a search result)
 * @param {{href: string, onOpen: (product: object) => void, queryKind?: 'image'|'text', rank?: number}} options
 */
export function productCard(product, { href, onOpen, queryKind = 'image', rank }) {
  const hasScore = typeof product.score === 'number';
  const open = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onOpen(product);
  };
  const rating = formatRating(product.rating);

  const image = h('img', {
    className: 'card__image',
    src: product.image_url,
    alt: product.name,
    loading: 'lazy',
    decoding: 'async',
    width: 256,
    height: 256,
  });
  image.addEventListener('error', () => image.classList.add('card__image--missing'), { once: true });

  return h(
    'article',
    {
      className: `card${hasScore ? ' card--result' : ''}`,
      dataset: { productId: product.product_id, ...(rank ? { rank } : {}) },
    },
    [
      h('div', { className: 'card__media' }, [
        image,
        hasScore ? scoreBadge(product.score, queryKind) : null,
      ]),
      h('div', { className: 'card__body' }, [
        h('p', { className: 'card__category', textContent: categoryLabel(product.category) }),
        h('h3', { className: 'card__title' }, [
          h('a', {
            className: 'card__link',
            href,
            textContent: product.name,
            on: { click: open },
          }),
        ]),
        product.brand ? h('p', { className: 'card__brand', textContent: product.brand }) : null,
        h('div', { className: 'card__footer' }, [
          h('span', { className: 'card__price', textContent: formatPrice(product.price) }),
          rating
            ? h('span', {
                className: 'card__rating',
                attrs: { 'aria-label': `Rated ${rating} out of 5` },
              }, [
                h('span', { className: 'stars', textContent: stars(product.rating), attrs: { 'aria-hidden': 'true' } }),
                h('span', { className: 'card__rating-value', textContent: rating }),
              ])
            : null,
        ]),
      ]),
    ],
  );
}

/** Placeholder cards shown while a grid loads. */
export function skeletonCards(count) {
  return Array.from({ length: count }, () =>
    h('div', { className: 'card card--skeleton', attrs: { 'aria-hidden': 'true' } }, [
      h('div', { className: 'card__media skeleton' }),
      h('div', { className: 'card__body' }, [
        h('div', { className: 'skeleton skeleton--line skeleton--short' }),
        h('div', { className: 'skeleton skeleton--line' }),
        h('div', { className: 'skeleton skeleton--line skeleton--short' }),
      ]),
    ]),
  );
}

/** An empty-state block with a title, a line of help and an optional action button. */
export function emptyState(title, text, action) {
  return h('div', { className: 'empty' }, [
    h('p', { className: 'empty__title', textContent: title }),
    h('p', { className: 'empty__text', textContent: text }),
    action
      ? h('button', { className: 'button button--ghost', type: 'button', textContent: action.label, on: { click: action.onClick } })
      : null,
  ]);
}
