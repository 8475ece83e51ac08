// Buffers arrive from the comm as DataView / ArrayBuffer / typed arrays depending on the frontend.

/**
 * @param {unknown} buf
 * @returns {Uint8Array | null}
 */
export function toBytes(buf) {
  if (buf instanceof Uint8Array) return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  // Cross-realm buffers (iframes, test environments) fail instanceof; duck-type them.
  if (buf && typeof buf === "object" && "byteLength" in buf) {
    const b = /** @type {any} */ (buf);
    if (b.buffer && typeof b.byteOffset === "number") return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    try {
      return new Uint8Array(b);
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Bytes as base64 (how binary updates travel inside JSON broadcasts, as the kernel sends them).
 * @param {Uint8Array} bytes
 */
export function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/**
 * @param {unknown} text
 * @returns {Uint8Array | null} null for anything that is not base64
 */
export function fromBase64(text) {
  if (typeof text !== "string") return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}
