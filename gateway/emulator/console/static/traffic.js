// The live traffic table: every two seconds, ask for the requests newer than the newest shown
// and put them on top. Without JavaScript the page still reads; "Refresh" reloads it.
(function () {
  "use strict";
  var table = document.getElementById("journal");
  var rows = document.getElementById("journal-rows");
  var status = document.getElementById("live-status");
  if (!table || !rows || !window.fetch) { return; }
  var latest = parseInt(table.getAttribute("data-latest") || "0", 10);
  var filter = table.getAttribute("data-filter") || "";
  var limit = 100;
  if (status) { status.firstChild.textContent = "Live: new requests appear on top. "; }
  function poll() {
    var url = "/traffic/rows?after=" + latest + (filter ? "&" + filter : "");
    fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { return null; }
      var newest = parseInt(response.headers.get("X-Journal-Latest") || "0", 10);
      if (newest > latest) { latest = newest; }
      return response.text();
    }).then(function (html) {
      if (!html || !html.trim()) { return; }
      var holder = document.createElement("tbody");
      holder.innerHTML = html;  // rendered by the server with every value escaped
      var fresh = Array.prototype.slice.call(holder.children);
      for (var i = fresh.length - 1; i >= 0; i--) {
        fresh[i].classList.add("fresh");
        rows.insertBefore(fresh[i], rows.firstChild);
      }
      while (rows.children.length > limit) { rows.removeChild(rows.lastChild); }
      var empty = document.getElementById("journal-empty");
      if (empty) { empty.remove(); }
    }).catch(function () { /* the next poll tries again */ }).then(function () {
      window.setTimeout(poll, 2000);
    });
  }
  window.setTimeout(poll, 2000);
})();
