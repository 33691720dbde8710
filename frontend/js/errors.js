/**
 * Shopper-facing wording for every failure: a refused file, the server's `detail` for a 4xx,
 * when to retry after a 429, and a plain message for a server or network failure.
 */
import { ApiError } from './api.js';
import { FileRejected } from './files.js';

/** "Please try again in 12 seconds." (or a moment, when the server did not say). */
export function retryText(seconds) {
  return seconds
    ? `Please try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
    : 'Please wait a moment and try again.';
}

/**
 * The message for an error.
 * @param {unknown} error
 * @param {string} [what] what failed, for server errors ("The search", "The catalogue")
 */
export function describeError(error, what = 'The search') {
  if (error instanceof FileRejected) return error.message;
  if (error instanceof ApiError) {
    if (error.status === 429) return `Too many searches in a short time. ${retryText(error.retryAfter)}`;
    if (error.status === 413) return `That image is too large for the shop: ${error.message}`;
    if (error.status === 415) return `That file type is not supported: ${error.message}`;
    if (error.status >= 400 && error.status < 500) return error.message;
    if (error.status >= 500) return `${what} had a problem on our side (${error.message}). Please try again.`;
    return error.message;
  }
  return `${what} did not work. Please try again.`;
}

/** The message when the page itself could not load something (catalogue, /info). */
export function describeLoadError(error, what) {
  if (error instanceof ApiError && error.status === 429) {
    return `${what} could not be loaded: the shop is busy with your requests. ${retryText(error.retryAfter)}`;
  }
  return `${what} could not be loaded: ${error?.message ?? error}`;
}
