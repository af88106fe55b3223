/* The attendance dashboard follows the server's events: new numbers, per unit, the chart. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.EventSource) return;
  function rows(tbody, items, fields) {
    tbody.textContent = "";
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      fields.forEach(function (f) {
        var td = document.createElement("td");
        td.textContent = item[f] === "" ? "—" : item[f];
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }
  var source = new EventSource(root.getAttribute("data-events"));
  source.addEventListener("attendance", function (event) {
    var day = JSON.parse(event.data);
    root.querySelectorAll("[data-field]").forEach(function (el) {
      el.textContent = day[el.getAttribute("data-field")];
    });
    var quorum = document.getElementById("quorum-state");
    quorum.textContent = "";
    var span = document.createElement("span");
    span.className = day.quorum_reached ? "ok" : "no";
    span.textContent = quorum.getAttribute(day.quorum_reached ? "data-yes" : "data-no");
    quorum.appendChild(span);
    document.getElementById("chart").innerHTML = day.chart_svg;  // drawn and escaped by the server
    rows(document.querySelector("#units tbody"), day.units, ["unit", "registered", "present", "absent"]);
    rows(document.querySelector("#paper tbody"), day.documents, ["title", "pages", "pages_not_printed", "views"]);
  });
})();
