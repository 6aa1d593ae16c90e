// hitl_nb review widget. Agent output is untrusted: every string goes through
// textContent / DOM properties, never through HTML parsing.

const ACTION_LABELS = { approve: "Approve", edit: "Edit", reject: "Reject", respond: "Respond" };
const TRAITS = ["status", "requests", "history", "history_total", "pending_total", "errors", "problems", "result", "error", "submit_token",
  "emergency", "stopped", "stop_token", "undo_token", "undo_request_id", "retry_token", "notice", "override_errors", "overrides", "reviewer", "delegated"];
const PAST = {
  approve: "Approved", edit: "Edited", reject: "Rejected", respond: "Responded",
  stop: "Stopped", redirect: "Redirected", override: "Done by hand",
  revise: "Sent back for revision:", input: "Answered",
};

/**
 * @param {any} req
 * @param {(msg: object) => void} send
 * @param {Map<string, any>} drafts
 * @param {string} error
 * @param {string} halted  the engaged emergency stop ("" when none): decisions are refused
 * @param {boolean} overrides  Redirect and Done by hand are offered (LangGraph sessions)
 */
function requestCard(req, send, drafts, error, halted = "", overrides = true) {
  const rid = String(req.request_id);
  const uid = `hitl-${rid.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const card = h("section", {
    cls: "hitl-card",
    attrs: { "data-testid": "hitl-request", "data-request-id": rid, "aria-label": `Review ${req.action}` },
  });

  const level = String(req.level ?? "confirm");
  const header = h("div", { cls: "hitl-header" }, [
    h("span", { cls: `hitl-level hitl-level-${level}`, text: LEVELS[level] ?? level, attrs: { "data-testid": "hitl-level" } }),
    h("span", { cls: "hitl-action", text: String(req.action), attrs: { "data-testid": "hitl-action" } }),
  ]);
  if (req.risk) header.append(h("span", { cls: "hitl-risk", text: `risk: ${req.risk}`, attrs: { "data-testid": "hitl-risk" } }));
  card.append(header);

  if (req.reason) card.append(h("p", { cls: "hitl-reason", text: String(req.reason), attrs: { "data-testid": "hitl-reason" } }));
  const gates = req.gates ?? [];
  if (gates.length) {
    // Why it stopped: every gate that fired, with the values that triggered it.
    const list = h("ul", { cls: "hitl-gates", attrs: { "data-testid": "hitl-gates", "aria-label": "Why this action stopped" } });
    for (const g of gates) {
      list.append(h("li", { text: `${g.reason} (${g.gate})`, attrs: { "data-gate": String(g.gate), "data-level": String(g.level) } }));
    }
    card.append(h("p", { cls: "hitl-gate", text: "Stopped by:" }), list);
  } else if (req.gate || req.gate_reason) {
    card.append(h("p", { cls: "hitl-gate", text: `Stopped by ${req.gate ?? "gate"}: ${req.gate_reason ?? ""}`, attrs: { "data-testid": "hitl-gate" } }));
  }
  if ((req.required_roles ?? []).length || req.approvals_needed > 1) {
    const who = [];
    if (req.required_roles.length) who.push(`role ${req.required_roles.join(" + ")}`);
    if (req.approvals_needed > 1) who.push(`${req.approvals_needed} different approvers`);
    if (req.approvals) who.push(`so far ${req.approvals.text}`);
    card.append(h("p", { cls: "hitl-who", text: `Who may approve: ${who.join("; ")}`, attrs: { "data-testid": "hitl-who" } }));
  }
  if (typeof req.confidence === "number") {
    const pct = Math.round(req.confidence * 100);
    const bar = h("div", { cls: "hitl-bar", attrs: { role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": "Agent confidence", "data-testid": "hitl-confidence" } });
    const fill = h("div", { cls: "hitl-bar-fill" });
    fill.style.width = `${pct}%`;
    bar.append(fill);
    card.append(h("div", { cls: "hitl-confidence" }, [h("span", { text: `Confidence ${pct}%` }), bar]));
  }
  // How this confidence has fared for this action (from the log), and the trust level.
  if (req.track_record?.text) card.append(h("p", { cls: "hitl-track", text: String(req.track_record.text), attrs: { "data-testid": "hitl-track-record" } }));
  if (req.trust?.reason) {
    const trustLevel = String(req.trust.level ?? "");
    const progress = req.trust.progress ? ` ${req.trust.progress}` : "";
    card.append(h("p", { cls: "hitl-trust", text: `Trust: ${LEVELS[trustLevel] ?? trustLevel}.${progress}`, attrs: { "data-testid": "hitl-trust", "data-level": trustLevel, title: String(req.trust.reason) } }));
  }
  if (req.deadline) {
    card.append(h("p", { cls: "hitl-deadline", text: `Decide by ${new Date(req.deadline).toLocaleString()} (then: default applies)`, attrs: { "data-testid": "hitl-deadline" } }));
  }
  const coedit = req.coedit ?? null; // a draft co-edited with the agent (hitl_nb._collab)
  if (coedit) card.append(coeditHeader(req, coedit));
  if (req.preview && !(coedit && req.preview === req.args?.[coedit.field])) card.append(h("pre", { cls: "hitl-preview", text: String(req.preview), attrs: { "data-testid": "hitl-preview" } }));

  const draft = drafts.get(rid) ?? {};
  const props = req.args_schema?.properties ?? {};
  const editors = Object.entries(req.args ?? {}).map(([key, value], i) =>
    ({ key, ...fieldEditor(key, value, props[key] ?? {}, `${uid}-f${i}`, draft[key]) }));
  const blocked = req.blocked ?? {};
  const canEdit = (req.allowed ?? []).includes("edit") && !blocked.edit;
  if (editors.length) {
    const fields = h("fieldset", { cls: "hitl-args", attrs: { "data-testid": "hitl-args" } }, [h("legend", { text: canEdit ? "Arguments (editable)" : "Arguments" })]);
    for (const e of editors) {
      e.input.disabled = !canEdit;
      fields.append(e.row);
    }
    card.append(fields);
  }
  /** @type {HTMLTextAreaElement | null} */
  let note = null;
  if (coedit) note = coeditTools(req, coedit, editors, send, card, draft);

  const wantsText = (req.allowed ?? []).some((/** @type {string} */ a) => a === "reject" || a === "respond");
  const message = document.createElement("textarea");
  message.id = `${uid}-message`;
  message.className = "hitl-input hitl-message";
  message.rows = 2;
  message.placeholder = "Message to the agent (reject reason, response, or what you did by hand)";
  message.dataset.testid = "hitl-message";
  message.value = draft.__message ?? "";
  if (wantsText) card.append(h("div", { cls: "hitl-field" }, [h("label", { cls: "hitl-label", text: "Message", attrs: { for: message.id } }), message]));

  const rating = document.createElement("input");
  rating.type = "range";
  rating.min = "1";
  rating.max = "5";
  rating.step = "1";
  rating.id = `${uid}-rating`;
  rating.dataset.testid = "hitl-rating";
  rating.setAttribute("aria-label", "Feedback rating from 1 to 5");
  let rated = draft.__rating !== undefined && draft.__rating !== null;
  rating.value = rated ? String(draft.__rating) : "3";
  const ratingText = h("span", { cls: "hitl-rating-value", text: rated ? `${rating.value}/5` : "not rated" });
  rating.addEventListener("input", () => {
    rated = true;
    ratingText.textContent = `${rating.value}/5`;
  });
  const comment = document.createElement("textarea");
  comment.id = `${uid}-comment`;
  comment.className = "hitl-input hitl-comment";
  comment.rows = 1;
  comment.placeholder = "Comment (optional, stored in the feedback log)";
  comment.dataset.testid = "hitl-comment";
  comment.value = draft.__comment ?? "";
  card.append(h("div", { cls: "hitl-feedback" }, [
    h("label", { cls: "hitl-label", text: "Feedback", attrs: { for: rating.id } }), rating, ratingText,
    h("label", { cls: "hitl-label hitl-sr", text: "Comment", attrs: { for: comment.id } }), comment,
  ]));

  const errorLine = h("p", { cls: "hitl-error", text: error, attrs: { role: "alert", "data-testid": "hitl-error" } });
  const badField = /^invalid edit of ([^:/]+)/.exec(error)?.[1];
  for (const e of editors) {
    if (e.key === badField) {
      e.input.setAttribute("aria-invalid", "true");
      e.input.setAttribute("aria-describedby", `${uid}-error`);
    }
  }
  errorLine.id = `${uid}-error`;

  const saveDraft = () => {
    /** @type {Record<string, any>} */
    const d = {};
    for (const e of editors) {
      d[e.key] = e.input instanceof HTMLInputElement && e.input.type === "checkbox" ? e.input.checked : e.input.value;
    }
    d.__message = message.value;
    d.__comment = comment.value;
    d.__redirect = redirectText.value;
    d.__rating = rated ? Number(rating.value) : null;
    if (note) d.__note = note.value;
    drafts.set(rid, d);
  };
  card.addEventListener("input", saveDraft);

  const buttons = h("div", { cls: "hitl-buttons" });
  /** @type {HTMLButtonElement[]} */
  const all = [];
  /** @param {string} action */
  const submit = (action) => {
    /** @type {Record<string, unknown> | null} */
    let args = null;
    if (action === "edit" || action === "revise" || (action === "override" && canEdit)) {
      args = {};
      for (const e of editors) {
        try {
          args[e.key] = e.read();
        } catch (err) {
          errorLine.textContent = `${e.key}: not valid JSON (${err instanceof Error ? err.message : String(err)})`;
          return;
        }
      }
    }
    if (action === "revise" && note && !note.value.trim()) {
      errorLine.textContent = "Write a note first: what the agent should change in the next draft.";
      note.focus();
      return;
    }
    if (action === "respond" && !message.value.trim()) {
      errorLine.textContent = "Write the response in the message box first.";
      message.focus();
      return;
    }
    if (action === "override" && !message.value.trim()) {
      errorLine.textContent = "Write what you did, the result the agent should get, in the message box first.";
      message.focus();
      return;
    }
    for (const b of all) b.disabled = true; // one click, one decision
    errorLine.textContent = "";
    card.classList.add("hitl-submitting");
    send({
      type: "decision",
      request_id: rid,
      nonce: req.nonce,
      action,
      args,
      message: action === "revise" && note ? note.value : message.value.trim() ? message.value : null,
      rating: rated ? Number(rating.value) : null,
      comment: comment.value.trim() ? comment.value : null,
    });
  };
  for (const action of ["approve", "edit", "reject", "respond"]) {
    if (!(req.allowed ?? []).includes(action)) continue;
    if (action === "edit" && !editors.length) continue;
    const button = /** @type {HTMLButtonElement} */ (h("button", {
      cls: `hitl-button hitl-${action}`,
      text: ACTION_LABELS[action],
      attrs: { type: "button", "data-testid": `hitl-${action}`, "aria-label": `${ACTION_LABELS[action]} ${req.action}` },
    }));
    button.addEventListener("click", () => submit(action));
    all.push(button);
    buttons.append(button);
  }
  if (coedit?.can_revise) {
    const revise = /** @type {HTMLButtonElement} */ (h("button", {
      cls: "hitl-button hitl-revise",
      text: "Ask the agent to revise",
      attrs: { type: "button", "data-testid": "hitl-revise", "aria-label": `Ask the agent to revise ${req.action} with the note` },
    }));
    revise.addEventListener("click", () => submit("revise"));
    all.push(revise);
    buttons.append(revise);
  }
  // Manual override: the reviewer did it; the agent gets the message as the result.
  if (overrides && (req.allowed ?? []).includes("respond")) {
    const byHand = /** @type {HTMLButtonElement} */ (h("button", {
      cls: "hitl-button hitl-override",
      text: "Done by hand",
      attrs: { type: "button", "data-testid": "hitl-override", "aria-label": `Done by hand: ${req.action}`, title: "I did this myself (with the values above); the message is the result the agent receives" },
    }));
    byHand.addEventListener("click", () => submit("override"));
    all.push(byHand);
    buttons.append(byHand);
  }

  // Redirect: change course instead of deciding; the action does not run.
  const redirectText = document.createElement("textarea");
  redirectText.id = `${uid}-redirect`;
  redirectText.className = "hitl-input hitl-redirect-text";
  redirectText.rows = 1;
  redirectText.placeholder = "New instructions for the agent, instead of this action";
  redirectText.dataset.testid = "hitl-redirect-text";
  redirectText.value = draft.__redirect ?? "";
  const redirect = /** @type {HTMLButtonElement} */ (h("button", {
    cls: "hitl-button hitl-redirect",
    text: "Redirect",
    attrs: { type: "button", "data-testid": "hitl-redirect", "aria-label": `Redirect instead of ${req.action}` },
  }));
  redirect.addEventListener("click", () => {
    if (!redirectText.value.trim()) {
      errorLine.textContent = "Write the new instructions first.";
      redirectText.focus();
      return;
    }
    for (const b of all) b.disabled = true;
    errorLine.textContent = "";
    card.classList.add("hitl-submitting");
    send({ type: "redirect", request_id: rid, nonce: req.nonce, instructions: redirectText.value });
  });
  all.push(redirect);
  const redirectRow = h("div", { cls: "hitl-field hitl-redirect-row" }, [
    h("label", { cls: "hitl-label", text: "Change course", attrs: { for: redirectText.id } }),
    h("div", { cls: "hitl-redirect-box" }, [redirectText, redirect]),
  ]);
  // Decisions this reviewer may not take: disabled, with the reason (Python refuses anyway).
  for (const button of all) {
    const reason = blocked[button.dataset.testid?.slice(5) ?? ""];
    if (reason) {
      button.disabled = true;
      button.title = reason;
    }
  }
  const reasons = [...new Set(Object.values(blocked))];
  if (reasons.length) card.append(h("p", { cls: "hitl-blocked", text: reasons.join(" "), attrs: { "data-testid": "hitl-blocked" } }));
  if (halted) {
    for (const b of all) {
      b.disabled = true;
      b.title = `${halted}: nothing resumes until hitl_nb.resume_all()`;
    }
  }
  card.append(buttons);
  if (overrides) card.append(redirectRow);
  card.append(errorLine);
  return card;
}

/**
 * Co-editing: the agent's draft, what the agent changed since your last version, the round.
 * @param {any} req
 * @param {any} coedit
 */
function coeditHeader(req, coedit) {
  const box = h("div", { cls: "hitl-coedit", attrs: { "data-testid": "hitl-coedit" } });
  const round = coedit.round ? ` · round ${coedit.round} of at most ${coedit.max_rounds}` : "";
  box.append(h("p", { cls: "hitl-label", text: `The agent's draft${round}`, attrs: { "data-testid": "hitl-coedit-round" } }));
  box.append(h("pre", { cls: "hitl-preview", text: String(req.args?.[coedit.field] ?? ""), attrs: { "data-testid": "hitl-coedit-draft", "aria-label": "The agent's draft" } }));
  const previous = coedit.previous;
  if (previous) {
    const diff = h("div", { cls: "hitl-text-diff hitl-coedit-diff", attrs: { "data-testid": "hitl-coedit-previous", "aria-label": "What the agent changed since your version" } });
    fillDiff(previous.diff ?? [], diff);
    box.append(h("p", { cls: "hitl-label", text: `What the agent changed since your version (your note: ${previous.note ?? ""})` }), diff);
  }
  return box;
}

