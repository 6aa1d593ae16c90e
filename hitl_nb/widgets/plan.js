// hitl_nb plan view: review a shared plan, follow it, do your steps. shared.js (h, pretty)
// is put in front of this module (`_assets.py`). Agent output is untrusted: every string
// goes through textContent / DOM properties, never HTML parsing.
// Decisions are the review widget's messages ({type: "decision", request_id, nonce, ...}),
// validated in Python before anything resumes.

const MODES = ["plan", "step", "input"];
const OWNER_LABEL = { agent: "Agent", human: "You (human)" };
const DONE_BY = { agent: "done by the agent", human: "done by you", both: "agent draft, co-edited" };
const STATUS_MARK = { done: "✓", skipped: "–", todo: "○" };
const TRAITS = ["status", "requests", "plan", "errors", "emergency", "reviewer"];

/**
 * A form control (`h` from shared.js) whose keys stay its own: JupyterLab's notebook
 * shortcuts would otherwise take arrow keys on a menu and Enter on a button.
 * @param {string} tag
 * @param {{cls?: string, text?: string, attrs?: Record<string, string>}} [opts]
 * @param {Node[]} [children]
 * @returns {HTMLElement}
 */
function control(tag, opts = {}, children = []) {
  const el = h(tag, opts, children);
  el.setAttribute("data-lm-suppress-shortcuts", "true");
  return el;
}

/**
 * @param {string} text
 * @param {string} label  accessible name
 * @param {string} testid
 * @param {() => void} onClick
 * @param {string} [cls]
 * @returns {HTMLButtonElement}
 */
function button(text, label, testid, onClick, cls = "") {
  const b = /** @type {HTMLButtonElement} */ (control("button", {
    cls: `hitl-button ${cls}`.trim(), text, attrs: { type: "button", "aria-label": label, "data-testid": testid },
  }));
  b.addEventListener("click", onClick);
  return b;
}

/**
 * A labelled owner menu (a native select: keyboard accessible as is).
 * @param {string} value
 * @param {string} label
 * @param {string} testid
 * @returns {HTMLSelectElement}
 */
function ownerSelect(value, label, testid) {
  const select = /** @type {HTMLSelectElement} */ (control("select", { cls: "hitl-input hitl-owner", attrs: { "aria-label": label, "data-testid": testid } }));
  for (const owner of ["agent", "human"]) select.append(h("option", { text: OWNER_LABEL[owner], attrs: { value: owner } }));
  select.value = value;
  return select;
}

/** @param {unknown} value  (`pretty` from shared.js; nothing for null) */
function show(value) {
  return value === null || value === undefined ? "" : pretty(value);
}

/**
 * Evidence the agent gathered, with sources.
 * @param {{text: string, source: string | null}[]} evidence
 */
function evidenceList(evidence) {
  const list = h("ul", { cls: "hitl-plan-evidence", attrs: { "data-testid": "hitl-evidence", "aria-label": "Evidence from the agent" } });
  for (const item of evidence) {
    const li = h("li", { text: String(item.text) });
    if (item.source) li.append(h("span", { cls: "hitl-plan-source", text: ` (${item.source})` }));
    list.append(li);
  }
  return list;
}

/**
 * The answer box with the agent's options: "Use option n" fills it; you can edit it or
 * write your own. Returns how to read it.
 * @param {any} req
 * @param {any} local  this request's kept input (answer text, chosen option)
 * @param {string} label
 */
