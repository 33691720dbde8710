/**
 * This tab's random id: no personal data, kept in sessionStorage so it lives as long as the
 * tab. Searches send it as X-Tab-Id and events as `tab_id`, so the shop's figures (and an
 * experiment's variants, split by it) see one tab as one visit.
 */
const KEY = 'visualsearch.tab';

function randomId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `t${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The tab's id, made on first use. */
export function tabId() {
  try {
    let id = sessionStorage.getItem(KEY);
    if (!id) {
      id = randomId();
      sessionStorage.setItem(KEY, id);
    }
    return id;
  } catch {
    return randomId(); // storage blocked: a fresh id per page, still no personal data
  }
}