/**
 * Co-editing tools under the editors: a live word diff of your version against the agent's
 * draft (computed in Python by _diff.text_diff), and the note for a revision.
 * @param {any} req
 * @param {any} coedit
 * @param {{key: string, input: HTMLElement}[]} editors
 * @param {(msg: object) => void} send
 * @param {HTMLElement} card
 * @param {Record<string, any>} draft
 * @returns {HTMLTextAreaElement | null}
 */
function coeditTools(req, coedit, editors, send, card, draft) {
  const rid = String(req.request_id);
  const field = editors.find((e) => e.key === coedit.field);
  const diff = h("div", { cls: "hitl-text-diff hitl-coedit-diff", attrs: { "data-testid": "hitl-coedit-diff", "data-request-id": rid, "aria-live": "polite", "aria-label": "Your changes to the draft" } });
  card.append(h("p", { cls: "hitl-label", text: "Your changes to the draft" }), diff);
  if (field) {
    /** @type {number | undefined} */
    let timer;
    const ask = () => send({ type: "diff", request_id: rid, nonce: req.nonce, text: /** @type {HTMLTextAreaElement} */ (field.input).value });
    field.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 250);
    });
  }
  if (!coedit.can_revise) return null;
  const note = document.createElement("textarea");
  note.id = `hitl-${rid.replace(/[^A-Za-z0-9_-]/g, "_")}-note`;
  note.className = "hitl-input hitl-revise-note";
  note.rows = 2;
  note.placeholder = "What should the agent change in its next draft?";
  note.dataset.testid = "hitl-revise-note";
  note.value = draft.__note ?? "";
  card.append(h("div", { cls: "hitl-field" }, [h("label", { cls: "hitl-label", text: "Note for the agent", attrs: { for: note.id } }), note]));
  return note;
}