function answerBox(req, local, label) {
  const collab = req.collab ?? {};
  const structured = collab.schema && collab.schema.type !== "string";
  const options = req.args?.options ?? [];
  const wrap = h("div", { cls: "hitl-plan-answer" });
  const id = `hitl-answer-${String(req.request_id).replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const box = /** @type {HTMLTextAreaElement} */ (control("textarea", { cls: "hitl-input hitl-plan-answer-text", attrs: { id, rows: structured ? "6" : "4", "data-testid": "hitl-answer" } }));
  box.value = local.answer ?? "";
  box.placeholder = structured ? "Your answer as JSON" : "Write it here, or start from one of the agent's options";
  const chosen = h("p", { cls: "hitl-plan-chosen", attrs: { "data-testid": "hitl-chosen", "aria-live": "polite" } });
  const sayChosen = () => {
    chosen.textContent = local.option === null || local.option === undefined ? "Your own answer" : `Starting from option ${local.option + 1}${show(options[local.option]) === box.value ? "" : " (edited)"}`;
  };
  if (options.length) {
    const list = h("ol", { cls: "hitl-plan-options", attrs: { "data-testid": "hitl-options", "aria-label": "The agent's suggestions" } });
    options.forEach((/** @type {unknown} */ option, /** @type {number} */ i) => {
      list.append(h("li", { cls: "hitl-plan-option", attrs: { "data-testid": "hitl-option" } }, [
        h("pre", { cls: "hitl-plan-option-text", text: show(option) }),
        button("Use this", `Use option ${i + 1}`, "hitl-use-option", () => {
          box.value = show(option);
          local.answer = box.value;
          local.option = i;
          sayChosen();
          box.focus();
        }),
      ]));
    });
    wrap.append(h("p", { cls: "hitl-label", text: "The agent suggests (take one, edit it, or write your own):" }), list);
  }
  box.addEventListener("input", () => {
    local.answer = box.value;
    if (!box.value.trim()) local.option = null;
    sayChosen();
  });
  sayChosen();
  wrap.append(h("label", { cls: "hitl-label", text: label, attrs: { for: id } }), box, chosen);
  /** @returns {{value: unknown, option: number | null} | string} an answer, or what is wrong */
  const read = () => {
    if (!box.value.trim()) return "Write the answer first (or use one of the agent's options).";
    if (!structured) return { value: box.value, option: local.option ?? null };
    try {
      return { value: JSON.parse(box.value), option: local.option ?? null };
    } catch (err) {
      return `Not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    }
  };
  return { el: wrap, read, focus: () => box.focus() };
}

/**
 * The plan under review: every step editable, reorderable, assignable; one decision.
 * @param {any} req
 * @param {any} local
 * @param {(msg: object) => void} send
 * @param {HTMLElement} errorLine
 * @param {boolean} halted
 */
