/* Aiguillage chat: plain JavaScript, no framework needed on the host site.
   <div data-aiguillage-chat="WIDGET KEY"></div>
   <script src="https://SERVER/static/chat/chat.js" async></script>
   (on the organisation's own pages: data-aiguillage-chat-organisation="SLUG")
   Messages carry a client id and are resent after a reconnection until the
   server's numbered entry comes back; a reload resumes the conversation. */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = script ? new URL(script.src) : new URL(window.location.href);
  var wsBase = (server.protocol === "https:" ? "wss://" : "ws://") + server.host;

  if (!document.querySelector("link[data-aiguillage-chat-css]")) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = server.origin + "/static/chat/chat.css";
    css.setAttribute("data-aiguillage-chat-css", "1");
    document.head.appendChild(css);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  function uid() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  function Chat(host) {
    var key = host.getAttribute("data-aiguillage-chat");
    var organisation = host.getAttribute("data-aiguillage-chat-organisation");
    this.path = key ? "/ws/chat/w/" + encodeURIComponent(key) + "/" : "/ws/chat/org/" + encodeURIComponent(organisation) + "/";
    this.store = "aiguillage-chat:" + (key || organisation);
    var saved = {};
    try { saved = JSON.parse(sessionStorage.getItem(this.store) || "{}"); } catch (e) { saved = {}; }
    this.token = saved.token || "";
    this.lastSeq = 0;  // the page starts empty: everything is replayed
    this.pending = {};  // client id -> text, until the server numbered it
    this.delay = 500;
    this.build(host);
    this.connect();
  }

  Chat.prototype.build = function (host) {
    var self = this;
    var box = el("section", { "class": "aig-chat", "aria-label": "Discussion en ligne" });
    box.appendChild(el("h2", { "class": "aig-chat-title" }, "Discuter avec nous"));
    this.status = el("p", { "class": "aig-chat-status", "role": "status" }, "Connexion\u2026");
    this.log = el("ol", { "class": "aig-chat-log", "aria-live": "polite", "aria-label": "Messages" });
    this.typing = el("p", { "class": "aig-chat-typing", "aria-live": "polite" });
    var form = el("form", { "class": "aig-chat-form" });
    var label = el("label", { "for": this.store + "-input" }, "Votre message");
    this.input = el("textarea", { "id": this.store + "-input", "rows": "2", "maxlength": "4000" });
    var send = el("button", { "type": "submit" }, "Envoyer");
    form.appendChild(label); form.appendChild(this.input); form.appendChild(send);
    form.addEventListener("submit", function (event) { event.preventDefault(); self.say(); });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); self.say(); }
      else if (self.socket && self.socket.readyState === 1) { self.socket.send(JSON.stringify({ type: "typing" })); }
    });
    box.appendChild(this.status); box.appendChild(this.log); box.appendChild(this.typing); box.appendChild(form);
    this.handover = el("form", { "class": "aig-chat-handover", "hidden": "hidden" });
    this.handover.appendChild(el("p", {}, "Un agent vous r\u00e9pond. Laissez-nous de quoi vous recontacter (e-mail ou t\u00e9l\u00e9phone)."));
    [["name", "Votre nom", "text", "name"], ["email", "Adresse e-mail", "email", "email"], ["phone", "T\u00e9l\u00e9phone", "tel", "tel"]].forEach(function (f) {
      var id = self.store + "-" + f[0];
      self.handover.appendChild(el("label", { "for": id }, f[1]));
      self.handover.appendChild(el("input", { "id": id, "name": f[0], "type": f[2], "autocomplete": f[3] }));
    });
    this.handover.appendChild(el("button", { "type": "submit" }, "Parler \u00e0 un agent"));
    this.handover.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = { type: "agent" };
      ["name", "email", "phone"].forEach(function (n) { data[n] = self.handover.elements[n].value; });
      self.send(data);
    });
    box.appendChild(this.handover);
    host.appendChild(box);
  };

  function host(chat) { return chat.log.parentNode; }

  /* After the conversation: the transcript by email, and a rating. */
  Chat.prototype.end = function (box) {
    var self = this;
    var end = el("div", { "class": "aig-chat-end" });
    var form = el("form", {});
    var id = this.store + "-transcript";
    form.appendChild(el("label", { "for": id }, "Recevoir la conversation par e-mail"));
    var email = el("input", { "id": id, "type": "email", "autocomplete": "email" });
    form.appendChild(email);
    form.appendChild(el("button", { "type": "submit" }, "Envoyer la conversation"));
    form.addEventListener("submit", function (event) { event.preventDefault(); self.send({ type: "transcript", email: email.value }); });
    end.appendChild(form);
    var rating = el("fieldset", { "class": "aig-rating" });
    rating.appendChild(el("legend", {}, "Cette conversation vous a-t-elle aid\u00e9 ? (1 : pas du tout, 5 : tout \u00e0 fait)"));
    [1, 2, 3, 4, 5].forEach(function (score) {
      var b = el("button", { "type": "button" }, String(score));
      b.addEventListener("click", function () { self.send({ type: "rate", score: score }); rating.disabled = true; });
      rating.appendChild(b);
    });
    end.appendChild(rating);
    box.appendChild(end);
  };

  Chat.prototype.connect = function () {
    var self = this;
    var socket = new WebSocket(wsBase + this.path);
    this.socket = socket;
    socket.onopen = function () {
      self.delay = 500;
      self.status.textContent = "Connect\u00e9";
      socket.send(JSON.stringify({ type: "hello", token: self.token, last_seq: self.lastSeq }));
      Object.keys(self.pending).forEach(function (id) {
        socket.send(JSON.stringify({ type: "message", client_id: id, text: self.pending[id] }));
      });
    };
    socket.onmessage = function (event) { self.receive(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === 4403) { self.status.textContent = "Ce site ne peut pas ouvrir la discussion."; return; }
      self.status.textContent = "Connexion perdue, nouvelle tentative\u2026";
      setTimeout(function () { self.connect(); }, self.delay);
      self.delay = Math.min(self.delay * 2, 15000);
    };
  };

  Chat.prototype.send = function (data) {
    if (this.socket && this.socket.readyState === 1) { this.socket.send(JSON.stringify(data)); }
  };

  Chat.prototype.say = function (text) {
    text = (text || this.input.value).trim();
    if (!text) { return; }
    var id = uid();
    this.pending[id] = text;
    this.send({ type: "message", client_id: id, text: text });
    this.input.value = "";
  };

  Chat.prototype.receive = function (event) {
    var self = this;
    if (event.type === "conversation") {
      this.token = event.token;
      sessionStorage.setItem(this.store, JSON.stringify({ token: this.token }));
      return;
    }
    if (event.type === "typing" && event.by === "agent") { this.typing.textContent = "L\u2019agent \u00e9crit\u2026"; return; }
    if (event.type === "error") { this.status.textContent = event.message; return; }
    if (event.type !== "entry" || event.seq <= this.lastSeq) { return; }
    this.lastSeq = event.seq;
    if (event.client_id) { delete this.pending[event.client_id]; }
    this.typing.textContent = "";
    var who = { citizen: "Vous", assistant: "Assistant", agent: "Agent", system: "Information" }[event.author] || "";
    var item = el("li", { "class": "aig-" + event.author, "data-seq": String(event.seq) });
    item.appendChild(el("span", { "class": "aig-who" }, who + " : "));
    item.appendChild(el("span", { "class": "aig-text" }, event.text));
    var data = event.data || {};
    if (data.service) {
      var card = el("div", { "class": "aig-service" });
      card.appendChild(el("p", {}, data.service.name + (data.service.elsewhere ? " \u2013 " + data.service.organisation : "")));
      (data.service.contact_points || []).forEach(function (p) {
        card.appendChild(el("p", {}, p.label + " : " + p.value + (p.hours ? " (" + p.hours + ")" : "")));
      });
      item.appendChild(card);
    }
    if (data.buttons && data.buttons.length) {
      var list = el("ul", { "class": "aig-buttons" });
      data.buttons.forEach(function (button) {
        var li = el("li");
        var b = el("button", { "type": "button" }, button.label);
        b.addEventListener("click", function () {
          if (button.action === "agent") { self.handover.hidden = false; self.handover.querySelector("input").focus(); }
          else if (button.action === "choose") { self.send({ type: "choose", topic: button.topic }); }
          else if (button.action === "close") { self.send({ type: "close" }); }
        });
        li.appendChild(b); list.appendChild(li);
      });
      item.appendChild(list);
    }
    if (data.status === "waiting" || data.status === "left_message" || data.status === "active") { this.handover.hidden = true; }
    if (data.status === "closed" && !this.ending) { this.ending = true; this.end(host(this)); }
    this.log.appendChild(item);
    if (this.socket && this.socket.readyState === 1) { this.socket.send(JSON.stringify({ type: "read", seq: event.seq })); }
  };

  Array.prototype.forEach.call(document.querySelectorAll("[data-aiguillage-chat], [data-aiguillage-chat-organisation]"), function (host) {
    if (!host.getAttribute("data-aiguillage-ready")) { host.setAttribute("data-aiguillage-ready", "1"); new Chat(host); }
  });
})();