/**
 * @param {any} item
 * @param {{token: string, requestId: string, error: string, send: (msg: object) => void}} undo
 */
function decidedCard(item, undo) {
  const req = item.request;
  const kind = item.override ?? item.action;
  const title = `${PAST[kind] ?? kind} ${req.action}`;
  const parts = [item.undone ? `Undone: ${title}` : title];
  if (item.staged) parts.push("waiting to be submitted");
  if (item.reviewer) parts.push(`by ${item.reviewer}`);
  if (item.rating !== null && item.rating !== undefined) parts.push(`rating ${item.rating}/5`);
  const card = h("section", {
    cls: `hitl-card hitl-decided hitl-decided-${kind}${item.undone ? " hitl-undone" : ""}`,
    attrs: { "data-testid": "hitl-decided", "data-request-id": String(req.request_id), "data-decision": String(kind), "data-undone": String(Boolean(item.undone)) },
  }, [h("p", { cls: "hitl-decided-title", text: parts.join(" · ") })]);
  if (item.edited) card.append(changeList(item.changes ?? [], item.edit_distance));
  const said = { redirect: "Instructions", stop: "Reason", override: "Result" }[String(item.override)] ?? "Message";
  if (item.message) card.append(h("p", { cls: "hitl-reason", text: `${said}: ${item.message}` }));
  if (item.comment) card.append(h("p", { cls: "hitl-reason", text: `Comment: ${item.comment}` }));
  if (undo.token && undo.requestId === String(req.request_id) && !item.undone) {
    const button = /** @type {HTMLButtonElement} */ (h("button", {
      cls: "hitl-button hitl-undo",
      text: "Undo",
      attrs: { type: "button", "data-testid": "hitl-undo", "aria-label": `Undo: ${title}` },
    }));
    button.addEventListener("click", () => {
      button.disabled = true; // one click, one undo
      undo.send({ type: "undo", request_id: String(req.request_id), token: undo.token });
    });
    card.append(h("div", { cls: "hitl-buttons" }, [button]));
    card.append(h("p", { cls: "hitl-error", text: undo.error, attrs: { role: "alert", "data-testid": "hitl-undo-error" } }));
  }
  return card;
}

