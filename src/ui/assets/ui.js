// usercom web UI: live updates (server-sent events) and a pause button. Every page
// works without this script. Values are inserted as text, never as HTML.
"use strict";
(function () {
  var list = document.getElementById("live");
  if (!list || !window.EventSource) return;
  var status = document.getElementById("live-status");
  var pause = document.getElementById("pause");
  var paused = false;
  var held = [];
  pause.hidden = false;
  function add(e) {
    var li = document.createElement("li");
    li.className = "new";
    var t = document.createElement("time");
    t.textContent = e.timestamp || "";
    var kind = document.createElement("strong");
    kind.textContent = e.type || "";
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = e.name || "";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = e.who || "";
    li.append(t, " ", kind, " ", name, " ", who);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 500) list.removeChild(list.lastChild);
  }
  pause.addEventListener("click", function () {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    if (!paused) { held.forEach(add); held = []; }
    status.textContent = paused ? "Paused: new events are held." : "Live.";
  });
  var source = new EventSource("/ui/live/stream");
  source.onopen = function () { status.textContent = paused ? "Paused: new events are held." : "Live."; };
  source.onerror = function () { status.textContent = "Disconnected; retrying…"; };
  source.onmessage = function (m) {
    var e;
    try { e = JSON.parse(m.data); } catch (_) { return; }
    if (paused) held.push(e); else add(e);
  };
})();
