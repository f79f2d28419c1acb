/* Live updates for every logged-in page (docs/live.md).
 *
 * Keeps one websocket to /ws/ops/ and turns each JSON message into a CustomEvent on
 * document.body (detail = the message):
 *   exception.opened -> live:exception-opened    exception.updated -> live:exception-updated
 *   order.updated    -> live:order-updated       hold.changed      -> live:hold-changed
 * Pages react with htmx, e.g. hx-trigger="live:exception-opened from:body".
 * htmx trigger filters ("[detail.order == …]", "every 60s [cond]") need eval, which the Content
 * Security Policy forbids; this file does that filtering instead:
 *   an element with data-live-order="<order key>" receives live:own-order-updated itself, only
 *     for its own order (hx-trigger="live:own-order-updated");
 *   an element with data-poll-seconds="N" receives poll:due every N seconds while the page is
 *     visible; with data-poll-while="offline", only while the socket is not connected
 *     (hx-trigger="poll:due").
 * After a reconnect it fires live:reconnected: what was pushed meanwhile is lost, so pages
 * refetch their fragments. body[data-live] and the #live-status badge say how the socket is:
 * connecting, connected, reconnecting, or off (4401: signed out, 4403: nothing to receive).
 */
(function () {
  "use strict";
  var EVENTS = {
    "exception.opened": "live:exception-opened",
    "exception.updated": "live:exception-updated",
    "order.updated": "live:order-updated",
    "hold.changed": "live:hold-changed"
  };
  var LABELS = {
    connecting: ["connecting…", "Live updates: connecting"],
    connected: ["live", "Live updates: on. This page updates itself."],
    reconnecting: ["reconnecting…", "Live updates: connection lost, reconnecting. This page may be out of date."],
    signedout: ["offline", "Live updates: off, you are signed out. Reload the page to sign in again."],
    forbidden: ["offline", "Live updates: off, nothing on this page is pushed to your role."]
  };
  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var delay = FIRST_DELAY_MS;
  var attempts = 0;
  var body = document.body;
  var badge = document.getElementById("live-status");

  function show(state) {
    var off = state === "signedout" || state === "forbidden";
    body.setAttribute("data-live", off ? "off" : state);
    if (!badge) { return; }
    badge.setAttribute("data-state", state);
    badge.setAttribute("title", LABELS[state][1]);
    var text = badge.querySelector(".live-label");
    var help = badge.querySelector(".live-help");  // what screen readers announce (role=status)
    if (text) { text.textContent = LABELS[state][0]; }
    if (help) { help.textContent = LABELS[state][1]; }
  }

  function fire(name, detail) {
    body.dispatchEvent(new CustomEvent(name, {detail: detail}));
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    attempts += 1;
    try {
      socket = new WebSocket(scheme + window.location.host + "/ws/ops/");
    } catch (e) {
      retry();
      return;
    }
    socket.onopen = function () {
      delay = FIRST_DELAY_MS;
      show("connected");
      // Not the first try: the page has been without pushes for a while; it refetches.
      if (attempts > 1) { fire("live:reconnected", {}); }
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      var name = message && EVENTS[message.type];
      if (name) { fire(name, message); }
      if (message && message.type === "order.updated") { fireOnOrder(message); }
    };
    socket.onclose = function (event) {
      if (event.code === 4401) { show("signedout"); return; }
      if (event.code === 4403) { show("forbidden"); return; }
      retry();
    };
  }

  function fireOnOrder(message) {
    document.querySelectorAll("[data-live-order]").forEach(function (el) {
      if (el.getAttribute("data-live-order") === message.order) {
        el.dispatchEvent(new CustomEvent("live:own-order-updated", {detail: message}));
      }
    });
  }

  // The fallback polls. An element seen for the first time (a page load, a swap) is due N
  // seconds later, as with htmx's own "every Ns".
  var POLL_TICK_MS = 1000;
  function poll() {
    var at = Date.now();
    document.querySelectorAll("[data-poll-seconds]").forEach(function (el) {
      var every = Number(el.getAttribute("data-poll-seconds")) * 1000;
      if (!(every > 0)) { return; }
      if (!el.pollDueAt) { el.pollDueAt = at + every; return; }
      if (at < el.pollDueAt) { return; }
      el.pollDueAt = at + every;
      if (document.visibilityState !== "visible") { return; }
      if (el.getAttribute("data-poll-while") === "offline" && body.getAttribute("data-live") === "connected") { return; }
      el.dispatchEvent(new CustomEvent("poll:due"));
    });
  }

  function retry() {
    show("reconnecting");
    // Exponential backoff with jitter, so that a restarted server is not hit by every tab at once.
    var wait = delay / 2 + Math.random() * delay / 2;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    window.setTimeout(connect, wait);
  }

  show("connecting");
  connect();
  poll();
  window.setInterval(poll, POLL_TICK_MS);
})();
