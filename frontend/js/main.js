/**
 * Entry point: builds the page's parts, connects them through the one store, and installs the
 * page-wide gestures: Ctrl+V of an image anywhere and dropping an image anywhere both open the
 * search drawer and search at once.
 */
import { getCategories } from './api.js';
import { createCatalogue } from './catalogue.js';
import { installEventTracking } from './events.js';
import { byId } from './dom.js';
import { dragHasFiles, filesFrom } from './files.js';
import { categoryLabel } from './format.js';
import { applyInfo } from './info.js';
import { createModal } from './modal.js';
import { createSearch } from './search.js';
import { createStore } from './state/store.js';
import { createSuggest } from './suggest.js';
import { activeFilterCount, clearedFilter, filterOf } from './state/url.js';

const store = createStore();
installEventTracking();

let search = null;
const modal = createModal({ store, onFindSimilar: (product) => search.findSimilar(product) });
search = createSearch({ store, openProduct: (p) => modal.open(p), closeProduct: () => modal.close() });
const catalogue = createCatalogue({ store, openProduct: (p) => modal.open(p) });

window.addEventListener('popstate', () => store.reload());

// ----- opening the drawer -------------------------------------------------------------------------
byId('open-drawer').addEventListener('click', () => search.open());
byId('hero-cta').addEventListener('click', () => search.open());
byId('text-search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = byId('text-search-input').value.trim();
  if (text) search.searchText(text);
  else search.open();
});

// ----- suggestions as the shopper types -----------------------------------------------------------
createSuggest({
  input: byId('text-search-input'),
  listbox: byId('text-search-suggestions'),
  status: byId('text-search-status'),
  onPick: (text) => search.searchText(text),
});

// ----- paste anywhere ---------------------------------------------------------------------------
document.addEventListener('paste', (event) => {
  const files = filesFrom(event.clipboardData);
  if (!files.length) return; // plain text pasted into a field: leave it alone
  event.preventDefault();
  search.searchFile(files[0]);
});

// ----- drop anywhere ----------------------------------------------------------------------------
const overlay = byId('drop-overlay');
const dropzone = byId('dropzone');
let dragDepth = 0;

function setDragging(on) {
  overlay.hidden = !on || search.isOpen;
  dropzone.classList.toggle('dropzone--active', on);
}

window.addEventListener('dragenter', (event) => {
  if (!dragHasFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  setDragging(true);
});
window.addEventListener('dragover', (event) => {
  if (!dragHasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) setDragging(false);
});
window.addEventListener('drop', (event) => {
  dragDepth = 0;
  setDragging(false);
  const files = filesFrom(event.dataTransfer);
  if (!files.length) return;
  event.preventDefault();
  search.searchFile(files[0]);
});

// ----- keyboard shortcut: "/" focuses the text search ----------------------------------------------
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  if (document.querySelector('dialog[open]')) return;
  const input = byId('text-search-input');
  if (input.disabled) return;
  event.preventDefault();
  input.focus();
});

// ----- start ------------------------------------------------------------------------------------
async function start() {
  catalogue.load();
  const [categories] = await Promise.all([
    getCategories().catch(() => []),
    applyInfo(search),
  ]);
  catalogue.setCategories(categories);
  search.setCategories(categories, categoryLabel);
  const state = store.get();
  if (state.q || state.similar) search.syncFromState(state);
  else if (state.scat || activeFilterCount(filterOf(state, 'search'))) {
    // filters of a search that cannot come back (a pasted image is not in the URL)
    store.update(clearedFilter('search'), { reason: 'search' });
  }
  if (state.product) modal.open(state.product);
  document.documentElement.dataset.ready = 'true';
}

start();
