/**
 * What the platform says about itself (`GET /info`): the model, whether text search works,
 * and any warning (e.g. the CLIP model could not be loaded and an image-only model runs
 * instead). Turns text search off with an explanation when the model has no text tower.
 */
import { getInfo } from './api.js';
import { byId, h, setMessage } from './dom.js';
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
    const textOk = Boolean(info.text_search);
    const reason = textOk
      ? ''
      : `Text search is off: this shop's model (${info.model}) understands pictures only. Search by image instead.`;
    headerInput.disabled = !textOk;
    headerInput.placeholder = textOk ? 'Describe it: “red running shoes”' : 'Text search unavailable: search by image';
    headerInput.title = reason;
    search.setTextSearch(textOk, reason);
    const notes = [info.warning, reason].filter(Boolean);
    banner.replaceChildren(...notes.map((text) => h('p', { textContent: text })));
    banner.hidden = !notes.length;
    footer.textContent = `${info.products ?? 0} products · model ${info.model}${info.dim ? ` (${info.dim}-d)` : ''}`;
    return info;
  } catch (error) {
    setMessage(banner, describeLoadError(error, "The shop's search settings"));
    footer.textContent = 'model unknown';
    return null;
  }
}