function planEditor(req, local, send, errorLine, halted) {
  const proposed = /** @type {any[]} */ (req.args.steps);
  if (!local.steps) local.steps = proposed.map((s) => ({ ...s, args: { ...s.args } }));
  /** @type {any[]} */
  const steps = local.steps;
  const box = h("section", { cls: "hitl-plan-editor", attrs: { "data-testid": "hitl-plan-editor", "aria-label": "Review the plan" } });
  if (req.reason) box.append(h("p", { cls: "hitl-reason", text: String(req.reason) }));
  const summary = h("p", { cls: "hitl-plan-summary", attrs: { "data-testid": "hitl-plan-summary", "aria-live": "polite" } });
  const list = h("ol", { cls: "hitl-plan-steps", attrs: { "data-testid": "hitl-plan-steps", "aria-label": "Plan steps" } });
  const announce = h("p", { cls: "hitl-sr", attrs: { "aria-live": "assertive" } });
  const byId = new Map(proposed.map((s) => [s.id, s]));

  const changed = () => {
    const same = steps.length === proposed.length && steps.every((s, i) => JSON.stringify(s) === JSON.stringify(proposed[i]));
    const agent = steps.filter((s) => s.owner === "agent").length;
    const reassigned = steps.filter((s) => byId.has(s.id) && s.owner !== byId.get(s.id).suggested).length;
    const added = steps.filter((s) => !byId.has(s.id)).length;
    const removed = proposed.filter((p) => !steps.some((s) => s.id === p.id)).length;
    const parts = [`${steps.length} steps: ${agent} for the agent, ${steps.length - agent} for you`];
    if (reassigned) parts.push(`${reassigned} reassigned`);
    if (added) parts.push(`${added} added`);
    if (removed) parts.push(`${removed} deleted`);
    if (!same && !reassigned && !added && !removed) parts.push("edited");
    summary.textContent = parts.join(" · ");
    submit.textContent = same ? "Start with this plan" : "Start with my edited plan";
    submit.setAttribute("aria-label", submit.textContent);
    return !same;
  };

  /** Each row, by step id, with how to give it a new position number (labels say it).
   * @type {Map<string, {li: HTMLElement, number: (n: number) => void}>} */
  const rows = new Map();
  /** @param {number} from @param {number} to */
  const renumber = (from, to) => {
    for (let i = Math.max(0, from); i < Math.min(to, steps.length); i += 1) rows.get(steps[i].id)?.number(i + 1);
  };
  /** @param {string} id @param {string} testid */
  const refocus = (id, testid) => {
    const li = rows.get(id)?.li;
    /** @type {HTMLElement | null | undefined} */ (li?.querySelector(`[data-testid=${testid}]`) ?? li?.querySelector("textarea"))?.focus();
  };

  /** @param {any} step @param {number} index */
  const row = (step, index) => {
    const li = h("li", { cls: `hitl-plan-step hitl-owner-${step.owner}`, attrs: { "data-testid": "hitl-plan-step", "data-step-id": String(step.id) } });
    const text = /** @type {HTMLTextAreaElement} */ (control("textarea", { cls: "hitl-input hitl-plan-text", attrs: { rows: "1", "data-testid": "hitl-step-text" } }));
    text.value = step.text;
    text.addEventListener("input", () => { step.text = text.value; changed(); });
    const owner = ownerSelect(step.owner, "", "hitl-step-owner");
    const suggestion = h("span", { cls: "hitl-plan-suggested", attrs: { "data-testid": "hitl-step-suggested" } });
    const saySuggestion = () => {
      li.className = `hitl-plan-step hitl-owner-${step.owner}`;
      if (!step.suggested) {
        suggestion.textContent = "added by you";
        return;
      }
      const overridden = step.owner !== step.suggested ? " · you changed this" : "";
      suggestion.textContent = `Agent suggests: ${OWNER_LABEL[step.suggested]}${step.why ? ` (${step.why})` : ""}${overridden}`;
      suggestion.classList.toggle("hitl-plan-overridden", step.owner !== step.suggested);
    };
    owner.addEventListener("change", () => { step.owner = owner.value; saySuggestion(); changed(); });
    saySuggestion();
    const position = h("span", { cls: "hitl-plan-n" });
    const head = h("div", { cls: "hitl-plan-step-head" }, [position, text, owner]);
    const meta = h("div", { cls: "hitl-plan-step-meta" }, [suggestion]);
    /** @type {HTMLTextAreaElement | null} */
    let args = null;
    if (step.tool) {
      meta.append(h("span", { cls: "hitl-plan-tool", text: `tool: ${step.tool}` }));
      args = /** @type {HTMLTextAreaElement} */ (control("textarea", { cls: "hitl-input hitl-plan-args", attrs: { rows: "1", "data-testid": "hitl-step-args" } }));
      const argsBox = args;
      argsBox.value = JSON.stringify(step.args);
      argsBox.addEventListener("input", () => {
        try {
          step.args = JSON.parse(argsBox.value);
          argsBox.removeAttribute("aria-invalid");
        } catch {
          argsBox.setAttribute("aria-invalid", "true");
        }
        changed();
      });
      meta.append(argsBox);
    }
    for (const [key, label] of /** @type {const} */ ([["check", "pause before the agent runs it"], ["coedit", "co-edit the result"]])) {
      const box = /** @type {HTMLInputElement} */ (control("input", { attrs: { type: "checkbox", "data-testid": `hitl-step-${key}` } }));
      box.checked = Boolean(step[key]);
      box.addEventListener("change", () => { step[key] = box.checked; changed(); });
      meta.append(h("label", { cls: "hitl-plan-flag" }, [box, document.createTextNode(` ${label}`)]));
    }
    // Moving a row moves its node and renumbers the two rows concerned: a long plan
    // is not redrawn for one move (benchmarks/bench_collab.py).
    const move = (/** @type {number} */ by) => () => {
      const at = steps.indexOf(step);
      const to = at + by;
      if (to < 0 || to >= steps.length) return;
      steps.splice(at, 1);
      steps.splice(to, 0, step);
      if (by < 0) list.insertBefore(li, li.previousSibling);
      else list.insertBefore(/** @type {Node} */ (li.nextSibling), li);
      renumber(Math.min(at, to), Math.max(at, to) + 1);
      refocus(step.id, by < 0 ? "hitl-step-up" : "hitl-step-down");
      announce.textContent = `Step "${step.text}" moved to position ${to + 1} of ${steps.length}`;
      changed();
    };
    const up = button("↑", "", "hitl-step-up", move(-1));
    const down = button("↓", "", "hitl-step-down", move(1));
    const remove = button("Delete", "", "hitl-step-delete", () => {
      if (steps.length === 1) {
        errorLine.textContent = "A plan needs at least one step: reject the plan instead.";
        return;
      }
      const at = steps.indexOf(step);
      steps.splice(at, 1);
      li.remove();
      rows.delete(step.id);
      renumber(at, steps.length);
      refocus(steps[Math.min(at, steps.length - 1)].id, "hitl-step-delete");
      announce.textContent = `Step "${step.text}" deleted`;
      changed();
    });
    li.append(head, meta, h("div", { cls: "hitl-plan-step-tools" }, [up, down, remove]));
    /** @param {number} n */
    const number = (n) => {
      position.textContent = `${n}.`;
      text.setAttribute("aria-label", `Step ${n} text`);
      owner.setAttribute("aria-label", `Who does step ${n}`);
      args?.setAttribute("aria-label", `Step ${n} tool arguments (JSON)`);
      up.setAttribute("aria-label", `Move step ${n} up`);
      down.setAttribute("aria-label", `Move step ${n} down`);
      remove.setAttribute("aria-label", `Delete step ${n}`);
    };
    number(index + 1);
    rows.set(step.id, { li, number });
    return li;
  };

  /** Draw the whole list (first, and after a reset). */
  const drawSteps = () => {
    rows.clear();
    list.replaceChildren(...steps.map((s, i) => row(s, i)));
  };

  // Add a step of your own.
  const newText = /** @type {HTMLTextAreaElement} */ (control("textarea", { cls: "hitl-input hitl-plan-new", attrs: { rows: "1", "aria-label": "New step text", "data-testid": "hitl-new-step-text", placeholder: "A step of your own" } }));
  const newOwner = ownerSelect("human", "Who does the new step", "hitl-new-step-owner");
  const add = button("Add step", "Add step", "hitl-add-step", () => {
    if (!newText.value.trim()) {
      errorLine.textContent = "Write the new step first.";
      newText.focus();
      return;
    }
    const taken = new Set(steps.map((s) => s.id).concat(proposed.map((s) => s.id)));
    let k = 1;
    while (taken.has(`h${k}`)) k += 1;
    steps.push({ id: `h${k}`, text: newText.value, owner: newOwner.value, suggested: null, why: null, tool: null, args: {}, judgement: false, check: false, coedit: false });
    newText.value = "";
    list.append(row(steps[steps.length - 1], steps.length - 1));
    announce.textContent = `Step added at position ${steps.length}`;
    changed();
  });
  const adder = h("div", { cls: "hitl-plan-add" }, [newText, newOwner, add]);

  const rejectText = /** @type {HTMLTextAreaElement} */ (control("textarea", { cls: "hitl-input hitl-plan-reject-text", attrs: { rows: "1", "aria-label": "Why you reject the plan (optional)", "data-testid": "hitl-plan-reject-text", placeholder: "Why not (optional)" } }));
  /** @param {string} action @param {object} extra */
  const decide = (action, extra) => {
    for (const b of [submit, reject, reset]) b.disabled = true;
    errorLine.textContent = "";
    send({ type: "decision", request_id: String(req.request_id), nonce: req.nonce, action, args: null, message: null, rating: null, comment: null, ...extra });
  };
  const submit = button("Start with this plan", "Start with this plan", "hitl-plan-submit", () => {
    if (steps.some((s) => !String(s.text).trim())) {
      errorLine.textContent = "A step has no text: write it, or delete the step.";
      return;
    }
    if (changed()) decide("edit", { args: { steps } });
    else decide("approve", {});
  }, "hitl-approve");
  const reset = button("Reset to the agent's proposal", "Reset to the agent's proposal", "hitl-plan-reset", () => {
    local.steps = proposed.map((s) => ({ ...s, args: { ...s.args } }));
    steps.splice(0, steps.length, ...local.steps);
    local.steps = steps;
    drawSteps();
    changed();
  });
  const reject = button("Reject plan", "Reject plan", "hitl-plan-reject", () => decide("reject", { message: rejectText.value.trim() ? rejectText.value : null }), "hitl-reject");
  if (halted) for (const b of [submit, reject]) b.disabled = true;
  drawSteps();
  box.append(summary, list, announce, adder, h("div", { cls: "hitl-buttons" }, [submit, reset]), h("div", { cls: "hitl-plan-rejectrow" }, [rejectText, reject]));
  changed();
  return box;
}

