/* The onboarding wizard (templates/onboarding/): small comforts on top of pages that work
   without JavaScript.

   - "Copy" buttons next to the credentials and the example requests ([data-copy]).
   - On the feed step, the poll settings are shown only while "Poll" is the chosen transport
     (without JavaScript they are always shown, marked "poll only"). */
(function () {
  "use strict";

  function copyText(el) {
    return el.tagName === "INPUT" || el.tagName === "TEXTAREA" ? el.value : el.textContent;
  }

  function addCopyButtons(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-copy]"), function (el) {
      if (el.getAttribute("data-copy-ready")) { return; }
      el.setAttribute("data-copy-ready", "1");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary wizard-copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy " + (el.id || "the text"));
      button.addEventListener("click", function () {
        var text = copyText(el);
        var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { select(el); });
        } else {
          select(el);
        }
      });
      el.insertAdjacentElement("afterend", button);
    });
  }

  function select(el) {
    if (el.select) { el.select(); return; }
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function followTransport() {
    var form = document.getElementById("feed-form");
    var poll = document.getElementById("poll-settings");
    if (!form || !poll) { return; }
    var update = function () {
      var chosen = form.querySelector('input[name="transport"]:checked');
      poll.hidden = !chosen || chosen.value !== "poll";
    };
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "transport") { update(); }
    });
    update();
  }

  function start() {
    addCopyButtons(document);
    followTransport();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
