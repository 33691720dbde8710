/**
 * The search drawer: takes a query (an image from the picker, a drop or a paste; words; or a
 * product's own image for "find similar"), checks it, shows its preview, runs `/search` with the
 * category chosen in the drawer and the filters of the results' panel (brand, price, stock; all
 * kept in the URL), and hands the answer to the results view; "Show more" asks for the next
 * page. Errors are told in the shopper's words: unsupported or oversized files, the server's
 * `detail` for a 4xx, and when to retry after a 429.
 */
import { ApiError, fetchImage, getProduct, search } from './api.js';
import { SEARCH_TOP_K } from './config.js';
import { byId, h, setMessage } from './dom.js';
import { createCrop } from './crop.js';
import { describeError } from './errors.js';
import { FileRejected, named, validateImage } from './files.js';
import { createFilterPanel } from './filters.js';
import { categoryLabel, formatBytes } from './format.js';
import { createResults } from './results.js';
import { activeFilterCount, clearedFilter, filterKey, filterOf, filterPatch } from './state/url.js';

/**
 * @param {{store: object, openProduct: (p: object) => void, closeProduct: () => void}} deps
 */
export function createSearch({ store, openProduct, closeProduct }) {
  const drawer = byId('search-drawer');
  const form = byId('image-search-form');
  const dropzone = byId('dropzone');
  const fileInput = byId('file-input');
  const preview = byId('query-preview');
  const emptyHint = byId('dropzone-empty');
  const queryMeta = byId('query-meta');
  const categorySelect = byId('search-category');
  const wordsInput = byId('search-text');
  const wordsNote = byId('search-text-note');
  const submit = byId('search-submit');
  const errorBox = byId('search-error');
  const results = createResults({ store, openProduct });
  const moreButton = byId('results-more');
  const filterPanel = createFilterPanel(byId('search-filters'), {
    id: 'search-filter',
    label: 'Filter matches',
    onChange(patch) {
      store.update(filterPatch('search', patch), { push: true, reason: 'search' });
      if (current.file || current.text) run();
    },
  });

  /** The query now shown: its image (a File) and/or words, and what the image came from. */
  let current = { file: null, text: '', similar: null };
  let previewUrl = '';
  let controller = null;
  let retryTimer = 0;
  let textSearch = true;
  let returnFocus = null;
  /** What the results now shown were asked with (query and filters), to tell a re-run is due. */
  let lastRunKey = '';
  /** The crop box over the preview: results follow it (debounced in crop.js). */
  const crop = createCrop({
    onChange() {
      if (current.file) run();
    },
  });

  results.reset();

  // ----- drawer -------------------------------------------------------------------------------
  function open() {
    if (!drawer.open) {
      returnFocus = document.activeElement;
      drawer.showModal();
      document.body.classList.add('has-drawer');
    }
  }

  function close() {
    if (drawer.open) drawer.close();
  }

  drawer.addEventListener('close', () => {
    document.body.classList.remove('has-drawer');
    controller?.abort();
    const state = store.get();
    if (state.q || state.similar || state.scat || activeFilterCount(filterOf(state, 'search'))) {
      store.update({ q: '', similar: '', ...clearedFilter('search') }, { push: true, reason: 'search' });
    }
    categorySelect.value = '';
    if (returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
  });
  // A click on the backdrop (outside the panel) closes the drawer.
  drawer.addEventListener('click', (event) => {
    if (event.target === drawer) close();
  });
  byId('drawer-close').addEventListener('click', close);

  // ----- query preview --------------------------------------------------------------------------
  function showPreview(file, label) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file ? URL.createObjectURL(file) : '';
    preview.hidden = !file;
    emptyHint.hidden = false; // filled, it shrinks to "choose a file, or paste" (css)
    dropzone.classList.toggle('dropzone--filled', Boolean(file));
    if (file) {
      preview.src = previewUrl;
      crop.show();
      preview.alt = `Your search image: ${label}`;
      queryMeta.replaceChildren(
        h('span', { className: 'query-meta__name', textContent: label }),
        h('span', { textContent: ` · ${formatBytes(file.size)}` }),
        h('button', { className: 'link-button', type: 'button', textContent: 'Remove', on: { click: clearImage } }),
      );
      queryMeta.hidden = false;
    } else {
      preview.removeAttribute('src');
      crop.hide();
      queryMeta.hidden = true;
    }
  }

  function clearImage() {
    current = { ...current, file: null, similar: null };
    showPreview(null);
    fileInput.value = '';
    if (store.get().similar) store.update({ similar: '' }, { reason: 'search' });
    dropzone.focus();
  }

  // ----- running a search ---------------------------------------------------------------------
  function startRetryCountdown(seconds) {
    window.clearInterval(retryTimer);
    let left = seconds;
    submit.disabled = true;
    retryTimer = window.setInterval(() => {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(retryTimer);
        submit.disabled = false;
        setMessage(errorBox, 'You can search again now.');
        errorBox.classList.add('alert--info');
        return;
      }
      setMessage(errorBox, describeError(new ApiError('', { status: 429, retryAfter: left })));
    }, 1000);
  }

  function showError(error) {
    errorBox.classList.remove('alert--info');
    setMessage(errorBox, describeError(error));
    errorBox.dataset.code = error instanceof ApiError ? error.code : error?.name ?? 'error';
    if (error instanceof ApiError && error.status === 429 && error.retryAfter) startRetryCountdown(error.retryAfter);
  }

  /** The filter of the results: the drawer's category and the panel's fields (in the store). */
  function currentFilter() {
    return { ...filterOf(store.get(), 'search'), category: categorySelect.value };
  }

  function runKey(filter) {
    return JSON.stringify([
      current.file ? `${current.file.name}:${current.file.size}` : '', current.text, filterKey(filter), crop.value,
    ]);
  }

  /** Shows the counts of an answer beside each category of the drawer's select. */
  function labelCategories(counts) {
    for (const option of categorySelect.options) {
      if (!option.value) continue;
      const label = categoryLabel(option.value);
      option.textContent = counts ? `${label} (${Number(counts[option.value]) || 0})` : label;
    }
  }

  /**
   * Runs the current query with the drawer's category and filters; renders results or an
   * error. `more` asks for the next page and appends it.
   */
  async function run({ more = false } = {}) {
    const filter = currentFilter();
    const text = textSearch ? current.text : '';
    if (!current.file && !text) {
      showError(new FileRejected(textSearch
        ? 'Add a picture or a few words to search with.'
        : 'Add a picture to search with.'));
      return;
    }
    controller?.abort();
    controller = new AbortController();
    setMessage(errorBox, '');
    if (more) results.loadingMore();
    else {
      lastRunKey = runKey(filter);
      results.loading();
      filterPanel.setFilter(filter);
    }
    const started = performance.now();
    try {
      const body = await search(
        {
          file: current.file,
          crop: current.file ? crop.value : '',
          text,
          topK: SEARCH_TOP_K,
          offset: more ? results.nextOffset : 0,
          filter,
          facets: !more,
        },
        { signal: controller.signal },
      );
      if (more) {
        const first = results.append(body);
        // keyboard users carry on from the first new match; if the button went, from the last
        if (first) first.focus();
        else if (!results.hasMore) results.lastLink()?.focus();
        return;
      }
      filterPanel.update(filter, body.facets ?? null);
      crop.suggest(current.file ? body.suggested_crop ?? null : null);
      labelCategories(body.facets?.category ?? null);
      results.show(body, {
        kind: current.file ? 'image' : 'text',
        category: filter.category,
        elapsedMs: performance.now() - started,
        filtered: activeFilterCount(filter) > 0,
        onClearFilters: () => {
          store.update(clearedFilter('search'), { push: true, reason: 'search' });
          categorySelect.value = '';
          run();
        },
        onDidYouMean: (text) => {
          byId('text-search-input').value = text;
          searchText(text);
        },
      });
    } catch (error) {
      if (error?.name === 'AbortError') return;
      if (more) results.moreFailed();
      else results.failed();
      showError(error);
    }
  }

  moreButton.addEventListener('click', () => {
    if (results.hasMore) run({ more: true });
  });

  /** Searches with an image file from the picker, a drop or a paste. */
  function searchFile(file) {
    open();
    try {
      validateImage(file);
    } catch (error) {
      showError(error);
      return;
    }
    const image = named(file);
    current = { file: image, text: textSearch ? wordsInput.value.trim() : '', similar: null };
    showPreview(image, image.name);
    const { q, similar } = store.get();
    if (q || similar) store.update({ q: '', similar: '' }, { push: true, reason: 'search' });
    run();
  }

  /** Searches with words only (the header's search box, or a shared `?q=` link). */
  function searchText(text, { fromHistory = false } = {}) {
    const words = text.trim();
    open();
    if (!textSearch) {
      showError(new FileRejected(wordsNote.textContent || 'Text search is not available in this shop.'));
      return;
    }
    current = { file: null, text: words, similar: null };
    wordsInput.value = words;
    showPreview(null);
    if (!fromHistory && store.get().q !== words) {
      store.update({ q: words, similar: '', scat: categorySelect.value }, { push: true, reason: 'search' });
    }
    run();
  }

  /** "Find similar": fetches the product's image as a Blob and searches with it. */
  async function findSimilar(product, { fromHistory = false } = {}) {
    closeProduct();
    open();
    current = { file: null, text: '', similar: product.product_id };
    wordsInput.value = '';
    if (!fromHistory && store.get().similar !== product.product_id) {
      store.update({ similar: product.product_id, q: '', scat: categorySelect.value }, { push: true, reason: 'search' });
    }
    results.loading();
    setMessage(errorBox, '');
    try {
      const blob = await fetchImage(product.image_url);
      const type = blob.type || 'image/png';
      const ext = (type.split('/')[1] || 'png').replace('jpeg', 'jpg');
      const file = new File([blob], `${product.product_id}.${ext}`, { type });
      if (current.similar !== product.product_id) return; // another query started meanwhile
      current = { file, text: '', similar: product.product_id };
      showPreview(file, `Similar to ${product.name}`);
      await run();
    } catch (error) {
      results.failed();
      showError(error);
    }
  }

  // ----- inputs -------------------------------------------------------------------------------
  const pick = () => fileInput.click();
  byId('choose-file').addEventListener('click', pick);
  dropzone.addEventListener('click', pick);
  dropzone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      pick();
    }
  });
  fileInput.addEventListener('change', () => {
    const [file] = fileInput.files ?? [];
    if (file) searchFile(file);
    fileInput.value = '';
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    current = { ...current, text: textSearch ? wordsInput.value.trim() : '' };
    if (!current.file && current.text) searchText(current.text);
    else run();
  });
  categorySelect.addEventListener('change', () => {
    store.update({ scat: categorySelect.value }, { push: true, reason: 'search' });
    if (current.file || current.text) run();
  });

  // ----- state from the URL (reload, Back/Forward, shared links) --------------------------------
  async function syncFromState(state) {
    if (state.scat !== categorySelect.value && [...categorySelect.options].some((o) => o.value === state.scat)) {
      categorySelect.value = state.scat;
    }
    if (state.q && (state.q !== current.text || current.file)) {
      searchText(state.q, { fromHistory: true });
    } else if (state.similar && state.similar !== current.similar) {
      try {
        const product = await getProduct(state.similar);
        await findSimilar(product, { fromHistory: true });
      } catch (error) {
        open();
        showError(error);
      }
    } else if (!state.q && !state.similar && drawer.open && (current.similar || (current.text && !current.file))) {
      close();
    } else if (drawer.open && (current.file || current.text) && runKey(currentFilter()) !== lastRunKey) {
      run(); // Back/Forward over a change of the filters
    }
  }

  store.subscribe((state, previous, reason) => {
    if (reason === 'history') syncFromState(state);
  });

  return {
    open,
    close,
    searchFile,
    searchText,
    findSimilar,
    syncFromState,
    showError,
    get isOpen() {
      return drawer.open;
    },
    /** Fills the drawer's category filter. */
    setCategories(list, label) {
      const selected = categorySelect.value || store.get().scat;
      categorySelect.replaceChildren(
        h('option', { value: '', textContent: 'All categories' }),
        ...list.map((c) => h('option', { value: c.name, textContent: label(c.name) })),
      );
      categorySelect.value = selected;
    },
    /** Turns the word inputs on or off; `reason` explains why they are off. */
    setTextSearch(enabled, reason = '') {
      textSearch = enabled;
      wordsInput.disabled = !enabled;
      byId('search-text-field').hidden = !enabled;
      form.classList.toggle('drawer__form--image-only', !enabled);
      setMessage(wordsNote, enabled ? '' : reason);
    },
  };
}
