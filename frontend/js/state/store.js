/**
 * The one mutable view state of the page, with change notifications.
 * Modules read `store.get()`, change it with `store.update(patch, options)`, and re-render
 * in a `store.subscribe` callback; the URL is kept in step on every update.
 */
import { readLocation, writeLocation } from './url.js';

/** Creates the store, starting from the current URL. */
export function createStore() {
  let state = readLocation();
  const listeners = new Set();

  function notify(previous, reason) {
    for (const listener of listeners) listener(state, previous, reason);
  }

  return {
    /** The current state (treat as read-only). */
    get() {
      return state;
    },
    /**
     * Merges `patch` into the state, writes the URL (`push` adds a history entry), notifies.
     * `reason` tells listeners who changed what (e.g. 'catalogue', 'search', 'modal').
     */
    update(patch, { push = false, reason = 'update' } = {}) {
      const previous = state;
      state = { ...state, ...patch };
      writeLocation(state, { push });
      notify(previous, reason);
    },
    /** Re-reads the URL (Back/Forward) and notifies. */
    reload() {
      const previous = state;
      state = readLocation();
      notify(previous, 'history');
    },
    /** Calls `listener(state, previous, reason)` after each change; returns an unsubscribe. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
