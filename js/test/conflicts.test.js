import { describe, expect, it } from "vitest";
import conflicts from "../src/conflicts.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const conflict = (over = {}) => ({
  id: "c1",
  key: "row-7",
  fields: ["qty"],
  base: { name: "Apple", qty: 3, done: false },
  mine: { name: "Apple", qty: 4, done: false },
  theirs: { name: "Apple", qty: 9, done: true },
  ...over,
});
const button = (root, text) => [...root.querySelectorAll("button")].find((b) => b.textContent === text);

describe("conflicts", () => {
  it("shows nothing while there is nothing to settle (no 'No conflicts' under every table)", () => {
    const { el } = mount(conflicts, new FakeModel({ conflicts: [] }));
    expect(el.querySelector(".nbrt-conflicts").hidden).toBe(true);
    expect(el.querySelector(".nbrt-empty")).toBeNull();
  });

  it("renders base / mine / theirs side by side with conflicting fields highlighted first", () => {
    const model = new FakeModel({ conflicts: [conflict()] });
    const { el } = mount(conflicts, model);
    expect(el.querySelector(".nbrt-conflicts-header").textContent).toBe("1 conflict");
    expect(el.querySelector(".nbrt-conflict-key").textContent).toBe("row-7");
    const rows = [...el.querySelectorAll(".nbrt-conflict-grid tbody tr")];
    expect(rows.map((r) => [...r.children].map((c) => c.textContent))).toEqual([
      ["qty", "3", "4", "9"],
      ["name", "Apple", "Apple", "Apple"],
      ["done", "false", "false", "true"],
    ]);
    expect(rows[0].classList.contains("nbrt-conflict-field")).toBe(true);
    expect(rows[1].classList.contains("nbrt-conflict-field")).toBe(false);
  });

  it("missing base is shown as absent", () => {
    const { el } = mount(conflicts, new FakeModel({ conflicts: [conflict({ base: null })] }));
    expect(el.querySelector(".nbrt-base").textContent).toBe("—");
  });

  it("Keep mine / Keep theirs send resolve and disable the card until it goes away", () => {
    const model = new FakeModel({ conflicts: [conflict(), conflict({ id: "c2", key: "row-8" })] });
    const { el } = mount(conflicts, model);
    const [first, second] = el.querySelectorAll(".nbrt-conflict");
    button(first, "Keep mine").click();
    button(second, "Keep theirs").click();
    expect(model.messages("resolve")).toEqual([
      { type: "resolve", id: "c1", choice: "mine" },
      { type: "resolve", id: "c2", choice: "theirs" },
    ]);
    expect(button(el.querySelector(".nbrt-conflict"), "Keep mine").disabled).toBe(true);
    model.set("conflicts", [conflict({ id: "c2", key: "row-8" })]);
    expect(el.querySelectorAll(".nbrt-conflict")).toHaveLength(1);
    model.set("conflicts", []);
    expect(el.querySelector(".nbrt-conflicts").hidden).toBe(true);
  });

  it("Edit… opens inputs prefilled with mine and sends a typed value", () => {
    const model = new FakeModel({ conflicts: [conflict()] });
    const { el } = mount(conflicts, model);
    button(el, "Edit…").click();
    const inputs = [...el.querySelectorAll(".nbrt-conflict-edit input")];
    expect(inputs.map((i) => (i.type === "checkbox" ? i.checked : i.value))).toEqual(["4", "Apple", false]);
    button(el, "Theirs").click(); // take theirs for the conflicting field
    expect(inputs[0].value).toBe("9");
    inputs[0].value = "12";
    inputs[0].dispatchEvent(new Event("input"));
    // a remote change to another conflict does not lose the draft
    model.set("conflicts", [conflict(), conflict({ id: "c2" })]);
    const kept = el.querySelector(".nbrt-conflict-edit input");
    expect(kept.value).toBe("12");
    el.querySelector(".nbrt-conflict-edit").dispatchEvent(new Event("submit", { cancelable: true }));
    expect(model.messages("resolve")).toEqual([
      { type: "resolve", id: "c1", choice: "value", value: { qty: 12, name: "Apple", done: false } },
    ]);
  });

  it("Edit… validates numbers and can be cancelled", () => {
    const model = new FakeModel({ conflicts: [conflict()] });
    const { el } = mount(conflicts, model);
    button(el, "Edit…").click();
    const input = el.querySelector(".nbrt-conflict-edit input");
    input.value = "many";
    el.querySelector(".nbrt-conflict-edit").dispatchEvent(new Event("submit", { cancelable: true }));
    expect(model.sent).toHaveLength(0);
    expect(el.querySelector(".nbrt-form-error").textContent).toBe("qty: Enter a number");
    button(el, "Cancel").click();
    expect(el.querySelector(".nbrt-conflict-edit")).toBeNull();
    expect(button(el, "Keep mine")).toBeTruthy();
  });

  it("keeps keys, field names and values as text (XSS)", () => {
    const model = new FakeModel({
      conflicts: [conflict({ key: XSS, fields: [XSS], base: { [XSS]: XSS }, mine: { [XSS]: XSS }, theirs: { [XSS]: XSS } })],
    });
    const { el } = mount(conflicts, model);
    button(el, "Edit…").click();
    expect(injected()).toBe(0);
    expect(el.querySelector(".nbrt-conflict-key").textContent).toBe(XSS);
    expect(el.querySelector(".nbrt-conflict-edit input").value).toBe(XSS);
  });

  it("cleanup removes listeners and DOM", () => {
    const model = new FakeModel({ conflicts: [conflict()] });
    const { el, cleanup } = mount(conflicts, model);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