/**
 * The plan as it runs: each step's status, owner, who did it and the result; the steps
 * still to do can be reassigned when `owners` is given (paused on a step).
 * @param {any} plan
 * @param {string | null} current
 * @param {Record<string, string> | null} owners  your reassignment so far (mutated)
 * @param {() => void} onChange
 */
function progress(plan, current, owners, onChange) {
  const list = h("ol", { cls: "hitl-plan-steps hitl-plan-progress", attrs: { "data-testid": "hitl-plan-progress", "aria-label": "Plan progress" } });
  (plan.steps ?? []).forEach((/** @type {any} */ s, /** @type {number} */ i) => {
    const state = s.id === current ? "current" : s.status;
    const li = h("li", { cls: `hitl-plan-step hitl-plan-${state} hitl-owner-${s.owner}`, attrs: { "data-testid": "hitl-plan-step", "data-step-id": String(s.id), "data-status": String(state) } });
    const mark = state === "current" ? "▶" : STATUS_MARK[/** @type {"done" | "skipped" | "todo"} */ (s.status)] ?? "";
    li.append(h("span", { cls: "hitl-plan-mark", text: mark, attrs: { "aria-hidden": "true" } }));
    li.append(h("span", { cls: "hitl-plan-text-ro", text: `${i + 1}. ${s.text}` }));
    if (owners && s.status === "todo" && s.id in owners && s.id !== current) {
      const select = ownerSelect(owners[s.id], `Who does step ${i + 1}`, "hitl-step-owner");
      select.addEventListener("change", () => { owners[s.id] = select.value; onChange(); });
      li.append(select);
    } else {
      li.append(h("span", { cls: "hitl-plan-badge", text: OWNER_LABEL[/** @type {"agent" | "human"} */ (s.owner)] ?? String(s.owner) }));
    }
    if (s.status === "done") li.append(h("span", { cls: "hitl-plan-doneby", text: DONE_BY[/** @type {"agent" | "human" | "both"} */ (s.done_by)] ?? "" }));
    if (s.status === "skipped") li.append(h("span", { cls: "hitl-plan-doneby", text: `skipped${s.note ? `: ${s.note}` : ""}` }));
    if (s.status === "done" && s.result !== null && s.result !== undefined) {
      li.append(h("details", { cls: "hitl-plan-result" }, [h("summary", { text: "result" }), h("pre", { text: show(s.result), attrs: { "data-testid": "hitl-step-result" } })]));
    }
    list.append(li);
  });
  return list;
}

