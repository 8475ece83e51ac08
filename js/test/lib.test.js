import { describe, expect, it, vi } from "vitest";
import { initials, readableTextColor, safeColor, translucent } from "../src/lib/color.js";
import { h, replace } from "../src/lib/dom.js";
import { relativeTime } from "../src/lib/time.js";
import { throttle } from "../src/lib/timing.js";
import { formatValue, parseLike } from "../src/lib/values.js";
import { XSS } from "./fake-model.js";

describe("lib", () => {
  it("h() never parses HTML", () => {
    const el = h("div", { class: ["a", false, "b"], title: XSS, text: XSS }, XSS, 3, null);
    expect(el.className).toBe("a b");
    expect(el.title).toBe(XSS);
    expect(el.textContent).toBe(XSS + XSS + "3");
    expect(el.querySelector("img")).toBeNull();
    replace(el, "x");
    expect(el.textContent).toBe("x");
  });

  it("colours: safe values only, readable text, translucent", () => {
    expect(safeColor("#a1b2c3")).toBe("#a1b2c3");
    expect(safeColor("rgb(1, 2, 3)")).toBe("rgb(1, 2, 3)");
    expect(safeColor("teal")).toBe("teal");
    expect(safeColor("red;background:url(x)")).toBe("#757575");
    expect(safeColor("expression(alert(1))")).toBe("#757575");
    expect(safeColor(42)).toBe("#757575");
    expect(readableTextColor("#ffffff")).toBe("#000000");
    expect(readableTextColor("#000")).toBe("#ffffff");
    expect(readableTextColor("#ffeb3b")).toBe("#000000");
    expect(readableTextColor("#3f51b5")).toBe("#ffffff");
    expect(translucent("#ff0000", 0.5)).toBe("rgba(255, 0, 0, 0.5)");
  });

  it("initials", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("grace")).toBe("G");
    expect(initials("jean-luc picard")).toBe("JP");
    expect(initials("  ")).toBe("?");
    expect(initials(null)).toBe("?");
    expect(initials("Élodie Ünal")).toBe("ÉÜ");
  });

  it("initials skip punctuation and symbols (first letter or digit of a word, else ?)", () => {
    expect(initials("<img src=x onerror=window.__pwned=1>")).toBe("IP");
    expect(initials("<img src=x>")).toBe("IS");
    expect(initials("(bob)")).toBe("B");
    expect(initials("«Ada» ~Lovelace")).toBe("AL");
    expect(initials("#1 fan")).toBe("1F");
    expect(initials("!!! ???")).toBe("?");
    expect(initials("🙂")).toBe("?");
    expect(initials("<>")).toBe("?");
    expect(initials("E\u0301mile")).toBe("E\u0301"); // a combining accent stays with its letter
  });

  it("relative time", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    const ago = (s) => new Date(now - s * 1000).toISOString();
    expect(relativeTime(ago(10), now)).toBe("just now");
    expect(relativeTime(ago(300), now)).toBe("5 min ago");
    expect(relativeTime(ago(7200), now)).toBe("2 h ago");
    expect(relativeTime(ago(86400), now)).toBe("yesterday");
    expect(relativeTime(ago(3 * 86400), now)).toBe("3 days ago");
    expect(relativeTime("nonsense", now)).toBe("");
    expect(relativeTime(null, now)).toBe("");
  });

  it("values", () => {
    expect(formatValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(formatValue(null)).toBe("");
    expect(parseLike("4.5", 1)).toEqual({ ok: true, value: 4.5 });
    expect(parseLike("x", 1).ok).toBe(false);
    expect(parseLike("", 1)).toEqual({ ok: true, value: null });
    expect(parseLike("12", "a")).toEqual({ ok: true, value: "12" });
    expect(parseLike('{"b":2}', { a: 1 })).toEqual({ ok: true, value: { b: 2 } });
    expect(parseLike("true", false)).toEqual({ ok: true, value: true });
  });

  it("throttle: leading call, one trailing call with the latest arguments", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const t = throttle(fn, 100);
    t(1);
    t(2);
    t(3);
    expect(fn.mock.calls).toEqual([[1]]);
    vi.advanceTimersByTime(100);
    expect(fn.mock.calls).toEqual([[1], [3]]);
    t.cancel();
    vi.useRealTimers();
  });
});
