/**
 * Rendering of search results inside the drawer: scored cards, the summary line, loading
 * skeletons, the empty state, and the "Show more" button that appends the next page (the
 * API's `offset` / `has_more`). Knows nothing about where the query came from.
 */
import { emptyState, productCard, skeletonCards } from './card.js';
import { byId } from './dom.js';
import { categoryLabel, scoreKind } from './format.js';
import { serializeState } from './state/url.js';

/**
 * @param {{store: object, openProduct: (p: object) => void}} deps
 */
export function createResults({ store, openProduct }) {
  const grid = byId('results-grid');
  const meta = byId('results-meta');
  const legend = byId('results-legend');
  const more = byId('results-more');

  /** What is shown: ids (no duplicates across pages), the next offset, whether more exist. */
  let shown = new Set();
  let nextOffset = 0;
  let hasMore = false;
  let summary = { kind: 'image', scores: 'image', where: '', seconds: '', cache: false };

  function cards(list, kind, firstRank, searchId) {
    return list.map((product, index) => {
      const card = productCard(product, {
        href: serializeState({ ...store.get(), product: product.product_id }),
        onOpen: openProduct,
        queryKind: kind,
        rank: firstRank + index,
      });
      if (searchId) card.dataset.searchId = searchId; // events.js reports clicks with it
      return card;
    });
  }

  function setMore(value) {
    hasMore = value;
    more.hidden = !value;
    more.disabled = false;
    more.removeAttribute('aria-busy');
    more.textContent = 'Show more matches';
  }

  function writeMeta(extra = '') {
    const count = shown.size;
    meta.dataset.count = String(count);
    meta.dataset.cache = String(summary.cache);
    meta.textContent =
      `${count} match${count === 1 ? '' : 'es'}${summary.where} · ${summary.seconds} s` +
      (summary.cache ? ' · from cache' : '') +
      (hasMore ? ' · more available' : '') +
      extra;
  }

  return {
    /** Clears the results (a new drawer session, or an error before any search ran). */
    reset(message = 'Your matches will appear here.') {
      grid.replaceChildren();
      legend.hidden = true;
      meta.textContent = message;
      delete meta.dataset.count;
      shown = new Set();
      setMore(false);
    },

    /** The offset of the next page, and whether the API said there is one. */
    get nextOffset() {
      return nextOffset;
    },
    get hasMore() {
      return hasMore;
    },

    /** Marks the "Show more" button busy while the next page loads. */
    loadingMore() {
      more.disabled = true;
      more.setAttribute('aria-busy', 'true');
      more.textContent = 'Loading more…';
    },

    /** Shows placeholders while a search runs. */
    loading() {
      shown = new Set();
      setMore(false);
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
      shown = new Set();
      setMore(false);
    },

    /** A "Show more" that failed: the shown results stay, the button works again. */
    moreFailed() {
      setMore(hasMore);
    },

    /**
     * Shows a `/search` answer.
     * @param {{results: object[], cache: boolean, count: number, offset?: number, has_more?: boolean}} body
     * @param {{kind: 'image'|'text', category: string, elapsedMs: number, filtered?: boolean,
     *   onClearFilters?: () => void, onDidYouMean?: (text: string) => void}} query
     */
    show(body, { kind, category, elapsedMs, filtered = false, onClearFilters, onDidYouMean }) {
      grid.setAttribute('aria-busy', 'false');
      const results = [];
      shown = new Set();
      for (const product of body.results ?? []) {
        if (shown.has(product.product_id)) continue;
        shown.add(product.product_id);
        results.push(product);
      }
      const where = category ? ` in ${categoryLabel(category)}` : '';
      nextOffset = (Number(body.offset) || 0) + (body.results ?? []).length;
      setMore(body.has_more === true && results.length > 0);
      meta.dataset.count = String(results.length);
      meta.dataset.cache = String(Boolean(body.cache));
      if (!results.length) {
        legend.hidden = true;
        meta.textContent = `No matches${where}${filtered ? ' with these filters' : ''}.`;
        const meant = kind === 'text' && body.did_you_mean && onDidYouMean ? body.did_you_mean : '';
        grid.replaceChildren(
          meant
            ? emptyState(
                'No products match these words',
                `Did you mean “${meant}”?`,
                { label: `Search for “${meant}”`, onClick: () => onDidYouMean(meant) },
              )
            : filtered
            ? emptyState(
                'Nothing matches these filters',
                'Try fewer brands, a wider price range, or “All categories”.',
                onClearFilters ? { label: 'Clear filters', onClick: onClearFilters } : undefined,
              )
            : emptyState(
                'Nothing close enough',
                category
                  ? 'Try “All categories”, another picture, or fewer words.'
                  : 'Try another picture (a clear, centred shot works best) or other words.',
              ),
        );
        return;
      }
      legend.hidden = false;
      summary = {
        kind,
        scores: scoreKind(body.retrievers, kind),
        where,
        seconds: (elapsedMs / 1000).toFixed(elapsedMs < 1000 ? 2 : 1),
        cache: Boolean(body.cache),
      };
      writeMeta();
      grid.replaceChildren(...cards(results, summary.scores, 1, body.search_id));
    },

    /**
     * Appends the next page of an answer ("Show more"), leaving out products already shown.
     * @returns {HTMLElement|null} the first new card's link (for the focus), or null
     */
    append(body) {
      const fresh = [];
      for (const product of body.results ?? []) {
        if (shown.has(product.product_id)) continue;
        shown.add(product.product_id);
        fresh.push(product);
      }
      const firstRank = grid.querySelectorAll('.card[data-product-id]').length + 1;
      nextOffset = (Number(body.offset) || nextOffset) + (body.results ?? []).length;
      setMore(body.has_more === true && (body.results ?? []).length > 0);
      const added = cards(fresh, summary.scores, firstRank, body.search_id);
      grid.append(...added);
      writeMeta(fresh.length ? ` · ${fresh.length} more loaded` : '');
      return added[0]?.querySelector('.card__link') ?? null;
    },

    /** The link of the last card shown (the focus goes there when "Show more" goes away). */
    lastLink() {
      const links = grid.querySelectorAll('.card__link');
      return links[links.length - 1] ?? null;
    },
  };
}