/**
 * Paused on a step: do it (with the agent's options), hand it back, take it over, skip it,
 * and reassign the steps still to do.
 * @param {any} req
 * @param {any} local
 * @param {(msg: object) => void} send
 * @param {HTMLElement} errorLine
 * @param {boolean} halted
 */
function stepPanel(req, local, send, errorLine, halted) {
  const collab = req.collab;
  const plan = collab.plan;
  const sid = String(collab.step);
  const step = plan.steps.find((/** @type {any} */ s) => s.id === sid);
  const proposedOwners = /** @type {Record<string, string>} */ (req.args.owners);
  if (!local.owners) local.owners = { ...proposedOwners };
  const owners = /** @type {Record<string, string>} */ (local.owners);
  const mine = step.owner === "human";
  const panel = h("section", { cls: `hitl-plan-panel hitl-owner-${step.owner}`, attrs: { "data-testid": "hitl-step-panel", "data-step-id": sid, "aria-label": mine ? "Your step" : "Check the agent's step" } });
  panel.append(h("p", { cls: "hitl-plan-panel-title", text: String(req.reason ?? step.text), attrs: { "data-testid": "hitl-step-title" } }));
  if (req.preview) panel.append(h("pre", { cls: "hitl-preview", text: String(req.preview) }));
  if ((collab.evidence ?? []).length) panel.append(evidenceList(collab.evidence));
  const others = () => Object.keys(owners).filter((k) => k !== sid && owners[k] !== proposedOwners[k]);
  const reassign = button("Reassign the other steps", "Reassign the other steps now", "hitl-step-reassign", () => {
    decide("edit", { args: { ...req.args, owners } });
  });
  const sayOthers = () => {
    reassign.disabled = halted || others().length === 0;
    reassign.textContent = others().length ? `Reassign ${others().length} other step${others().length > 1 ? "s" : ""} now` : "Reassign the other steps";
  };
  /** @type {HTMLButtonElement[]} */
  const all = [];
  /** @param {string} action @param {object} extra */
  const decide = (action, extra) => {
    for (const b of all) b.disabled = true;
    errorLine.textContent = "";
    send({ type: "decision", request_id: String(req.request_id), nonce: req.nonce, action, args: null, message: null, rating: null, comment: null, ...extra });
  };
  const buttons = h("div", { cls: "hitl-buttons" });
  if (mine) {
    const answer = answerBox(req, local, "Your result for this step");
    panel.append(answer.el);
    all.push(button("Submit result", `Submit your result for step ${plan.steps.indexOf(step) + 1}`, "hitl-step-submit", () => {
      const got = answer.read();
      if (typeof got === "string") {
        errorLine.textContent = got;
        answer.focus();
        return;
      }
      decide("input", { args: { ...got, ...(others().length ? { owners: { ...owners, [sid]: proposedOwners[sid] } } : {}) } });
    }, "hitl-approve"));
    all.push(button("Hand back to the agent", "Hand this step back to the agent", "hitl-step-handback", () => {
      decide("edit", { args: { ...req.args, owners: { ...owners, [sid]: "agent" } } });
    }));
  } else {
    all.push(button("Let the agent do it", "Let the agent do this step", "hitl-step-approve", () => {
      if (others().length) decide("edit", { args: { ...req.args, owners: { ...owners, [sid]: "agent" } } });
      else decide("approve", {});
    }, "hitl-approve"));
    all.push(button("Take over", "Take over this step", "hitl-step-takeover", () => {
      decide("edit", { args: { ...req.args, owners: { ...owners, [sid]: "human" } } });
    }));
  }
  all.push(button("Skip step", "Skip this step", "hitl-step-skip", () => decide("reject", {}), "hitl-reject"));
  // An agent step goes ahead with the reassignment; a step of yours stays paused on.
  if (mine) all.push(reassign);
  for (const b of all) buttons.append(b);
  if (halted) for (const b of all) b.disabled = true;
  panel.append(buttons);
  sayOthers();
  return { panel, owners, onChange: sayOthers };
}

