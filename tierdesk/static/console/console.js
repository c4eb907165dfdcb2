// The agent console's behaviour: keyboard shortcuts, the queue's selection, the ticket page's
// composer and file drops, and the call form. No inline scripts anywhere (CSP: script-src 'self').
"use strict";

(function () {
  const QUEUE_KEY = "tierdesk.console.queue";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // --- help overlay ------------------------------------------------------------------------

  function showHelp() {
    const dialog = document.getElementById("shortcuts-help");
    if (dialog && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(dialog).show();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) showHelp();
  });

  // --- the queue: remembered order, cursor, selection, bulk action fields --------------------

  function queueRows() { return $$("#queue-table tbody tr[data-ticket]"); }

  function rememberQueue() {
    const rows = queueRows();
    if (!rows.length) return;
    const numbers = rows.map(function (row) { return row.dataset.ticket; });
    try {
      sessionStorage.setItem(QUEUE_KEY, JSON.stringify({ numbers: numbers, url: location.pathname + location.search }));
    } catch (error) { /* private mode: j/k on the ticket page just does nothing */ }
  }

  function cursorIndex(rows) {
    const active = document.activeElement && document.activeElement.closest("tr[data-ticket]");
    const index = rows.indexOf(active);
    if (index >= 0) return index;
    return rows.findIndex(function (row) { return row.classList.contains("is-cursor"); });
  }

  function moveCursor(step) {
    const rows = queueRows();
    if (!rows.length) return;
    const current = cursorIndex(rows);
    const next = current < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, current + step));
    rows.forEach(function (row) { row.classList.remove("is-cursor"); });
    rows[next].classList.add("is-cursor");
    const link = $("[data-ticket-link]", rows[next]);
    if (link) link.focus();
  }

  function cursorRow() {
    const rows = queueRows();
    const index = cursorIndex(rows);
    return index >= 0 ? rows[index] : null;
  }

  function updateSelection() {
    const boxes = $$("[data-select-ticket]");
    const chosen = boxes.filter(function (box) { return box.checked; }).length;
    const label = $("#bulk-selected");
    if (label) label.textContent = chosen ? chosen + " selected" : "None selected";
    const all = $("[data-select-all]");
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }

  function showBulkFields() {
    const action = $("#bulk-action");
    if (!action) return;
    $$("[data-bulk-for]").forEach(function (group) {
      group.classList.toggle("d-none", group.dataset.bulkFor !== action.value);
    });
  }

  // --- the ticket page -----------------------------------------------------------------------

  function ticketPage() { return $("[data-ticket-page]"); }

  function composerKind() {
    const note = $("#compose-kind-note");
    return note && note.checked ? "note" : "reply";
  }

  function syncComposer() {
    const composer = $("#composer");
    if (!composer) return;
    const note = composerKind() === "note";
    composer.classList.toggle("is-note", note);
    const submit = $("[data-compose-submit]", composer);
    if (submit) submit.textContent = note ? "Add internal note" : "Send reply";
    const label = $("#compose-body-label");
    if (label) label.textContent = note ? "Internal note, seen by the desk only (Markdown)" : "Message to the requester (Markdown)";
  }

  function openComposer(kind) {
    const radio = document.getElementById(kind === "note" ? "compose-kind-note" : "compose-kind-reply");
    if (!radio) return;
    radio.checked = true;
    syncComposer();
    const body = $("#compose-body");
    if (body) {
      body.scrollIntoView({ block: "center" });
      body.focus();
    }
  }

  function syncResolutionFields() {
    const select = $("#status-status");
    const fields = $("[data-resolution-fields]");
    if (select && fields) fields.classList.toggle("d-none", select.value !== "resolved");
  }

  function neighbourTicket(step) {
    const page = ticketPage();
    if (!page) return;
    let stored = null;
    try { stored = JSON.parse(sessionStorage.getItem(QUEUE_KEY) || "null"); } catch (error) { stored = null; }
    if (!stored || !Array.isArray(stored.numbers)) return;
    const index = stored.numbers.indexOf(page.dataset.ticketNumber);
    const next = stored.numbers[index + step];
    if (index >= 0 && next) location.assign(location.pathname.replace(/[^/]+\/$/, encodeURIComponent(next) + "/"));
  }

  async function uploadFiles(files) {
    const page = ticketPage();
    if (!page || !files || !files.length) return;
    const status = $("#upload-status");
    const isPublic = composerKind() === "reply";
    const body = new FormData();
    Array.from(files).forEach(function (file) { body.append("file", file, file.name); });
    body.append("is_public", isPublic ? "1" : "0");
    if (status) status.textContent = "Uploading " + files.length + (files.length === 1 ? " file…" : " files…");
    try {
      const response = await fetch(page.dataset.uploadUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      });
      const result = await response.json();
      if (status) {
        status.textContent = result.ok
          ? "Attached " + result.saved.join(", ") + (isPublic ? " (the requester sees it)." : " (internal).")
          : result.error || "The upload failed.";
      }
      if (result.saved && result.saved.length && window.htmx) {
        window.htmx.ajax("GET", page.dataset.regionsUrl, { target: "#ticket-timeline", swap: "none" });
      }
    } catch (error) {
      if (status) status.textContent = "The upload failed; try again.";
    }
    const input = $("#compose-files");
    if (input) input.value = "";
  }

  // --- call form -----------------------------------------------------------------------------

  function syncCallResolution() {
    const box = $("#call-resolved_on_call");
    const field = $("[data-call-resolution]");
    if (box && field) field.classList.toggle("d-none", !box.checked);
  }

  // --- wiring (delegated, so content swapped in by htmx behaves the same) --------------------

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      $$("[data-select-ticket]").forEach(function (box) { box.checked = target.checked; });
      updateSelection();
    } else if (target.matches("[data-select-ticket]")) {
      updateSelection();
    } else if (target.id === "bulk-action") {
      showBulkFields();
    } else if (target.id === "status-status") {
      syncResolutionFields();
    } else if (target.name === "kind" && target.closest("#composer")) {
      syncComposer();
    } else if (target.id === "compose-files") {
      uploadFiles(target.files);
    } else if (target.id === "call-resolved_on_call") {
      syncCallResolution();
    }
  });

  document.addEventListener("dragover", function (event) {
    const zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("is-over");
  });
  document.addEventListener("dragleave", function (event) {
    const zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("is-over");
  });
  document.addEventListener("drop", function (event) {
    const zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("is-over");
    uploadFiles(event.dataTransfer && event.dataTransfer.files);
  });

  // Keep keyboard focus where it was when htmx replaces the region around it.
  let focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    focusedId = document.activeElement && document.activeElement.id ? document.activeElement.id : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "caller-card") {
      const results = $("#caller-results");
      if (results) results.textContent = "";
      const hint = $("[data-caller-missing]");
      if (hint) hint.remove();
      const title = $("#call-title");
      if (title) title.focus();
      return;
    }
    syncComposer();
    syncResolutionFields();
    if (focusedId && (!document.activeElement || document.activeElement === document.body)) {
      const again = document.getElementById(focusedId);
      if (again) again.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const onTicket = !!ticketPage();
    const onQueue = !!$("#queue-table");
    let handled = true;
    switch (event.key) {
      case "?":
        showHelp();
        break;
      case "j":
        if (onQueue) moveCursor(1); else if (onTicket) neighbourTicket(1); else handled = false;
        break;
      case "k":
        if (onQueue) moveCursor(-1); else if (onTicket) neighbourTicket(-1); else handled = false;
        break;
      case "o": {
        const row = onQueue && cursorRow();
        const link = row && $("[data-ticket-link]", row);
        if (link) link.click(); else handled = false;
        break;
      }
      case "x": {
        const row = onQueue && cursorRow();
        const box = row && $("[data-select-ticket]", row);
        if (box) { box.checked = !box.checked; updateSelection(); } else handled = false;
        break;
      }
      case "/": {
        const search = $("[data-search-box]");
        if (search) search.focus(); else handled = false;
        break;
      }
      case "r":
        if (onTicket) openComposer("reply"); else handled = false;
        break;
      case "n":
        if (onTicket) openComposer("note"); else handled = false;
        break;
      case "a": {
        const form = onTicket && document.getElementById("assign-me-form");
        if (form) form.requestSubmit(); else handled = false;
        break;
      }
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });

  function start() {
    rememberQueue();
    updateSelection();
    showBulkFields();
    syncComposer();
    syncResolutionFields();
    syncCallResolution();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
