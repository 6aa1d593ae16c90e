// hitl_nb batch review: a paged table of proposed actions. Only the visible page's rows
// are in the model (and in the DOM); filtering, sorting and paging run in Python.
// Agent output is untrusted: every string goes through textContent / DOM properties.

const TRAITS = ["rows", "view", "counts", "facets", "token", "confirm", "errors", "notice"];
const SORTABLE = { action: "Action", risk: "Risk", confidence: "Confidence", thread: "Thread", status: "Status" };
const PAGE_SIZES = [10, 25, 50, 100];
// Filter menus: option values are "" (any), "=" + a label, or "!none" (no label), so no
// label an agent writes can stand for "any" or "none". "No risk" travels as this object.
const ANY = "";
const NONE = "!none";
const NO_LABEL = { no_risk: true };

/**
 * The filter value an option of a facet menu stands for.
 * @param {string} option
 * @returns {string | typeof NO_LABEL | null}
 */
function optionFilter(option) {
  if (option === NONE) return NO_LABEL;
  return option.startsWith("=") ? option.slice(1) : null;
}

/**
 * The option of a facet menu that shows a filter value.
 * @param {unknown} value
 * @returns {string}
 */
function filterOption(value) {
  if (value && typeof value === "object") return NONE;
  return typeof value === "string" ? `=${value}` : ANY;
}

/**
 * @param {string} text
 * @param {string} testid
 * @param {string} [cls]
 * @returns {HTMLButtonElement}
 */
function button(text, testid, cls = "") {
  return /** @type {HTMLButtonElement} */ (h("button", { cls: `hitl-button ${cls}`, text, attrs: { type: "button", "data-testid": testid } }));
}

/** @param {number} n */
const fmt = (n) => n.toLocaleString("en-US");

