/* The exception queue page: keyboard work, selection, and keeping the user's place while the
   results refresh themselves.

   The server renders everything; this file only moves focus, remembers the selection across
   swaps of #queue-results, and turns live messages (live.js dispatches `live:*` events on
   <body>) into at most one results refresh per 300 ms, with a trailing refresh so the last
   change of a burst is never missed. */
(function () {
  "use strict";

  var REFRESH_EVERY_MS = 300;
  var PANEL_DELAY_MS = 120;

  var state = {
    focusedId: null,     // the case the user is on (kept across refreshes)
    known: null,         // case ids on the screen before a self-refresh: new ones get highlighted
    selfRefresh: false,
    hadFocus: false,
    lastRefresh: 0,
    trailing: null,
    panelTimer: null
  };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function results() { return document.getElementById("queue-results"); }
  function panel() { return document.getElementById("case-panel"); }
  function rows() { return $all("#queue-results tr.case-row"); }
  function rowOf(id) { return id == null ? null : document.getElementById("case-row-" + id); }
  function focusedRow() { return rowOf(state.focusedId); }
  function panelCaseId() { var c = $("#case-panel article.case"); return c ? c.getAttribute("data-case-id") : null; }
  function isQueuePage() { return !!document.getElementById("queue-page"); }

  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // --- focus and the panel --------------------------------------------------------------

  function setFocus(row, opts) {
    opts = opts || {};
    rows().forEach(function (r) {
      r.classList.remove("is-focused");
      r.removeAttribute("aria-current");
      r.tabIndex = -1;
    });
    if (!row) { state.focusedId = null; return; }
    row.classList.add("is-focused");
    row.setAttribute("aria-current", "true");
    row.tabIndex = 0;
    state.focusedId = row.getAttribute("data-case-id");
    if (opts.focus !== false) {
      row.focus({preventScroll: true});
      row.scrollIntoView({block: "nearest"});
    }
    if (opts.load !== false) { loadPanelSoon(row); }
  }

  function loadPanelSoon(row) {
    clearTimeout(state.panelTimer);
    state.panelTimer = setTimeout(function () { loadPanel(row.getAttribute("data-panel-url")); }, PANEL_DELAY_MS);
  }

  function loadPanel(url) {
    if (!url || !window.htmx) { return Promise.resolve(); }
    return htmx.ajax("GET", url, {target: "#case-panel", swap: "innerHTML"});
  }

  // Make sure the panel shows the focused case, then run `then` (e.g. focus one of its fields).
  function withPanel(then) {
    var row = focusedRow();
    if (!row) { return; }
    clearTimeout(state.panelTimer);
    if (panelCaseId() === state.focusedId) { then(); return; }
    loadPanel(row.getAttribute("data-panel-url")).then(then);
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var at = all.indexOf(focusedRow());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    setFocus(all[next]);
  }

  function closePanel() {
    var p = panel();
    if (!p || p.classList.contains("case-page")) { return; }
    p.classList.remove("is-open");
    var row = focusedRow();
    if (row) { row.focus({preventScroll: true}); }
  }

  // --- selection ------------------------------------------------------------------------

  function checked() { return $all("#queue-results input[name=ids]:checked"); }

  function syncSelection() {
    var n = checked().length;
    var count = document.getElementById("bulk-count");
    if (count) { count.textContent = n ? n + " selected" : "None selected"; }
    var bar = document.getElementById("bulk-form");
    if (bar) { bar.classList.toggle("has-selection", n > 0); }
    rows().forEach(function (r) {
      var box = $("input[name=ids]", r);
      r.classList.toggle("is-selected", !!(box && box.checked));
    });
    var all = document.getElementById("select-page");
    if (all) {
      var boxes = $all("#queue-results input[name=ids]");
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }

  function toggleSelected(row) {
    var box = row && $("input[name=ids]", row);
    if (box) { box.checked = !box.checked; syncSelection(); }
  }

  function bulkClick(which) {
    var button = $('#bulk-form [data-bulk="' + which + '"]');
    if (button) { button.click(); }  // a click, so htmx sends the button's action=… with the form
  }

  // --- actions on the focused case -------------------------------------------------------

  function post(action, values) {
    var row = focusedRow();
    if (!row || !window.htmx) { return; }
    var url = row.getAttribute("data-panel-url") + action + "/";
    clearTimeout(state.panelTimer);
    htmx.ajax("POST", url, {target: "#case-panel", swap: "innerHTML", values: values || {}});
  }

  function focusInPanel(selector) {
    withPanel(function () {
      var field = $("#case-panel " + selector);
      if (field) { panel().classList.add("is-open"); field.focus(); }
    });
  }

  // --- keyboard -------------------------------------------------------------------------

  function onKey(evt) {
    if (!isQueuePage()) { return; }
    var help = document.getElementById("queue-help");
    if (evt.key === "Escape") {
      if (help && help.open) { return; }  // the dialog closes itself
      if (typing(evt.target)) { evt.target.blur(); var row = focusedRow(); if (row) { row.focus({preventScroll: true}); } return; }
      closePanel();
      return;
    }
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey) && evt.target.tagName === "TEXTAREA" && evt.target.form) {
      evt.preventDefault();
      var submit = $("button[type=submit]", evt.target.form);
      if (submit) { submit.click(); } else { evt.target.form.requestSubmit(); }
      return;
    }
    if (evt.ctrlKey || evt.metaKey || evt.altKey || typing(evt.target) || (help && help.open)) { return; }
    var selection = checked().length > 0;
    var handled = true;
    switch (evt.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "x": toggleSelected(focusedRow()); break;
      case "a": if (selection) { bulkClick("assign-me"); } else { post("assign", {assignee: "me"}); } break;
      case "e": if (selection) { bulkClick("acknowledge"); } else { post("acknowledge"); } break;
      case "r":
        if (selection) { var res = document.getElementById("bulk-resolution"); if (res) { res.focus(); } }
        else { focusInPanel("#act-resolve textarea"); }
        break;
      case "s":
        if (selection) { var sn = document.getElementById("bulk-snooze"); if (sn) { sn.focus(); } }
        else { focusInPanel("#act-snooze select"); }
        break;
      case "c": focusInPanel("#act-comment textarea"); break;
      case "o":
        var row2 = focusedRow();
        if (row2 && row2.getAttribute("data-order-url")) { window.location.href = row2.getAttribute("data-order-url"); }
        break;
      case "Enter":
        if (evt.target.classList && evt.target.classList.contains("case-row")) { focusInPanel(".panel-actions button:not([disabled])"); }
        else { handled = false; }
        break;
      case "/": var filter = document.getElementById("f-customer"); if (filter) { filter.focus(); filter.select(); } break;
      case "?": if (help) { help.showModal(); } break;
      default: handled = false;
    }
    if (handled) { evt.preventDefault(); }
  }

  // In the bulk resolution box, Enter resolves the selected ones.
  function onBulkEnter(evt) {
    if (evt.key === "Enter" && evt.target.id === "bulk-resolution") { evt.preventDefault(); bulkClick("resolve"); }
  }

  // --- clicks ---------------------------------------------------------------------------

  function onClick(evt) {
    if (evt.target.closest("[data-open-help]")) {
      var help = document.getElementById("queue-help");
      if (help) { help.showModal(); }
      return;
    }
    if (evt.target.closest("[data-close-panel]")) { closePanel(); return; }
    if (evt.target.id === "select-page") {
      $all("#queue-results input[name=ids]").forEach(function (b) { b.checked = evt.target.checked; });
      syncSelection();
      return;
    }
    var row = evt.target.closest("tr.case-row");
    if (!row) { return; }
    if (evt.target.closest("input[name=ids]")) { syncSelection(); return; }
    var link = evt.target.closest("a");
    if (link && !link.classList.contains("case-link")) { return; }  // the order page, a search: let it go
    if (link) { evt.preventDefault(); }
    setFocus(row, {focus: true});
  }

  // --- live refresh ---------------------------------------------------------------------

  function refresh() {
    clearTimeout(state.trailing);
    state.trailing = null;
    state.lastRefresh = Date.now();
    state.selfRefresh = true;
    htmx.trigger(document.body, "queue:refresh");
  }

  // At most one refresh per REFRESH_EVERY_MS, and always one after the last message of a burst.
  function refreshSoon() {
    if (!window.htmx || !results()) { return; }
    var wait = REFRESH_EVERY_MS - (Date.now() - state.lastRefresh);
    if (wait <= 0 && !state.trailing) { refresh(); return; }
    if (!state.trailing) { state.trailing = setTimeout(refresh, Math.max(wait, 0)); }
  }

  function onLive(evt) {
    refreshSoon();
    // The open case changed elsewhere: show it as it is now, unless the user is busy in it.
    var detail = evt.detail || {};
    var changed = detail.exception && String(detail.exception.id);
    var p = panel();
    var article = $("#case-panel article.case");
    if (!changed || !article || changed !== panelCaseId() || p.contains(document.activeElement)) { return; }
    var dirty = $all("#case-panel textarea").some(function (t) { return t.value.trim() !== ""; });
    if (!dirty) { loadPanel(article.getAttribute("data-panel-url")); }
  }

  // An action of ours went through (HX-Trigger from the server). After a bulk action, unselect
  // what it changed and keep what it refused selected, so that it can be looked at.
  function onChanged(evt) {
    var detail = evt.detail || {};
    if (evt.target && evt.target.closest && evt.target.closest("#bulk-form")) {
      (detail.ids || []).forEach(function (id) {
        var box = $('#queue-results input[name=ids][value="' + id + '"]');
        if (box) { box.checked = false; }
      });
      syncSelection();
    }
    refreshSoon();
  }

  // --- keeping the user's place across swaps of #queue-results ---------------------------

  function onBeforeSwap(evt) {
    if (evt.detail.target && evt.detail.target.id === "case-panel") {
      // A refresh of the panel (a GET started by a live push) that lands while the user has
      // begun typing in it would throw their text away: keep what they are writing.
      var cfg = evt.detail.requestConfig || {};
      var active = document.activeElement;
      var typing = active && panel().contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName);
      if (cfg.verb === "get" && typing) { evt.detail.shouldSwap = false; }
      return;
    }
    if (!evt.detail.target || evt.detail.target.id !== "queue-results") { return; }
    var from = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var self = from && from.id === "queue-results";
    state.known = self ? rows().map(function (r) { return r.getAttribute("data-case-id"); }) : null;
    state.selected = checked().map(function (b) { return b.value; });
    state.focusIndex = rows().indexOf(focusedRow());
    var active = document.activeElement;
    state.hadFocus = !!(active && active.closest && active.closest("#queue-results"));
  }

  function onAfterSettle(evt) {
    var target = evt.detail.target;
    if (target && target.id === "case-panel") {
      target.classList.toggle("is-open", !!$("article.case", target));
      var active = document.activeElement;
      if (!active || active === document.body) {
        var row = focusedRow();
        if (row) { row.focus({preventScroll: true}); }
      }
      return;
    }
    if (!target || target.id !== "queue-results") { return; }
    var selected = state.selected || [];
    $all("#queue-results input[name=ids]").forEach(function (b) { b.checked = selected.indexOf(b.value) >= 0; });
    syncSelection();
    if (state.known) {
      var known = state.known;
      rows().forEach(function (r) {
        if (known.indexOf(r.getAttribute("data-case-id")) < 0) {
          r.classList.add("is-new");
          setTimeout(function () { r.classList.remove("is-new"); }, 2500);
        }
      });
    }
    state.known = null;
    var row2 = focusedRow();
    if (!row2 && state.focusedId != null && state.focusIndex >= 0) {
      // the row left this view (resolved, filtered out): stay at the same height in the list
      var all = rows();
      row2 = all[Math.min(state.focusIndex, all.length - 1)] || null;
      if (row2) { state.focusedId = row2.getAttribute("data-case-id"); }
    }
    if (row2) { setFocus(row2, {focus: state.hadFocus, load: false}); }
    syncTab();
  }

  // The tabs are radio buttons in the filter bar; keep the checked one in step with the results.
  function syncTab() {
    var r = results();
    if (!r) { return; }
    var tab = r.getAttribute("data-tab");
    $all("#queue-filters input[name=queue]").forEach(function (radio) {
      radio.checked = radio.value === tab;
      radio.closest(".queue-tab").classList.toggle("is-current", radio.checked);
    });
  }

  function init() {
    if (!isQueuePage()) { return; }
    document.addEventListener("keydown", onKey);
    document.addEventListener("keydown", onBulkEnter);
    document.addEventListener("click", onClick);
    document.addEventListener("change", function (evt) { if (evt.target.name === "ids") { syncSelection(); } });
    ["live:exception-opened", "live:exception-updated", "live:reconnected"].forEach(function (name) {
      document.body.addEventListener(name, onLive);
    });
    document.body.addEventListener("queue:changed", onChanged);
    document.body.addEventListener("htmx:beforeSwap", onBeforeSwap);
    document.body.addEventListener("htmx:afterSettle", onAfterSettle);
    // Tabbing into the table lands on a row: that row becomes the current one.
    document.addEventListener("focusin", function (evt) {
      var row = evt.target.classList && evt.target.classList.contains("case-row") ? evt.target : null;
      if (row && row.getAttribute("data-case-id") !== state.focusedId) { setFocus(row, {focus: false}); }
    });
    syncSelection();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