/**
 * End the paused run without resuming it.
 * @param {string} token
 * @param {string} error
 * @param {(msg: object) => void} send
 */
function stopBar(token, error, send) {
  const reason = document.createElement("input");
  reason.type = "text";
  reason.className = "hitl-input hitl-stop-reason";
  reason.placeholder = "Reason (optional)";
  reason.dataset.testid = "hitl-stop-reason";
  reason.setAttribute("aria-label", "Reason for stopping the run (optional)");
  const button = /** @type {HTMLButtonElement} */ (h("button", {
    cls: "hitl-button hitl-stop",
    text: "Stop run",
    attrs: { type: "button", "data-testid": "hitl-stop", "aria-label": "Stop this run without resuming it" },
  }));
  button.addEventListener("click", () => {
    button.disabled = true;
    send({ type: "stop", token, reason: reason.value.trim() ? reason.value : null });
  });
  return h("div", { cls: "hitl-stopbar", attrs: { "data-testid": "hitl-stopbar" } }, [
    h("span", { text: "Stop: end this run, nothing pending runs." }), reason, button,
    h("p", { cls: "hitl-error", text: error, attrs: { role: "alert", "data-testid": "hitl-stop-error" } }),
  ]);
}

/**
 * After a step raised: run it again with what was already decided (Session.retry).
 * @param {string} token
 * @param {string} error  why the last retry was refused ("" when it was not)
 * @param {(msg: object) => void} send
 */