/** @type {import("npm:@anywidget/types").Render} */
function render({ model, el }) {
  const root = h("div", { cls: "hitl-batch", attrs: { "data-testid": "hitl-batch" } });
  el.append(root);
  // Keys typed in the widget are the widget's: JupyterLab's notebook shortcuts stay out.
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  /** @type {Set<number>} */
  const selected = new Set();
  /** @type {number | null} */
  let editing = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typing;
  const uid = `hitl-batch-${Math.random().toString(36).slice(2, 8)}`;
  /** @type {string | undefined} */
  let focusedConfirm;

  // Changes made before Python answered build on the last query sent, not on the old
  // view: picking an action then a risk quickly must keep both.
  /** @type {any} */
  let wanted = null;
  let seq = 0;
  /** @param {Record<string, unknown>} change  (filter fields, or sort/page/page_size) */
  const sendQuery = (change) => {
    const view = wanted ?? model.get("view") ?? {};
    const query = { filter: { ...(view.filter ?? {}) }, sort: view.sort ?? "queue", descending: Boolean(view.descending), page: view.page ?? 0, page_size: view.page_size ?? 25 };
    const { filter, ...rest } = change;
    if (filter) {
      Object.assign(query.filter, filter);
      query.page = 0;
    }
    Object.assign(query, rest);
    wanted = query;
    seq += 1;
    model.send({ type: "query", query, seq });
  };

  // The filter bar is built once, so typing in it never loses focus on a redraw.
  /** @param {string} label @param {HTMLElement} input */
  const labelled = (label, input) => {
    input.id = `${uid}-${label.replace(/\W+/g, "-")}`;
    return h("span", { cls: "hitl-batch-filter" }, [h("label", { text: label, attrs: { for: input.id } }), input]);
  };
  const action = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "data-testid": "hitl-batch-action" } }));
  const risk = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "data-testid": "hitl-batch-risk" } }));
  const status = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "data-testid": "hitl-batch-status" } }));
  for (const s of ["pending", "decided", "all"]) status.append(h("option", { text: s, attrs: { value: s } }));
  const numberBox = (/** @type {string} */ testid) => {
    const box = /** @type {HTMLInputElement} */ (h("input", { cls: "hitl-batch-num", attrs: { type: "number", min: "0", max: "1", step: "0.05", "data-testid": testid } }));
    return box;
  };
  const minConf = numberBox("hitl-batch-min");
  const maxConf = numberBox("hitl-batch-max");
  const text = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "search", placeholder: "search action, arguments, reason", "data-testid": "hitl-batch-text" } }));
  const pageSize = /** @type {HTMLSelectElement} */ (h("select", { attrs: { "data-testid": "hitl-batch-page-size" } }));
  for (const n of PAGE_SIZES) pageSize.append(h("option", { text: String(n), attrs: { value: String(n) } }));
  action.addEventListener("change", () => sendQuery({ filter: { action: optionFilter(action.value) } }));
  risk.addEventListener("change", () => sendQuery({ filter: { risk: optionFilter(risk.value) } }));
  status.addEventListener("change", () => sendQuery({ filter: { status: status.value } }));
  const conf = (/** @type {HTMLInputElement} */ box) => (box.value.trim() === "" ? null : Number(box.value));
  minConf.addEventListener("change", () => sendQuery({ filter: { min_confidence: conf(minConf) } }));
  maxConf.addEventListener("change", () => sendQuery({ filter: { max_confidence: conf(maxConf) } }));
  text.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => sendQuery({ filter: { text: text.value } }), 250);
  });
  pageSize.addEventListener("change", () => sendQuery({ page_size: Number(pageSize.value), page: 0 }));
  const filters = h("div", { cls: "hitl-batch-filters", attrs: { role: "search" } }, [
    labelled("Action", action), labelled("Risk", risk), labelled("Confidence from", minConf),
    labelled("to", maxConf), labelled("Search", text), labelled("Status", status), labelled("Rows per page", pageSize),
  ]);

  const summary = h("p", { cls: "hitl-batch-summary", attrs: { "data-testid": "hitl-batch-summary", "aria-live": "polite" } });
  const table = h("table", { cls: "hitl-batch-table", attrs: { "data-testid": "hitl-batch-table" } });
  const bulk = h("div", { cls: "hitl-batch-bulk" });
  const confirmBox = h("div", { cls: "hitl-batch-confirm", attrs: { "data-testid": "hitl-batch-confirm", role: "alertdialog", "aria-label": "Confirm approve all matching" } });
  const pager = h("div", { cls: "hitl-batch-pager" });
  const notice = h("p", { cls: "hitl-batch-notice", attrs: { "data-testid": "hitl-batch-notice", role: "status" } });
  root.append(h("div", { cls: "hitl-topline" }, [h("span", { cls: "hitl-title", text: "Batch review" }), summary]), filters, bulk, confirmBox, table, pager, notice);

  const message = /** @type {HTMLTextAreaElement} */ (h("textarea", { cls: "hitl-input hitl-batch-message", attrs: { rows: "1", placeholder: "Reject reason (sent to the agent)", "data-testid": "hitl-batch-message", "aria-label": "Reject reason" } }));

  /** @param {"approve" | "reject"} act */
  const decideSelected = (act) => {
    if (!selected.size) return;
    model.send({ type: "decide", token: model.get("token"), action: act, ids: [...selected], message: act === "reject" && message.value.trim() ? message.value : null });
    selected.clear();
  };

  const syncFilters = () => {
    const view = model.get("view") ?? {};
    const filter = view.filter ?? {};
    const facets = model.get("facets") ?? {};
    /** @param {HTMLSelectElement} select @param {[string | null, number][]} options @param {unknown} value @param {string} any */
    const fill = (select, options, value, any) => {
      select.replaceChildren(h("option", { text: any, attrs: { value: ANY } }));
      for (const [name, count] of options ?? []) select.append(h("option", { text: `${name ?? "(none)"} (${fmt(count)})`, attrs: { value: filterOption(name ?? NO_LABEL) } }));
      const chosen = filterOption(value);
      if (chosen !== ANY && ![...select.options].some((o) => o.value === chosen)) {
        select.append(h("option", { text: `${chosen === NONE ? "(none)" : String(value)} (0)`, attrs: { value: chosen } }));
      }
      select.value = chosen;
    };
    fill(action, facets.actions, filter.action, "any action");
    fill(risk, facets.risks, filter.risk, "any risk");
    status.value = filter.status ?? "pending";
    pageSize.value = String(view.page_size ?? 25);
    for (const [box, value] of /** @type {[HTMLInputElement, number | null][]} */ ([[minConf, filter.min_confidence], [maxConf, filter.max_confidence]])) {
      if (document.activeElement !== box) box.value = value === null || value === undefined ? "" : String(value);
    }
    if (document.activeElement !== text && typing === undefined) text.value = filter.text ?? "";
  };

  const drawTable = () => {
    const rows = model.get("rows") ?? [];
    const view = model.get("view") ?? {};
    const errors = model.get("errors") ?? {};
    const pendingOnPage = rows.filter((/** @type {any} */ r) => r.status === "pending");
    const all = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "aria-label": "Select all pending rows on this page", "data-testid": "hitl-batch-select-page" } }));
    all.checked = pendingOnPage.length > 0 && pendingOnPage.every((/** @type {any} */ r) => selected.has(r.id));
    all.disabled = pendingOnPage.length === 0;
    all.addEventListener("change", () => {
      for (const r of pendingOnPage) all.checked ? selected.add(r.id) : selected.delete(r.id);
      drawTable();
      drawBulk();
    });
    const head = h("tr", {}, [h("th", {}, [all]), h("th", { text: "#" })]);
    /** @param {string} key @param {string} label */
    const sortHeader = (key, label) => {
      const active = view.sort === key;
      const th = h("th", { attrs: { "aria-sort": active ? (view.descending ? "descending" : "ascending") : "none" } });
      const b = button(`${label}${active ? (view.descending ? " ▼" : " ▲") : ""}`, `hitl-batch-sort-${key}`, "hitl-batch-sort");
      b.setAttribute("aria-label", `Sort by ${label}`);
      b.addEventListener("click", () => sendQuery({ sort: key, descending: active ? !view.descending : false }));
      th.append(b);
      return th;
    };
    head.append(sortHeader("thread", "Thread"), sortHeader("action", "Action"), h("th", { text: "Arguments" }), sortHeader("risk", "Risk"),
      sortHeader("confidence", "Confidence"), h("th", { text: "Level" }), sortHeader("status", "Status"), h("th", { text: "" }));
    const body = h("tbody");
    for (const row of rows) {
      const pending = row.status === "pending";
      const tr = h("tr", { cls: `hitl-batch-row hitl-batch-${row.status}`, attrs: { "data-testid": "hitl-batch-row", "data-row-id": String(row.id), "data-status": String(row.status) } });
      const box = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "aria-label": `Select row ${row.id}: ${row.action}`, "data-testid": "hitl-batch-select" } }));
      box.checked = selected.has(row.id);
      box.disabled = !pending;
      box.addEventListener("change", () => {
        box.checked ? selected.add(row.id) : selected.delete(row.id);
        all.checked = pendingOnPage.every((/** @type {any} */ r) => selected.has(r.id));
        drawBulk();
      });
      const args = h("td", { cls: "hitl-batch-args", text: compact(row.args), attrs: { title: JSON.stringify(row.args, null, 2) } });
      if (row.final_args) args.append(h("div", { cls: "hitl-batch-edited", text: "edited:" }), changeList(row.changes ?? [], row.edit_distance));
      if (row.reason) args.append(h("div", { cls: "hitl-batch-reason", text: String(row.reason) }));
      const pct = typeof row.confidence === "number" ? Math.round(row.confidence * 100) : null;
      const confCell = h("td", { cls: "hitl-batch-conf", text: pct === null ? "–" : `${pct}%` });
      if (pct !== null) {
        const bar = h("span", { cls: "hitl-batch-bar", attrs: { "aria-hidden": "true" } });
        const fill = h("span", { cls: "hitl-batch-bar-fill" });
        fill.style.width = `${pct}%`;
        bar.append(fill);
        confCell.append(bar);
      }
      const level = String(row.level ?? "confirm");
      const edit = h("td");
      if (pending && (row.allowed ?? []).includes("edit")) {
        const b = button(editing === row.id ? "Close" : "Edit", "hitl-batch-edit");
        b.setAttribute("aria-label", `Edit row ${row.id}`);
        b.setAttribute("aria-expanded", String(editing === row.id));
        b.addEventListener("click", () => {
          editing = editing === row.id ? null : row.id;
          drawTable();
        });
        edit.append(b);
      }
      tr.append(h("td", {}, [box]), h("td", { text: String(row.id) }), h("td", { cls: "hitl-batch-thread", text: String(row.thread) }),
        h("td", { cls: "hitl-action", text: String(row.action) }), args, h("td", { text: row.risk ?? "–" }), confCell,
        h("td", {}, [h("span", { cls: `hitl-level hitl-level-${level}`, text: LEVELS[level] ?? level })]),
        h("td", { cls: "hitl-batch-status", text: `${row.status}${row.staged ? " (waiting for the rest of its batch)" : ""}` }), edit);
      body.append(tr);
      const error = errors[String(row.id)];
      if (error) body.append(h("tr", { cls: "hitl-batch-error-row" }, [h("td", { attrs: { colspan: "10" } }, [h("p", { cls: "hitl-error", text: String(error), attrs: { role: "alert", "data-testid": "hitl-batch-row-error" } })])]));
      if (editing === row.id && pending) body.append(editorRow(row));
    }
    if (!rows.length) body.append(h("tr", {}, [h("td", { cls: "hitl-batch-empty", text: "Nothing matches this filter.", attrs: { colspan: "10", "data-testid": "hitl-batch-empty" } })]));
    table.replaceChildren(h("thead", {}, [head]), body);
  };

  /** @param {any} row */
  const editorRow = (row) => {
    const props = row.args_schema?.properties ?? {};
    const editors = Object.entries(row.args ?? {}).map(([key, value], i) => fieldEditor(key, value, props[key] ?? {}, `${uid}-r${row.id}-f${i}`));
    const error = h("p", { cls: "hitl-error", attrs: { role: "alert" } });
    const save = button("Save edit", "hitl-batch-save", "hitl-approve");
    save.addEventListener("click", () => {
      /** @type {Record<string, unknown>} */
      const args = {};
      for (const e of editors) {
        try {
          args[e.key] = e.read();
        } catch (err) {
          error.textContent = `${e.key}: not valid JSON (${err instanceof Error ? err.message : String(err)})`;
          return;
        }
      }
      save.disabled = true;
      model.send({ type: "edit", token: model.get("token"), id: row.id, args });
    });
    const cancel = button("Cancel", "hitl-batch-cancel-edit");
    cancel.addEventListener("click", () => {
      editing = null;
      drawTable();
    });
    const panel = h("div", { cls: "hitl-batch-editor", attrs: { "data-testid": "hitl-batch-editor" } }, [...editors.map((e) => e.row), h("div", { cls: "hitl-buttons" }, [save, cancel]), error]);
    return h("tr", {}, [h("td", { attrs: { colspan: "10" } }, [panel])]);
  };

  const drawBulk = () => {
    const counts = model.get("counts") ?? {};
    const n = selected.size;
    const approve = button(`Approve selected (${fmt(n)})`, "hitl-batch-approve", "hitl-approve");
    const reject = button(`Reject selected (${fmt(n)})`, "hitl-batch-reject", "hitl-reject");
    approve.disabled = reject.disabled = n === 0;
    approve.addEventListener("click", () => decideSelected("approve"));
    reject.addEventListener("click", () => decideSelected("reject"));
    const clear = button("Clear selection", "hitl-batch-clear");
    clear.disabled = n === 0;
    clear.addEventListener("click", () => {
      selected.clear();
      drawTable();
      drawBulk();
    });
    const matching = button(`Approve all ${fmt(counts.approvable ?? 0)} matching…`, "hitl-batch-approve-matching");
    matching.disabled = !counts.approvable || Boolean((model.get("confirm") ?? {}).token);
    matching.addEventListener("click", () => {
      matching.disabled = true;
      model.send({ type: "prepare_matching", token: model.get("token") });
    });
    bulk.replaceChildren(h("span", { cls: "hitl-batch-selected", text: `${fmt(n)} selected`, attrs: { "data-testid": "hitl-batch-selected" } }), approve, reject, message, clear, matching);
  };

  const drawConfirm = () => {
    const confirm = model.get("confirm") ?? {};
    confirmBox.replaceChildren();
    confirmBox.hidden = !confirm.token;
    if (!confirm.token) return;
    const count = Number(confirm.count);
    const lines = [h("p", { cls: "hitl-batch-confirm-text", text: `Approve ${fmt(count)} pending actions matching ${confirm.described}? Each is logged on its own and goes back to its graph; this cannot be undone here.`, attrs: { "data-testid": "hitl-batch-confirm-text" } })];
    if (confirm.skipped) lines.push(h("p", { text: `${fmt(confirm.skipped)} matching items do not allow approve and stay pending.` }));
    const yes = button(`Approve ${fmt(count)}`, "hitl-batch-confirm-yes", "hitl-approve");
    const no = button("Cancel", "hitl-batch-confirm-no");
    yes.addEventListener("click", () => {
      yes.disabled = no.disabled = true;
      model.send({ type: "confirm_matching", token: confirm.token, count });
    });
    no.addEventListener("click", () => model.send({ type: "cancel_matching" }));
    confirmBox.append(...lines, h("div", { cls: "hitl-buttons" }, [yes, no]));
    if (confirm.token !== focusedConfirm) yes.focus(); // once per confirmation, not per redraw
    focusedConfirm = confirm.token;
  };

  const drawPager = () => {
    const view = model.get("view") ?? {};
    const counts = model.get("counts") ?? {};
    const page = Number(view.page ?? 0);
    const pages = Number(view.pages ?? 1);
    const size = Number(view.page_size ?? 25);
    const shown = (model.get("rows") ?? []).length;
    const prev = button("‹ Previous", "hitl-batch-prev");
    const next = button("Next ›", "hitl-batch-next");
    prev.disabled = page <= 0;
    next.disabled = page >= pages - 1;
    prev.addEventListener("click", () => sendQuery({ page: page - 1 }));
    next.addEventListener("click", () => sendQuery({ page: page + 1 }));
    const first = shown ? page * size + 1 : 0;
    pager.replaceChildren(prev, h("span", { text: `Page ${fmt(page + 1)} of ${fmt(pages)} · rows ${fmt(first)}–${fmt(page * size + shown)} of ${fmt(counts.matching ?? 0)}`, attrs: { "data-testid": "hitl-batch-page" } }), next);
    summary.textContent = `${fmt(counts.pending ?? 0)} pending · ${fmt(counts.decided ?? 0)} decided · ${fmt(counts.matching ?? 0)} match ${view.described ?? ""} · ${fmt(counts.threads ?? 0)} thread(s)`;
  };

  const draw = () => {
    const live = new Set((model.get("rows") ?? []).filter((/** @type {any} */ r) => r.status === "pending").map((/** @type {any} */ r) => r.id));
    if (editing !== null && !live.has(editing)) editing = null;
    syncFilters();
    drawTable();
    drawBulk();
    drawConfirm();
    drawPager();
    notice.textContent = model.get("notice") ?? "";
  };
  // Text typed in the search box counts as the filter once the model has echoed it.
  model.on("change:view", () => {
    typing = undefined;
    if ((model.get("view") ?? {}).seq === seq) wanted = null; // our last query is applied
  });
  // One state update changes several traits at once: draw once for all of them.
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      draw();
    });
  };
  draw();
  for (const name of TRAITS) model.on(`change:${name}`, schedule);
  return () => {
    clearTimeout(typing);
    for (const name of TRAITS) model.off(`change:${name}`, schedule);
  };
}

export default { render };
