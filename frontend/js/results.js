/**
 * Rendering of search results inside the drawer: scored cards, the summary line, loading
 * skeletons, and the empty state. Knows nothing about where the query came from.
 */
import { emptyState, productCard, skeletonCards } from './card.js';
import { byId } from './dom.js';
import { categoryLabel } from './format.js';
import { serializeState } from './state/url.js';

/**
 * @param {{store: object, openProduct: (p: object) => void}} deps
 */
export function createResults({ store, openProduct }) {
  const grid = byId('results-grid');
  const meta = byId('results-meta');
  const legend = byId('results-legend');

  return {
    /** Clears the results (a new drawer session, or an error before any search ran). */
    reset(message = 'Your matches will appear here.') {
      grid.replaceChildren();
      legend.hidden = true;
      meta.textContent = message;
      delete meta.dataset.count;
    },

    /** Shows placeholders while a search runs. */
    loading() {
      grid.setAttribute('aria-busy', 'true');
      legend.hidden = true;
      meta.textContent = 'Searching…';
      grid.replaceChildren(...skeletonCards(6));
    },

    /** Stops the loading state without results (after an error). */
    failed() {
      grid.setAttribute('aria-busy', 'false');
      grid.replaceChildren();
      meta.textContent = '';
    },

    /**
     * Shows a `/search` answer.
     * @param {{results: object[], cache: boolean, count: number}} body
     * @param {{kind: 'image'|'text', category: string, elapsedMs: number}} query
     */
    show(body, { kind, category, elapsedMs }) {
      grid.setAttribute('aria-busy', 'false');
      const results = body.results ?? [];
      const where = category ? ` in ${categoryLabel(category)}` : '';
      meta.dataset.count = String(results.length);
      meta.dataset.cache = String(Boolean(body.cache));
      if (!results.length) {
        legend.hidden = true;
        meta.textContent = `No matches${where}.`;
        grid.replaceChildren(
          emptyState(
            'Nothing close enough',
            category
              ? 'Try “All categories”, another picture, or fewer words.'
              : 'Try another picture (a clear, centred shot works best) or other words.',
          ),
        );
        return;
      }
      legend.hidden = false;
      const seconds = (elapsedMs / 1000).toFixed(elapsedMs < 1000 ? 2 : 1);
      meta.textContent =
        `${results.length} match${results.length === 1 ? '' : 'es'}${where} · ${seconds} s` +
        (body.cache ? ' · from cache' : '');
      grid.replaceChildren(
        ...results.map((product, index) =>
          productCard(product, {
            href: serializeState({ ...store.get(), product: product.product_id }),
            onOpen: openProduct,
            queryKind: kind,
            rank: index + 1,
          }),
        ),
      );
    },
  };
}
