/**
 * The filter panel, used twice: beside the catalogue and above the search results. It shows
 * brand checkboxes, a price range and an in-stock switch, each with the counts of the API's
 * `facets` (every field counted without its own filter), and reports a changed filter through
 * `onChange`; the caller puts it in the store (and so in the URL) and fetches again.
 *
 * The category has its own control in both places (the chips, the drawer's select), so the
 * panel leaves it alone. An API that sends no `facets` still gets a working panel: the price
 * range and the switch, and the brands already chosen; only the counts are missing.
 */
import { BRANDS_SHOWN } from './config.js';
import { h } from './dom.js';
import { formatPrice } from './format.js';
import { activeFilterCount, normalizePrice } from './state/url.js';

/** "12 products" for a screen reader, the bare number on screen. */
function countBadge(count) {
  if (typeof count !== 'number') return null;
  return h('span', { className: 'facet__count' }, [
    h('span', { className: 'visually-hidden', textContent: ', ' }),
    String(count),
    h('span', { className: 'visually-hidden', textContent: count === 1 ? ' product' : ' products' }),
  ]);
}

/** The brands to list: by count (then name), the chosen ones always included. */
export function brandEntries(facetBrands, chosen) {
  const counts = facetBrands && typeof facetBrands === 'object' ? facetBrands : {};
  const entries = Object.entries(counts).map(([name, count]) => ({ name, count: Number(count) || 0 }));
  for (const name of chosen) {
    if (!(name in counts)) entries.push({ name, count: facetBrands ? 0 : null });
  }
  entries.sort((a, b) => (b.count ?? 0) - (a.count ?? 0) || a.name.localeCompare(b.name));
  return entries;
}

/**
 * Checks the two price inputs.
 * @returns {{low: string, high: string, error: string, field: 'min'|'max'|''}}
 */
export function checkPriceRange(minText, maxText) {
  const low = normalizePrice(minText);
  const high = normalizePrice(maxText);
  if (low === null) return { low: '', high: '', error: 'Enter a minimum price of 0 or more, in numbers.', field: 'min' };
  if (high === null) return { low: '', high: '', error: 'Enter a maximum price of 0 or more, in numbers.', field: 'max' };
  if (low && high && Number(low) > Number(high)) {
    return { low, high, error: 'The minimum price is above the maximum.', field: 'min' };
  }
  return { low, high, error: '', field: '' };
}

/**
 * Builds a panel inside `root` (an empty element).
 * @param {HTMLElement} root
 * @param {{id: string, label: string, onChange: (patch: Partial<import('./state/url.js').Filter>) => void}} options
 *   `id` prefixes the ids of the panel's fields (two panels live on one page).
 */
