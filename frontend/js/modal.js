/**
 * The product modal: a large image, brand, price, rating, stock level, warranty and
 * description, with "Find similar" (search by this product's image) and a row of similar
 * products from the catalogue (`/products/{id}/similar`; in-stock alternatives first for a
 * sold-out product). It is a native <dialog>,
 * so focus stays inside while it is open; Escape, the close button and a click outside close it.
 * The open product is kept in the URL (`?product=<id>`), so it survives a reload and can be shared.
 */
import { getProduct, similarProducts } from './api.js';
import { productCard } from './card.js';
import { byId, h, icon } from './dom.js';
import { categoryLabel, formatPrice, formatRating, stars, stockLevel } from './format.js';
import { serializeState } from './state/url.js';

const SIMILAR_COUNT = 6;

const CLOSE_ICON = 'M6 6l12 12M18 6L6 18';
const SIMILAR_ICON =
  'M10.5 4a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM15.5 15.5L21 21M8 10.5h5M10.5 8v5';

/**
 * @param {{store: object, onFindSimilar: (product: object) => void}} deps
 */
export function createModal({ store, onFindSimilar }) {
  const dialog = byId('product-modal');
  const content = byId('modal-content');
  let shown = '';
  let returnFocus = null;
  let similarController = null;

  /** Fills the "Similar products" row below the details (left out when there are none). */
  async function loadSimilar(product, section) {
    similarController?.abort();
    similarController = new AbortController();
    const soldOut = !(Number(product.stock) > 0);
    const list = section.querySelector('.similar__list');
    try {
      let body = await similarProducts(product.product_id, { topK: SIMILAR_COUNT, inStock: soldOut }, {
        signal: similarController.signal,
      });
      if (soldOut && !body.results.length) {
        body = await similarProducts(product.product_id, { topK: SIMILAR_COUNT }, { signal: similarController.signal });
        section.querySelector('.similar__title').textContent = 'Similar products';
      }
      if (shown !== product.product_id) return;
      if (!body.results.length) {
        section.hidden = true;
        return;
      }
      list.replaceChildren(...body.results.map((hit, index) => {
        const card = productCard(hit, {
          href: serializeState({ ...store.get(), product: hit.product_id }),
          onOpen: (next) => open(next),
          rank: index + 1,
        });
        card.dataset.searchId = body.search_id; // a click here is a "similar" search's click (events.js)
        return h('li', { className: 'similar__item' }, [card]);
      }));
      section.setAttribute('aria-busy', 'false');
    } catch (error) {
      if (error?.name !== 'AbortError' && shown === product.product_id) section.hidden = true;
    }
  }

  function similarSection(product) {
    const soldOut = !(Number(product.stock) > 0);
    return h('section', {
      className: 'similar',
      id: 'similar-products',
      attrs: { 'aria-labelledby': 'similar-title', 'aria-busy': 'true' },
      dataset: { inStock: soldOut ? 'true' : 'false' },
    }, [
      h('h3', {
        className: 'similar__title',
        id: 'similar-title',
        textContent: soldOut ? 'In stock alternatives' : 'Similar products',
      }),
      h('ul', { className: 'similar__list' }),
    ]);
  }

  function detail(label, value, extra = {}) {
    return h('div', { className: 'spec' }, [
      h('dt', { className: 'spec__label', textContent: label }),
      h('dd', { className: 'spec__value', ...extra }, [value]),
    ]);
  }

  /** The main image and, for a product with several, a strip of buttons that show each one
   *  (native buttons: Tab reaches them, Enter or Space picks; aria-pressed says which shows). */
  function gallery(product) {
    const urls = product.images && product.images.length ? product.images : [product.image_url];
    const main = h('img', {
      className: 'modal__image', src: product.matched_image_url || urls[0], alt: product.name, width: 512, height: 512,
    });
    if (urls.length < 2) return h('div', { className: 'modal__media' }, [main]);
    const buttons = urls.map((url, n) => h('button', {
      className: 'modal__thumb',
      type: 'button',
      attrs: { 'aria-label': `Show image ${n + 1} of ${urls.length}`, 'aria-pressed': String(url === main.src || url === main.getAttribute('src')) },
      on: {
        click: () => {
          main.src = url;
          main.alt = `${product.name}, image ${n + 1} of ${urls.length}`;
          buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(i === n)));
        },
      },
    }, [h('img', { src: url, alt: '', width: 64, height: 64 })]));
    return h('div', { className: 'modal__media' }, [
      main,
      h('div', { className: 'modal__gallery', attrs: { role: 'group', 'aria-label': 'Product images' } }, buttons),
    ]);
  }

  function render(product) {
    const stock = stockLevel(product.stock);
    const rating = formatRating(product.rating);
    content.dataset.productId = product.product_id;
    const similar = similarSection(product);
    content.replaceChildren(
      h('button', {
        className: 'icon-button modal__close',
        type: 'button',
        attrs: { 'aria-label': 'Close' },
        on: { click: close },
      }, [icon(CLOSE_ICON)]),
      gallery(product),
      h('div', { className: 'modal__body' }, [
        h('p', { className: 'modal__category', textContent: categoryLabel(product.category) }),
        h('h2', { className: 'modal__title', id: 'modal-title', textContent: product.name }),
        product.brand ? h('p', { className: 'modal__brand', textContent: `by ${product.brand}` }) : null,
        h('div', { className: 'modal__price-row' }, [
          h('span', { className: 'modal__price', textContent: formatPrice(product.price) }),
          rating
            ? h('span', { className: 'modal__rating', attrs: { 'aria-label': `Rated ${rating} out of 5` } }, [
                h('span', { className: 'stars', textContent: stars(product.rating), attrs: { 'aria-hidden': 'true' } }),
                h('span', { textContent: ` ${rating}` }),
              ])
            : null,
        ]),
        product.description ? h('p', { className: 'modal__description', textContent: product.description }) : null,
        h('dl', { className: 'specs' }, [
          detail('Availability', h('span', { className: `stock stock--${stock.tone}`, textContent: stock.text }), {
            dataset: { field: 'stock' },
          }),
          detail('Warranty', product.warranty || 'No warranty information', { dataset: { field: 'warranty' } }),
          product.brand ? detail('Brand', product.brand, { dataset: { field: 'brand' } }) : null,
          detail('Product ID', product.product_id, { dataset: { field: 'id' } }),
        ]),
        h('div', { className: 'modal__actions' }, [
          h('button', {
            className: 'button button--primary',
            type: 'button',
            id: 'find-similar',
            on: { click: () => onFindSimilar(product) },
          }, [icon(SIMILAR_ICON), h('span', { textContent: 'Find similar' })]),
          h('button', {
            className: 'button button--ghost',
            type: 'button',
            textContent: 'Add to cart (demo)',
            attrs: { 'data-add-to-cart': product.product_id, 'aria-pressed': 'false' },
          }),
          h('button', { className: 'button button--ghost', type: 'button', textContent: 'Close', on: { click: close } }),
        ]),
      ]),
      similar,
    );
    loadSimilar(product, similar);
  }

  function renderMessage(title, text) {
    content.dataset.productId = '';
    content.replaceChildren(
      h('button', { className: 'icon-button modal__close', type: 'button', attrs: { 'aria-label': 'Close' }, on: { click: close } }, [icon(CLOSE_ICON)]),
      h('div', { className: 'modal__body modal__body--message' }, [
        h('h2', { className: 'modal__title', id: 'modal-title', textContent: title }),
        h('p', { className: 'modal__description', textContent: text }),
      ]),
    );
  }

  function show() {
    if (!dialog.open) {
      returnFocus = document.activeElement;
      dialog.showModal();
    }
  }

  /** Opens the modal with a product object (from a card) or an id (from the URL). */
  async function open(productOrId) {
    const id = typeof productOrId === 'string' ? productOrId : productOrId.product_id;
    shown = id;
    if (store.get().product !== id) store.update({ product: id }, { reason: 'modal' });
    if (typeof productOrId === 'string') {
      renderMessage('Loading…', '');
      show();
      try {
        const product = await getProduct(id);
        if (shown === id) render(product);
      } catch (error) {
        if (shown === id) {
          renderMessage('Product not found', error.status === 404
            ? 'This product is no longer in the catalogue.'
            : `It could not be loaded: ${error.message}`);
        }
      }
    } else {
      render(productOrId);
      show();
    }
    dialog.querySelector('.modal__close')?.focus();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener('close', () => {
    shown = '';
    if (store.get().product) store.update({ product: '' }, { reason: 'modal' });
    if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
  });
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) close(); // the backdrop, outside the panel
  });

  store.subscribe((state, previous, reason) => {
    if (reason !== 'history') return;
    if (state.product && state.product !== shown) open(state.product);
    else if (!state.product && dialog.open) close();
  });

  return { open, close };
}
