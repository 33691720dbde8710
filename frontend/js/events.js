/**
 * What the shopper does with a search's results, told to the shop (`POST /events`): a click on
 * a result (its `search_id` and 1-based position) and the demo "Add to cart" in the product
 * modal opened from it. Fire and forget: an event that fails is never the shopper's problem.
 * Result cards carry `data-search-id` and `data-rank` (results.js, and the product modal's
 * "Similar products" row in modal.js: a "similar" search of its own); nothing else is needed.
 */
import { tabId } from './tab.js';

const base = new URL('./', document.baseURI);
/** The result the shopper opened last: the modal's "Add to cart" refers to it. */
let lastOpened = null;

/** Sends one event; resolves when sent (or failed), never throws. */
export async function sendEvent(type, { searchId, productId, position }) {
  if (!searchId || !productId || !(position >= 1)) return;
  try {
    await fetch(new URL('events', base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        search_id: searchId,
        type,
        product_id: productId,
        position,
        tab_id: tabId(),
      }),
      keepalive: true,
    });
  } catch {
    /* the shop's figures miss one event; the shopper notices nothing */
  }
}

function resultOf(element) {
  const card = element.closest('.card[data-search-id][data-rank]');
  if (!card) return null;
  return {
    searchId: card.dataset.searchId,
    productId: card.dataset.productId,
    position: Number(card.dataset.rank),
  };
}

/** Listens (once, on the document) for clicks on result links and on "Add to cart". */
export function installEventTracking() {
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const link = target.closest('.card__link');
    const result = link ? resultOf(link) : null;
    if (result) {
      lastOpened = result;
      sendEvent('click', result);
      return;
    }
    const cart = target.closest('[data-add-to-cart]');
    if (cart) {
      const productId = cart.getAttribute('data-add-to-cart');
      if (lastOpened && lastOpened.productId === productId) sendEvent('add_to_cart', lastOpened);
      cart.textContent = 'Added to cart (demo)';
      cart.setAttribute('aria-pressed', 'true');
    }
  }, { capture: true });
}