export function createFilterPanel(root, { id, label, onChange }) {
  let filter = { category: '', brands: [], priceMin: '', priceMax: '', inStock: false };
  let facets = null;
  let showAllBrands = false;

  root.classList.add('filters');
  const summaryCount = h('span', { className: 'filters__active' });
  const summary = h('summary', { className: 'filters__summary' }, [
    h('span', { className: 'filters__title', textContent: label }),
    summaryCount,
  ]);
  const clearButton = h('button', {
    className: 'link-button filters__clear',
    type: 'button',
    textContent: 'Clear filters',
    on: { click: () => onChange({ brands: [], priceMin: '', priceMax: '', inStock: false }) },
  });

  // ----- brand --------------------------------------------------------------------------------
  const brandList = h('ul', { className: 'facet-list', id: `${id}-brands` });
  const brandMore = h('button', {
    className: 'link-button facet-more',
    type: 'button',
    attrs: { 'aria-controls': `${id}-brands`, 'aria-expanded': 'false' },
    on: {
      click: () => {
        showAllBrands = !showAllBrands;
        renderBrands();
        brandMore.focus();
      },
    },
  });
  const brandGroup = h('fieldset', { className: 'facet', dataset: { facet: 'brand' } }, [
    h('legend', { className: 'facet__legend', textContent: 'Brand' }),
    brandList,
    brandMore,
  ]);
  brandList.addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    const brands = filter.brands.filter((b) => b !== box.value);
    if (box.checked) brands.push(box.value);
    onChange({ brands });
  });

  // ----- price --------------------------------------------------------------------------------
  const priceError = h('p', { className: 'field__error', id: `${id}-price-error`, attrs: { 'aria-live': 'polite' } });
  const priceInput = (which, text) =>
    h('input', {
      className: 'input input--price',
      id: `${id}-price-${which}`,
      type: 'number',
      name: `price_${which}`,
      min: '0',
      step: 'any',
      inputMode: 'decimal',
      autocomplete: 'off',
      attrs: { 'aria-describedby': `${id}-price-error ${id}-price-range` },
      placeholder: text,
    });
  const minInput = priceInput('min', 'Min');
  const maxInput = priceInput('max', 'Max');
  const priceRange = h('p', { className: 'facet__hint', id: `${id}-price-range` });
  const priceForm = h('form', { className: 'price-range', noValidate: true }, [
    h('label', { className: 'price-range__field', htmlFor: minInput.id }, [
      h('span', { className: 'price-range__label', textContent: 'Min $' }),
      minInput,
    ]),
    h('span', { className: 'price-range__dash', textContent: '–', attrs: { 'aria-hidden': 'true' } }),
    h('label', { className: 'price-range__field', htmlFor: maxInput.id }, [
      h('span', { className: 'price-range__label', textContent: 'Max $' }),
      maxInput,
    ]),
    h('button', { className: 'button button--ghost button--small', type: 'submit', textContent: 'Apply' }),
  ]);
  priceForm.addEventListener('submit', (event) => {
    event.preventDefault();
    applyPrice();
  });
  const priceGroup = h('fieldset', { className: 'facet', dataset: { facet: 'price' } }, [
    h('legend', { className: 'facet__legend', textContent: 'Price' }),
    priceForm,
    priceRange,
    priceError,
  ]);

  function showPriceError(message, field) {
    priceError.textContent = message;
    priceError.hidden = !message;
    for (const [input, which] of [[minInput, 'min'], [maxInput, 'max']]) {
      if (field === which) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  function applyPrice() {
    // a number input hands back '' for text it cannot read: tell the shopper, do not guess
    const badMin = minInput.validity.badInput;
    const badMax = maxInput.validity.badInput;
    const check = checkPriceRange(badMin ? 'x' : minInput.value, badMax ? 'x' : maxInput.value);
    if (check.error) {
      showPriceError(check.error, check.field);
      (check.field === 'max' ? maxInput : minInput).focus();
      return;
    }
    showPriceError('', '');
    if (check.low !== filter.priceMin || check.high !== filter.priceMax) {
      onChange({ priceMin: check.low, priceMax: check.high });
    }
  }

  // ----- stock --------------------------------------------------------------------------------
  const stockInput = h('input', {
    className: 'switch__input',
    id: `${id}-in-stock`,
    type: 'checkbox',
    name: 'in_stock',
    attrs: { role: 'switch' },
    on: { change: () => onChange({ inStock: stockInput.checked }) },
  });
  const stockCount = h('span', { className: 'switch__count' });
  const stockGroup = h('div', { className: 'facet facet--stock', dataset: { facet: 'in_stock' } }, [
    h('label', { className: 'switch', htmlFor: stockInput.id }, [
      stockInput,
      h('span', { className: 'switch__track', attrs: { 'aria-hidden': 'true' } }),
      h('span', { className: 'switch__label', textContent: 'In stock only' }),
      stockCount,
    ]),
  ]);

  const body = h('div', { className: 'filters__body' }, [stockGroup, priceGroup, brandGroup, clearButton]);
  const details = h('details', { className: 'filters__details' }, [summary, body]);
  root.replaceChildren(details);
  details.open = window.matchMedia('(min-width: 721px)').matches;

  function renderBrands() {
    const entries = brandEntries(facets?.brand, filter.brands);
    const known = Boolean(facets?.brand) || entries.length > 0;
    brandGroup.hidden = !known;
    const limit = showAllBrands ? entries.length : BRANDS_SHOWN;
    const shown = entries.filter((entry, index) => index < limit || filter.brands.includes(entry.name));
    const focused = document.activeElement;
    const refocus = focused instanceof HTMLInputElement && brandList.contains(focused) ? focused.value : null;
    brandList.replaceChildren(
      ...shown.map((entry, index) => {
        const boxId = `${id}-brand-${index}`;
        const checked = filter.brands.includes(entry.name);
        return h('li', { className: 'facet__item', dataset: { value: entry.name, count: entry.count ?? '' } }, [
          h('input', { className: 'checkbox', type: 'checkbox', id: boxId, value: entry.name, checked }),
          h('label', { className: 'facet__label', htmlFor: boxId }, [
            h('span', { className: 'facet__name', textContent: entry.name }),
            countBadge(entry.count ?? undefined),
          ]),
        ]);
      }),
    );
    if (refocus !== null) {
      [...brandList.querySelectorAll('input')].find((box) => box.value === refocus)?.focus();
    }
    const hiddenCount = entries.length - shown.length;
    brandMore.hidden = entries.length <= BRANDS_SHOWN;
    brandMore.textContent = showAllBrands ? 'Show fewer brands' : `Show all ${entries.length} brands`;
    brandMore.setAttribute('aria-expanded', String(showAllBrands));
    brandMore.dataset.hiddenCount = String(hiddenCount);
  }

  function render() {
    const active = activeFilterCount(filter);
    summaryCount.textContent = active ? `${active} active` : '';
    clearButton.hidden = !active;
    stockInput.checked = filter.inStock;
    const inStock = facets && typeof facets.in_stock === 'number' ? facets.in_stock : null;
    stockCount.replaceChildren(...(inStock === null ? [] : [countBadge(inStock)]));
    stockGroup.dataset.count = inStock === null ? '' : String(inStock);
    if (document.activeElement !== minInput) minInput.value = filter.priceMin;
    if (document.activeElement !== maxInput) maxInput.value = filter.priceMax;
    const range = facets?.price;
    const hasRange = range && Number.isFinite(Number(range.min)) && Number.isFinite(Number(range.max)) && range.min !== null;
    priceRange.textContent = hasRange ? `From ${formatPrice(range.min)} to ${formatPrice(range.max)}` : '';
    priceRange.hidden = !hasRange;
    minInput.placeholder = hasRange ? String(Math.floor(Number(range.min))) : 'Min';
    maxInput.placeholder = hasRange ? String(Math.ceil(Number(range.max))) : 'Max';
    renderBrands();
  }

  showPriceError('', '');
  render();

  return {
    /**
     * Shows `nextFilter` (the store's) and the counts of an answer (`facets`, or undefined when
     * the API sent none: the counts of the previous answer are dropped).
     */
    update(nextFilter, nextFacets) {
      filter = nextFilter;
      if (nextFacets !== undefined) facets = nextFacets ?? null;
      showPriceError('', '');
      render();
    },
    /** Shows the filter alone, keeping the counts (while a new answer loads). */
    setFilter(nextFilter) {
      filter = nextFilter;
      render();
    },
    get element() {
      return root;
    },
  };
}