/**
 * Human leads: write the answer, the agent assisting with options and evidence.
 * @param {any} req
 * @param {any} local
 * @param {(msg: object) => void} send
 * @param {HTMLElement} errorLine
 * @param {boolean} halted
 */
function inputPanel(req, local, send, errorLine, halted) {
  const collab = req.collab;
  const panel = h("section", { cls: "hitl-plan-panel hitl-owner-human", attrs: { "data-testid": "hitl-input-panel", "aria-label": "You lead: write the answer" } });
  panel.append(h("p", { cls: "hitl-plan-panel-title", text: String(collab.prompt), attrs: { "data-testid": "hitl-input-prompt" } }));
  if (req.reason) panel.append(h("p", { cls: "hitl-reason", text: String(req.reason) }));
  if ((collab.evidence ?? []).length) panel.append(evidenceList(collab.evidence));
  const answer = answerBox(req, local, "Your answer");
  panel.append(answer.el);
  /** @type {HTMLButtonElement[]} */
  const all = [];
  /** @param {string} action @param {object} extra */
  const decide = (action, extra) => {
    for (const b of all) b.disabled = true;
    errorLine.textContent = "";
    send({ type: "decision", request_id: String(req.request_id), nonce: req.nonce, action, args: null, message: null, rating: null, comment: null, ...extra });
  };
  all.push(button("Submit answer", "Submit your answer", "hitl-input-submit", () => {
    const got = answer.read();
    if (typeof got === "string") {
      errorLine.textContent = got;
      answer.focus();
      return;
    }
    decide("input", { args: got });
  }, "hitl-approve"));
  if ((req.allowed ?? []).includes("reject")) all.push(button("Decline", "Decline to answer", "hitl-input-decline", () => decide("reject", {}), "hitl-reject"));
  if (halted) for (const b of all) b.disabled = true;
  panel.append(h("div", { cls: "hitl-buttons" }, all));
  return panel;
}

