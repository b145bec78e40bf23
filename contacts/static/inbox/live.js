/* Live updates of the agents' inbox and ticket pages over a websocket.
   Texts come from data-* attributes (translated by the server). */
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !("WebSocket" in window)) { return; }
  var data = root.dataset;
  var ticket = data.ticket || "";
  var status = document.getElementById("live-status");
  var presence = document.getElementById("presence");
  var colleagues = {};
  var socket = null;
  var retry = 1000;
  var lastTyping = 0;

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function showPresence() {
    if (!presence) { return; }
    var lines = [];
    Object.keys(colleagues).forEach(function (id) {
      var who = colleagues[id];
      lines.push((who.state === "typing" ? data.textTyping : data.textViewing).replace("%s", who.name));
    });
    presence.textContent = lines.join(" ");
    presence.hidden = lines.length === 0;
  }

  function handle(message) {
    if (message.type === "ticket") {
      if (ticket) {
        if (message.reference === ticket && !message.by_me) { say(data.textChanged); root.dataset.changed = "1"; }
      } else {
        say(data.textActivity.replace("%s", message.reference));
        if (window.htmx) { window.htmx.trigger(document.body, "inbox-changed"); }
      }
    } else if (message.type === "mention") {
      say(data.textMention.replace("%(name)s", message.by).replace("%(reference)s", message.reference));
    } else if (message.type === "presence") {
      if (message.state === "left") { delete colleagues[message.user]; }
      else { colleagues[message.user] = {name: message.name, state: message.state}; }
      showPresence();
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + data.url);
    socket.addEventListener("open", function () {
      retry = 1000;
      root.dataset.connected = "1";
      if (ticket) { socket.send(JSON.stringify({watch: ticket})); }
    });
    socket.addEventListener("message", function (event) {
      try { handle(JSON.parse(event.data)); } catch (e) { /* ignore a bad frame */ }
    });
    socket.addEventListener("close", function () {
      root.dataset.connected = "";
      colleagues = {};
      showPresence();
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  var composer = document.getElementById("id_text");
  if (ticket && composer) {
    composer.addEventListener("input", function () {
      var now = Date.now();
      if (socket && socket.readyState === 1 && now - lastTyping > 3000) {
        lastTyping = now;
        socket.send(JSON.stringify({typing: true}));
      }
    });
  }
  connect();
})();