function retryBar(token, error, send) {
  const button = /** @type {HTMLButtonElement} */ (h("button", {
    cls: "hitl-button hitl-retry",
    text: "Retry",
    attrs: { type: "button", "data-testid": "hitl-retry", "aria-label": "Retry the failed step with what was already decided" },
  }));
  button.addEventListener("click", () => {
    button.disabled = true; // one click, one run
    send({ type: "retry", token });
  });
  return h("div", { cls: "hitl-retrybar", attrs: { "data-testid": "hitl-retrybar" } }, [
    h("span", { text: "Fix the cause, then run the step again with what was decided (nothing is decided twice)." }), button,
    h("p", { cls: "hitl-error", text: error, attrs: { role: "alert", "data-testid": "hitl-retry-error" } }),
  ]);
}

/** @type {import("npm:@anywidget/types").Render} */
function render({ model, el }) {
  const root = h("div", { cls: "hitl-root", attrs: { "data-testid": "hitl-review" } });
  el.append(root);
  /** @type {Map<string, any>} */
  const drafts = new Map();
  const send = (/** @type {object} */ msg) => model.send(msg);

  // Live co-editing diffs arrive while the reviewer types: update them in place, no redraw.
  function showDiffs() {
    for (const [rid, segments] of Object.entries(model.get("diffs") ?? {})) {
      for (const box of root.querySelectorAll("[data-testid=hitl-coedit-diff]")) {
        if (/** @type {HTMLElement} */ (box).dataset.requestId === rid) fillDiff(/** @type {any[]} */ (segments), /** @type {HTMLElement} */ (box));
      }
    }
  }

  const draw = () => {
    const status = model.get("status");
    const errors = model.get("errors") ?? {};
    root.replaceChildren();
    root.dataset.status = status;
    root.append(h("div", { cls: "hitl-topline" }, [
      h("span", { cls: "hitl-title", text: "Human review" }),
      h("span", { cls: "hitl-status", text: status, attrs: { "data-testid": "hitl-status" } }),
      h("span", { cls: "hitl-thread", text: `thread ${model.get("thread_id")}` }),
    ]));
    const reviewer = model.get("reviewer") ?? {};
    if (reviewer.name && (model.get("requests") ?? []).length) {
      const roles = (reviewer.roles ?? []).length ? ` (${reviewer.roles.join(", ")})` : " (no roles)";
      root.append(h("p", { cls: "hitl-reviewer", text: `Reviewing as ${reviewer.name}${roles}`, attrs: { "data-testid": "hitl-reviewer" } }));
    }
    const halted = model.get("emergency") ?? "";
    if (halted) {
      root.append(h("p", { cls: "hitl-emergency", text: `${halted}. Nothing resumes until hitl_nb.resume_all().`, attrs: { role: "alert", "data-testid": "hitl-emergency" } }));
    }
    const overrideErrors = model.get("override_errors") ?? {};
    const history = model.get("history") ?? [];
    const hidden = (model.get("history_total") ?? history.length) - history.length;
    if (hidden > 0) {
      root.append(h("p", { cls: "hitl-hidden", text: `${hidden} earlier decisions not shown (all are in hitl_nb.log())`, attrs: { "data-testid": "hitl-hidden" } }));
    }
    const undo = { token: model.get("undo_token") ?? "", requestId: model.get("undo_request_id") ?? "", error: overrideErrors.undo ?? "", send };
    for (const item of history) root.append(decidedCard(item, undo));
    if (model.get("notice")) {
      root.append(h("pre", { cls: "hitl-notice", text: model.get("notice"), attrs: { role: "status", "data-testid": "hitl-notice" } }));
    }
    for (const problem of model.get("problems") ?? []) {
      root.append(h("p", { cls: "hitl-error hitl-problem", text: `Cannot show this request: ${problem}`, attrs: { role: "alert", "data-testid": "hitl-problem" } }));
    }
    const requests = model.get("requests") ?? [];
    const live = new Set(requests.map((/** @type {any} */ r) => String(r.request_id)));
    for (const key of [...drafts.keys()]) if (!live.has(key)) drafts.delete(key);
    const delegated = model.get("delegated") ?? [];
    for (const req of requests) {
      if (delegated.includes(req.collab?.mode)) {
        root.append(h("p", { cls: "hitl-delegated", text: `${req.action}: decide it in the plan view above (${req.reason ?? ""})`, attrs: { "data-testid": "hitl-delegated", "data-request-id": String(req.request_id) } }));
      } else {
        root.append(requestCard(req, send, drafts, errors[req.request_id] ?? "", halted, Boolean(model.get("overrides"))));
      }
    }
    const more = (model.get("pending_total") ?? requests.length) - requests.length;
    if (more > 0) {
      root.append(h("p", { cls: "hitl-hidden", text: `${more} more pending requests are not shown here: review them page by page with hitl_nb.BatchReview(hitl_nb.current())`, attrs: { "data-testid": "hitl-more-pending" } }));
    }
    const token = model.get("submit_token");
    if (token) {
      const waiting = (model.get("history") ?? []).filter((/** @type {any} */ d) => d.staged).length;
      const submit = /** @type {HTMLButtonElement} */ (h("button", {
        cls: "hitl-button hitl-submit",
        text: `Submit ${waiting} decided now`,
        attrs: { type: "button", "data-testid": "hitl-submit", "aria-label": `Submit ${waiting} decided requests now; ${model.get("pending_total") ?? requests.length} stay pending` },
      }));
      submit.addEventListener("click", () => {
        submit.disabled = true;
        model.send({ type: "submit", token });
      });
      root.append(h("div", { cls: "hitl-submitbar" }, [
        h("span", { text: `${model.get("pending_total") ?? requests.length} still pending. Decide them too, or resume the decided ones now: ` }),
        submit,
      ]));
    }
    if (model.get("stop_token")) root.append(stopBar(model.get("stop_token"), overrideErrors.stop ?? "", send));
    else if (overrideErrors.stop) root.append(h("p", { cls: "hitl-error", text: overrideErrors.stop, attrs: { role: "alert", "data-testid": "hitl-stop-error" } }));
    if (status === "stopped" && model.get("stopped")) {
      root.append(h("p", { cls: "hitl-stopped", text: `Run ${model.get("stopped")}. Nothing that was pending ran.`, attrs: { role: "status", "data-testid": "hitl-stopped" } }));
    }
    if (errors[""]) root.append(h("p", { cls: "hitl-error", text: errors[""], attrs: { role: "alert", "data-testid": "hitl-refusal" } }));
    if (model.get("error")) {
      root.append(h("pre", { cls: "hitl-graph-error", text: `The graph raised after resuming:\n${model.get("error")}`, attrs: { role: "alert", "data-testid": "hitl-graph-error" } }));
    }
    if (model.get("retry_token")) root.append(retryBar(model.get("retry_token"), overrideErrors.retry ?? "", send));
    else if (overrideErrors.retry) root.append(h("p", { cls: "hitl-error", text: overrideErrors.retry, attrs: { role: "alert", "data-testid": "hitl-retry-error" } }));
    if (status === "done") {
      root.append(h("div", { cls: "hitl-result", attrs: { "data-testid": "hitl-result" } }, [
        h("p", { cls: "hitl-label", text: "Final result" }),
        h("pre", { cls: "hitl-preview", text: model.get("result") }),
      ]));
    }
    showDiffs();
    // Keys pressed on a control (arrows on a menu, Enter on a button) are the control's:
    // without this JupyterLab's notebook shortcuts take them first.
    for (const c of root.querySelectorAll("button, select, input")) c.setAttribute("data-lm-suppress-shortcuts", "true");
  };
  /** @type {number[]} */
  let timers = [];
  // Deadlines are enforced in Python; the browser only says "check now" when one passes.
  const armDeadlines = () => {
    for (const t of timers) clearTimeout(t);
    timers = (model.get("requests") ?? [])
      .filter((/** @type {any} */ r) => r.deadline)
      .map((/** @type {any} */ r) => setTimeout(() => model.send({ type: "tick" }),
        Math.max(0, Math.min(2 ** 31 - 1, Date.parse(r.deadline) - Date.now() + 250))));
  };
  armDeadlines();
  model.on("change:requests", armDeadlines);
  model.on("change:diffs", showDiffs);
  draw();
  for (const name of TRAITS) {
    model.on(`change:${name}`, draw);
  }
  return () => {
    for (const t of timers) clearTimeout(t);
    model.off("change:requests", armDeadlines);
    model.off("change:diffs", showDiffs);
    for (const name of TRAITS) {
      model.off(`change:${name}`, draw);
    }
  };
}

export default { render };
