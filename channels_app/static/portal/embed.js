/* Embed the Aiguillage contact form:
   <div data-aiguillage-widget="KEY"></div>
   <script src="https://SERVER/static/portal/embed.js" async></script>
   The iframe grows to its content's height; the server only lets the
   widget's allowed origins frame it. */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = script ? new URL(script.src).origin : "";
  Array.prototype.forEach.call(document.querySelectorAll("[data-aiguillage-widget]"), function (host) {
    if (host.getAttribute("data-aiguillage-ready")) { return; }
    host.setAttribute("data-aiguillage-ready", "1");
    var frame = document.createElement("iframe");
    frame.src = server + "/w/" + encodeURIComponent(host.getAttribute("data-aiguillage-widget")) + "/";
    frame.title = host.getAttribute("data-title") || "Formulaire de contact";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.minHeight = "400px";
    frame.setAttribute("loading", "lazy");
    host.appendChild(frame);
    window.addEventListener("message", function (event) {
      if (event.origin !== server || event.source !== frame.contentWindow) { return; }
      var data = event.data || {};
      if (data.aiguillage === "height" && typeof data.value === "number") {
        frame.style.height = Math.ceil(data.value) + 20 + "px";
      }
    });
  });
})();
