/**
 * Getting a query image from the shopper: validation of type and size before upload, and
 * extraction of the image from paste (clipboard) and drop (drag & drop) events.
 */
import { ACCEPTED_IMAGE_EXTENSIONS, ACCEPTED_IMAGE_TYPES, MAX_UPLOAD_BYTES } from './config.js';
import { formatBytes } from './format.js';

/** Thrown for a file the shop will not search with; the message is for the shopper. */
export class FileRejected extends Error {
  constructor(message) {
    super(message);
    this.name = 'FileRejected';
  }
}

function extension(name) {
  const match = /\.([a-z0-9]+)$/i.exec(name || '');
  return match ? match[1].toLowerCase() : '';
}

/** True when the file looks like an image the API accepts (by MIME type, else extension). */
export function isAcceptedImage(file) {
  if (file.type) return ACCEPTED_IMAGE_TYPES.includes(file.type.toLowerCase());
  return ACCEPTED_IMAGE_EXTENSIONS.includes(extension(file.name));
}

/** Checks a file and returns it, or throws FileRejected with a message that says what to do. */
export function validateImage(file) {
  if (!file) throw new FileRejected('No image found. Drop, paste or choose a picture.');
  const label = file.name ? `“${file.name}”` : 'This file';
  if (!isAcceptedImage(file)) {
    throw new FileRejected(
      `${label} is not a supported image${file.type ? ` (${file.type})` : ''}. ` +
        'Use a JPEG, PNG, WebP, GIF or BMP picture.',
    );
  }
  if (file.size === 0) throw new FileRejected(`${label} is empty.`);
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new FileRejected(
      `${label} is too large (${formatBytes(file.size)}). The limit is ${formatBytes(MAX_UPLOAD_BYTES)}: ` +
        'try a smaller picture or a screenshot of it.',
    );
  }
  return file;
}

/**
 * The files carried by a DataTransfer (paste or drop), image files first.
 * @param {DataTransfer|null} transfer
 * @returns {File[]}
 */
export function filesFrom(transfer) {
  if (!transfer) return [];
  const files = [];
  if (transfer.items && transfer.items.length) {
    for (const item of transfer.items) {
      if (item.kind !== 'file') continue;
      const file = item.getAsFile();
      if (file) files.push(file);
    }
  }
  if (!files.length && transfer.files) files.push(...transfer.files);
  return files.sort((a, b) => Number(isAcceptedImage(b)) - Number(isAcceptedImage(a)));
}

/** True when a drag carries files (not text or a link being dragged around the page). */
export function dragHasFiles(event) {
  const types = event.dataTransfer?.types;
  return Boolean(types && Array.from(types).includes('Files'));
}

/** A pasted image may come without a name; give it one from its type ("pasted-image.png"). */
export function named(file) {
  if (file.name && file.name !== 'blob') return file;
  const ext = (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
  return new File([file], `pasted-image.${ext}`, { type: file.type, lastModified: Date.now() });
}
