/**
 * Catalogue browsing: category chips, the filter panel (brand, price, stock), sort, the product
 * grid, the total count and pagination. It renders whatever the store's catalogue fields
 * (category, filters, sort, page) say, and changes them (with a history entry) when the shopper
 * clicks; the URL follows through the store. Counts come from the API's `facets` when it sends
 * them (each field counted without its own filter), else from `/products/categories`.
 */
import { listProducts } from './api.js';
import { emptyState, productCard, skeletonCards } from './card.js';
import { DEFAULT_SORT, PAGE_SIZE, SORTS } from './config.js';
import { byId, h, setMessage } from './dom.js';
import { describeLoadError } from './errors.js';
import { createFilterPanel } from './filters.js';
import { categoryLabel } from './format.js';
import { activeFilterCount, clearedFilter, filterKey, filterOf, filterPatch, serializeState } from './state/url.js';

/**
 * Page numbers to show around `current`, with null for a gap: 1 … 4 5 6 … 9.
 * @returns {(number|null)[]}
 */
export function pageWindow(current, pages) {
  const wanted = new Set([1, pages, current - 1, current, current + 1]);
  const list = [...wanted].filter((n) => n >= 1 && n <= pages).sort((a, b) => a - b);
  const out = [];
  for (const n of list) {
    if (out.length && n - out[out.length - 1] > 1) out.push(null);
    out.push(n);
  }
  return out;
}

/**
 * Wires the catalogue section to the store.
 * @param {{store: ReturnType<import('./state/store.js').createStore>, openProduct: (p: object) => void}} deps
 */
