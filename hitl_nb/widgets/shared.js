// Helpers every hitl_nb widget shares; `hitl_nb/widgets/_assets.py` puts this file in
// front of each widget's own module (anywidget loads a widget as one module, so a
// relative import between files is not available). Agent output is untrusted: every
// string goes through textContent / DOM properties, never through HTML parsing.

/** The HITL spectrum's labels, by level. */
const LEVELS = {
  autonomy: "Full autonomy",
  notify: "Notify",
  confirm: "Confirm",
  collaborate: "Collaborate",
  human_leads: "Human leads",
};

/**
 * @param {string} tag
 * @param {{cls?: string, text?: string, attrs?: Record<string, string>}} [opts]
 * @param {Node[]} [children]
 * @returns {HTMLElement}
 */
function h(tag, opts = {}, children = []) {
  const el = document.createElement(tag);
  if (opts.cls) el.className = opts.cls;
  if (opts.text !== undefined) el.textContent = opts.text;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) el.setAttribute(k, v);
  for (const child of children) el.append(child);
  return el;
}

/** @param {unknown} value */
function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** @param {unknown} args */
function compact(args) {
  if (!args || typeof args !== "object") return JSON.stringify(args);
  return Object.entries(args).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
}

/**
 * One editor per argument, chosen from the JSON schema (inferred from the
 * proposed values when the agent gave none).
 * @param {string} key
 * @param {unknown} value
 * @param {any} schema
 * @param {string} id
 * @param {string | boolean | undefined} raw  what the reviewer had typed before a redraw
 */
function fieldEditor(key, value, schema, id, raw) {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  /** @type {HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement} */
  let input;
  /** @type {() => unknown} */
  let read;
  if (Array.isArray(schema?.enum)) {
    const select = document.createElement("select");
    schema.enum.forEach((/** @type {unknown} */ option, /** @type {number} */ i) => {
      const opt = h("option", { text: pretty(option), attrs: { value: String(i) } });
      select.append(opt);
      if (JSON.stringify(option) === JSON.stringify(value)) select.value = String(i);
    });
    input = select;
    read = () => schema.enum[Number(select.value)];
  } else if (type === "boolean") {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = value === true;
    input = box;
    read = () => box.checked;
  } else if (type === "number" || type === "integer") {
    const num = document.createElement("input");
    num.type = "number";
    num.step = type === "integer" ? "1" : "any";
    num.value = value === null || value === undefined ? "" : String(value);
    if (typeof schema?.minimum === "number") num.min = String(schema.minimum);
    if (typeof schema?.maximum === "number") num.max = String(schema.maximum);
    input = num;
    read = () => (num.value.trim() === "" ? null : Number(num.value));
  } else if (type === "string" && typeof value === "string" && value.length < 80 && !value.includes("\n")) {
    const text = document.createElement("input");
    text.type = "text";
    text.value = value;
    input = text;
    read = () => text.value;
  } else if (type === "string") {
    const area = document.createElement("textarea");
    area.rows = Math.min(12, Math.max(3, String(value ?? "").split("\n").length + 1));
    area.value = String(value ?? "");
    input = area;
    read = () => (area.value === "" && value === null ? null : area.value); // optional text left empty
  } else {
    const area = document.createElement("textarea");
    area.rows = 4;
    area.value = JSON.stringify(value ?? null, null, 2);
    area.dataset.json = "1";
    input = area;
    read = () => JSON.parse(area.value);
  }
  if (raw !== undefined) {
    if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = Boolean(raw);
    else input.value = String(raw);
  }
  input.id = id;
  input.className = "hitl-input";
  input.dataset.field = key;
  const label = h("label", { cls: "hitl-label", text: key, attrs: { for: id } });
  if (typeof schema?.description === "string") label.title = schema.description;
  return { row: h("div", { cls: "hitl-field" }, [label, input]), input, read, key };
}

/**
 * Word-diff segments ([tag, text], tag "=", "-" or "+") as del / ins / span.
 * @param {any[]} segments
 * @param {HTMLElement} into
 */
function fillDiff(segments, into) {
  into.replaceChildren(...segments.map(([tag, text]) => h(tag === "+" ? "ins" : tag === "-" ? "del" : "span", { text: String(text) })));
}

/**
 * What the reviewer changed (`_diff.changes` in Python): one line per JSON-patch
 * operation, old → new, long text as a word diff.
 * @param {any[]} changes
 */
// `distance`: the log's edit distance (characters of canonical JSON), shown under the list.
function changeList(changes, distance) {
  const list = h("ul", { cls: "hitl-changes", attrs: { "data-testid": "hitl-changes", "aria-label": "Changes made by the reviewer" } });
  for (const change of changes) {
    const item = h("li", { attrs: { "data-path": String(change.path) } }, [h("span", { cls: "hitl-change-path", text: `${String(change.path).slice(1) || "(all)"}: ` })]);
    if (Array.isArray(change.text_diff)) {
      const diff = h("span", { cls: "hitl-text-diff" });
      fillDiff(change.text_diff, diff);
      item.append(diff);
    } else {
      if ("old" in change) item.append(h("del", { text: pretty(change.old) }));
      if ("old" in change && "new" in change) item.append(document.createTextNode(" → "));
      if ("new" in change) item.append(h("ins", { text: pretty(change.new) }));
    }
    list.append(item);
  }
  if (typeof distance !== "number") return list;
  const size = h("p", { cls: "hitl-edit-distance", text: `edit distance: ${distance} character${distance === 1 ? "" : "s"}`, attrs: { "data-testid": "hitl-edit-distance" } });
  return h("div", {}, [list, size]);
}