/** @type {import("npm:@anywidget/types").Render} */
function render({ model, el }) {
  const root = h("div", { cls: "hitl-root hitl-plan-root", attrs: { "data-testid": "hitl-plan" } });
  el.append(root);
  /** What the reviewer has done on each request so far (kept across redraws). */
  const locals = new Map();
  const send = (/** @type {object} */ msg) => model.send(msg);

  const draw = () => {
    const requests = /** @type {any[]} */ (model.get("requests") ?? []);
    const active = requests.find((r) => MODES.includes(r.collab?.mode));
    const plan = model.get("plan") ?? {};
    const errors = model.get("errors") ?? {};
    const halted = Boolean(model.get("emergency"));
    for (const key of [...locals.keys()]) if (key !== active?.request_id) locals.delete(key);
    root.replaceChildren();
    root.dataset.status = model.get("status");
    const mode = active?.collab?.mode ?? (plan.steps ? "progress" : "none");
    root.dataset.mode = mode;
    const title = mode === "input" ? "You lead" : `Shared plan${plan.goal ? `: ${plan.goal}` : ""}`;
    const level = String(active?.level ?? "");
    root.append(h("div", { cls: "hitl-topline" }, [
      ...(level ? [h("span", { cls: `hitl-level hitl-level-${level}`, text: LEVELS[/** @type {keyof LEVELS} */ (level)] ?? level, attrs: { "data-testid": "hitl-level" } })] : []),
      h("span", { cls: "hitl-title", text: title, attrs: { "data-testid": "hitl-plan-title" } }),
      h("span", { cls: "hitl-status", text: mode === "plan" ? "plan to review" : String(plan.status ?? model.get("status")), attrs: { "data-testid": "hitl-plan-status" } }),
    ]));
    if (halted) root.append(h("p", { cls: "hitl-emergency", text: `${model.get("emergency")}. Nothing resumes until hitl_nb.resume_all().`, attrs: { role: "alert" } }));
    const errorLine = h("p", { cls: "hitl-error", text: active ? errors[active.request_id] ?? "" : "", attrs: { role: "alert", "data-testid": "hitl-plan-error" } });
    if (active && !locals.has(active.request_id)) locals.set(active.request_id, {});
    const local = active ? locals.get(active.request_id) : {};
    if (mode === "plan") {
      root.append(planEditor(active, local, send, errorLine, halted));
    } else if (mode === "input") {
      root.append(inputPanel(active, local, send, errorLine, halted));
    } else if (mode === "step") {
      const { panel, owners, onChange } = stepPanel(active, local, send, errorLine, halted);
      root.append(progress(active.collab.plan, String(active.collab.step), owners, onChange), panel);
    } else if (plan.steps) {
      root.append(progress(plan, null, null, () => {}));
      if (plan.status === "rejected") root.append(h("p", { cls: "hitl-error", text: `Plan rejected${plan.message ? `: ${plan.message}` : ""}`, attrs: { "data-testid": "hitl-plan-rejected" } }));
    } else {
      root.append(h("p", { cls: "hitl-reason", text: "No plan in this run yet." }));
    }
    root.append(errorLine);
    if (errors[""]) root.append(h("p", { cls: "hitl-error", text: errors[""], attrs: { role: "alert", "data-testid": "hitl-refusal" } }));
  };
  draw();
  for (const name of TRAITS) model.on(`change:${name}`, draw);
  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, draw);
  };
}

export default { render };
