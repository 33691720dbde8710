/**
 * What the platform says about itself (`GET /info`): the model and the retrievers in use.
 * Text search always works (keyword and semantic retrieval run on every model), so the search
 * box is always on. A shop-operator warning (e.g. CLIP could not be loaded) is not shown to
 * shoppers: it stays in /info, the log and the admin view (SPEC §4).
 */
import { getInfo } from './api.js';
import { byId, setMessage } from './dom.js';
import { describeLoadError } from './errors.js';

/**
 * Loads /info and applies it to the page.
 * @param {{setTextSearch: (enabled: boolean, reason: string) => void}} search
 * @returns {Promise<object|null>} the info, or null when it could not be loaded
 */
export async function applyInfo(search) {
  const banner = byId('info-banner');
  const headerInput = byId('text-search-input');
  const footer = byId('footer-model');
  try {
    const info = await getInfo();
    headerInput.disabled = false;
    headerInput.placeholder = 'Search products: “red running shoes”';
    headerInput.title = '';
    search.setTextSearch(true, '');
    if (info.warning) console.info(`visual-search (for the shop operator): ${info.warning}`);
    banner.replaceChildren();
    banner.hidden = true;
    footer.textContent = `${info.products ?? 0} products · model ${info.model}${info.dim ? ` (${info.dim}-d)` : ''}`;
    return info;
  } catch (error) {
    setMessage(banner, describeLoadError(error, "The shop's search settings"));
    footer.textContent = 'model unknown';
    return null;
  }
}
