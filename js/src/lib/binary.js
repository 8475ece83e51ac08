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