export function createCatalogue({ store, openProduct }) {
  const grid = byId('catalogue-grid');
  const count = byId('catalogue-count');
  const title = byId('catalogue-title');
  const chips = byId('category-chips');
  const sortSelect = byId('sort-select');
  const pagination = byId('pagination');
  const errorBox = byId('catalogue-error');

  let categories = [];
  let categoryFacets = null;
  let controller = null;
  let lastKey = '';

  const panel = createFilterPanel(byId('catalogue-filters'), {
    id: 'catalogue-filter',
    label: 'Filters',
    onChange(patch) {
      store.update({ ...filterPatch('catalogue', patch), page: 1 }, { push: true, reason: 'catalogue' });
    },
  });

  sortSelect.replaceChildren(...SORTS.map(([value, label]) => h('option', { value, textContent: label })));
  sortSelect.addEventListener('change', () => {
    store.update({ sort: sortSelect.value, page: 1 }, { push: true, reason: 'catalogue' });
  });

  /** A link to a catalogue view that differs from the current one by `patch`. */
  function linkTo(patch, onActivate) {
    const href = serializeState({ ...store.get(), product: '', ...patch }) || './';
    return {
      href,
      click(event) {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        onActivate();
      },
    };
  }

  function renderChips() {
    const { category } = store.get();
    // with facets, a chip counts the products that pass the other filters
    const countOf = (c) => (categoryFacets ? Number(categoryFacets[c.name]) || 0 : c.count);
    const listed = categories.map((c) => ({ name: c.name, count: countOf(c) }));
    if (categoryFacets) {
      for (const name of Object.keys(categoryFacets)) {
        if (!listed.some((c) => c.name === name)) listed.push({ name, count: Number(categoryFacets[name]) || 0 });
      }
    }
    const total = listed.reduce((sum, c) => sum + (Number(c.count) || 0), 0);
    const all = [{ name: '', count: total }, ...listed];
    chips.replaceChildren(
      ...all.map((c) => {
        const link = linkTo({ category: c.name, page: 1 }, () =>
          store.update({ category: c.name, page: 1 }, { push: true, reason: 'catalogue' }),
        );
        return h('li', {}, [
          h('a', {
            className: 'chip',
            href: link.href,
            attrs: { 'aria-current': c.name === category ? 'page' : null },
            dataset: { category: c.name },
            on: { click: link.click },
          }, [
            h('span', { textContent: c.name ? categoryLabel(c.name) : 'All' }),
            h('span', { className: 'chip__count', textContent: String(c.count ?? '') }),
          ]),
        ]);
      }),
    );
  }

  function renderPagination(page, pages) {
    if (pages <= 1) {
      pagination.replaceChildren();
      return;
    }
    const go = (n) => () => {
      store.update({ page: n }, { push: true, reason: 'catalogue' });
      grid.focus({ preventScroll: true });
      title.scrollIntoView({ behavior: 'smooth', block: 'start' });
    };
    const pageLink = (n, label, extra = {}) => {
      const link = linkTo({ page: n }, go(n));
      return h('a', { className: 'page-link', href: link.href, on: { click: link.click }, ...extra }, [label]);
    };
    const items = [];
    items.push(
      page > 1
        ? pageLink(page - 1, '‹ Previous', { rel: 'prev', attrs: { 'aria-label': 'Previous page' }, dataset: { nav: 'prev' } })
        : h('span', { className: 'page-link page-link--disabled', textContent: '‹ Previous', attrs: { 'aria-disabled': 'true' } }),
    );
    for (const n of pageWindow(page, pages)) {
      if (n === null) items.push(h('span', { className: 'page-gap', textContent: '…', attrs: { 'aria-hidden': 'true' } }));
      else if (n === page) {
        items.push(h('span', { className: 'page-link page-link--current', textContent: String(n), attrs: { 'aria-current': 'page' } }));
      } else items.push(pageLink(n, String(n), { attrs: { 'aria-label': `Page ${n}` }, dataset: { page: n } }));
    }
    items.push(
      page < pages
        ? pageLink(page + 1, 'Next ›', { rel: 'next', attrs: { 'aria-label': 'Next page' }, dataset: { nav: 'next' } })
        : h('span', { className: 'page-link page-link--disabled', textContent: 'Next ›', attrs: { 'aria-disabled': 'true' } }),
    );
    pagination.replaceChildren(...items);
  }

  async function load() {
    const state = store.get();
    const { category, sort, page } = state;
    const filter = filterOf(state, 'catalogue');
    const key = `${filterKey(filter)}|${sort}|${page}`;
    if (key === lastKey) return;
    lastKey = key;
    controller?.abort();
    controller = new AbortController();

    title.textContent = categoryLabel(category);
    sortSelect.value = sort || DEFAULT_SORT;
    renderChips();
    panel.setFilter(filter);
    setMessage(errorBox, '');
    grid.setAttribute('aria-busy', 'true');
    grid.replaceChildren(...skeletonCards(Math.min(PAGE_SIZE, 8)));

    try {
      const body = await listProducts(
        { skip: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE, sort, filter, facets: true },
        { signal: controller.signal },
      );
      categoryFacets = body.facets?.category ?? null;
      panel.update(filter, body.facets ?? null);
      renderChips();
      const total = Number(body.total) || 0;
      const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      const first = total ? (page - 1) * PAGE_SIZE + 1 : 0;
      const last = (page - 1) * PAGE_SIZE + body.items.length;
      count.textContent = total
        ? `Showing ${first}–${last} of ${total} product${total === 1 ? '' : 's'}`
        : '0 products';
      count.dataset.total = String(total);

      if (!body.items.length) {
        const beyond = total > 0 && page > pages;
        grid.replaceChildren(
          beyond
            ? emptyState('This page is empty', `There are only ${pages} pages.`, {
                label: 'Go to the first page',
                onClick: () => store.update({ page: 1 }, { push: true, reason: 'catalogue' }),
              })
            : activeFilterCount(filter)
              ? emptyState('No products match these filters', 'Try fewer brands, a wider price range or another category.', {
                  label: 'Clear filters',
                  onClick: () => store.update({ ...clearedFilter('catalogue'), category, page: 1 }, { push: true, reason: 'catalogue' }),
                })
              : emptyState('No products here yet', 'Try another category.', category
                ? { label: 'Show all products', onClick: () => store.update({ category: '', page: 1 }, { push: true, reason: 'catalogue' }) }
                : undefined),
        );
      } else {
        grid.replaceChildren(
          ...body.items.map((product) =>
            productCard(product, {
              href: serializeState({ ...store.get(), product: product.product_id }),
              onOpen: openProduct,
            }),
          ),
        );
      }
      renderPagination(page, pages);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      lastKey = '';
      grid.replaceChildren();
      pagination.replaceChildren();
      count.textContent = '';
      setMessage(errorBox, describeLoadError(error, 'The catalogue'));
    } finally {
      grid.setAttribute('aria-busy', 'false');
    }
  }

  store.subscribe((state, previous) => {
    if (
      filterKey(filterOf(state, 'catalogue')) !== filterKey(filterOf(previous, 'catalogue')) ||
      state.sort !== previous.sort ||
      state.page !== previous.page
    ) {
      load();
    }
  });

  return {
    load,
    /** Receives the category list (loaded once by main.js) and redraws the chips. */
    setCategories(list) {
      categories = list;
      renderChips();
    },
  };
}
