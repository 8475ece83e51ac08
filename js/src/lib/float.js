// Floating overlays (drop-downs, hover cards) that stay inside the widget's DOM but are not clipped by the host's
// output area or pushed into the flow: fixed-positioned at their anchor, kept inside the viewport.

/** Gap between the anchor and the overlay, and the margin kept from the viewport's edges, in px. */
const GAP = 4;
const MARGIN = 8;

/**
 * Place `floating` (position: fixed, already shown) below `anchor`, left-aligned with it, flipped above the anchor
 * when there is no room below, and shifted to stay inside the viewport.
 * @param {Element} anchor
 * @param {HTMLElement} floating
 */
export function placeBelow(anchor, floating) {
  const a = anchor.getBoundingClientRect();
  const w = floating.offsetWidth;
  const hgt = floating.offsetHeight;
  const area = visibleArea(anchor);
  const left = Math.max(area.left + MARGIN, Math.min(a.left, area.right - w - MARGIN));
  const below = a.bottom + GAP;
  const top = below + hgt > area.bottom - MARGIN && a.top - GAP - hgt >= area.top + MARGIN ? a.top - GAP - hgt : below;
  floating.style.left = `${Math.round(left)}px`;
  floating.style.top = `${Math.round(top)}px`;
  // An ancestor with a transform or `contain` (a host's output area may have one) becomes the containing block of
  // fixed elements: measure where the overlay landed and move it by the difference.
  const landed = floating.getBoundingClientRect();
  const dx = landed.left - Math.round(left);
  const dy = landed.top - Math.round(top);
  if (dx || dy) {
    floating.style.left = `${Math.round(left - dx)}px`;
    floating.style.top = `${Math.round(top - dy)}px`;
  }
}

/**
 * Where an overlay of `anchor` can be seen: the viewport, cut down to the nearest ancestor that clips its content
 * (a host's scrolling notebook panel: side panels and toolbars outside it would cover the overlay).
 * @param {Element} anchor
 */
function visibleArea(anchor) {
  let area = { left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight };
  for (let node = anchor.parentElement; node && node !== document.body; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.overflowX === "visible" && style.overflowY === "visible") continue;
    const r = node.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    area = {
      left: Math.max(area.left, r.left),
      top: Math.max(area.top, r.top),
      right: Math.min(area.right, r.right),
      bottom: Math.min(area.bottom, r.bottom),
    };
    break;
  }
  return area;
}

/**
 * Keep `floating` at its anchor while anything scrolls or the window resizes; returns the function that stops.
 * @param {Element} anchor
 * @param {HTMLElement} floating
 */
export function follow(anchor, floating) {
  const place = () => placeBelow(anchor, floating);
  place();
  window.addEventListener("scroll", place, { capture: true, passive: true });
  window.addEventListener("resize", place, { passive: true });
  return () => {
    window.removeEventListener("scroll", place, { capture: true });
    window.removeEventListener("resize", place);
  };
}
