// jsdom lacks layout; CodeMirror measures text ranges. Zero-size rects are enough for it to run.
import { afterEach } from "vitest";

const emptyRect = () => ({ x: 0, y: 0, width: 0, height: 0, top: 0, left: 0, right: 0, bottom: 0, toJSON() {} });
const emptyList = () => Object.assign([], { item: () => null });
if (typeof Range !== "undefined") {
  Range.prototype.getClientRects ??= emptyList;
  Range.prototype.getBoundingClientRect ??= emptyRect;
}
document.elementFromPoint ??= () => null;

afterEach(() => {
  document.body.replaceChildren();
});
