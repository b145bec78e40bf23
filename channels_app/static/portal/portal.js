/* Aiguillage public pages: progressive enhancements only (every page works
   without JavaScript). Search as you type, one submission per form, and, in
   an iframe, the page's height told to the embedding site. */
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "/";

  var input = document.getElementById("q");
  var results = document.getElementById("results");
  if (input && results) {
    var timer = null;
    var last = input.value;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var query = input.value.trim();
        if (query === last) { return; }
        last = query;
        if (query.length < 2) { results.innerHTML = ""; return; }
        fetch(base + "recherche/?q=" + encodeURIComponent(query), { headers: { "Accept": "text/html" } })
          .then(function (response) { return response.ok ? response.text() : ""; })
          .then(function (html) { if (input.value.trim() === query) { results.innerHTML = html; resize(); } });
      }, 200);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button.submit-once");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); }
    });
  });

  var summary = document.getElementById("erreurs");
  if (summary) { summary.focus(); }

  function resize() {
    if (window.parent === window) { return; }
    window.parent.postMessage({ aiguillage: "height", value: document.documentElement.scrollHeight }, "*");
  }
  if (window.parent !== window) {
    window.addEventListener("load", resize);
    if (window.ResizeObserver) { new ResizeObserver(resize).observe(document.body); }
  }
})();
