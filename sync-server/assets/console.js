// The console's only script: draws the page's map (grid cells and cases,
// handed over in #map-data as GeoJSON) with the vendored Leaflet, with no
// tile layer unless the server was given one, and wires print buttons.
// Text from the data is set as text, never as HTML.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || !window.L) { return; }
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  if (el.dataset.tiles) { L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map); }
  var colours = { submitted: "#6366f1", accepted: "#2563eb", dispatched: "#d97706", in_progress: "#d97706",
    rectified: "#059669", closed: "#15803d", rejected: "#9ca3af", duplicate: "#9ca3af" };
  function tip(text) {
    var span = document.createElement("span");
    span.className = "map-tip";
    span.textContent = text;
    return span;
  }
  var layer = L.geoJSON(data, {
    style: function (f) {
      return f.properties.kind === "cell" ? { color: "#1d4ed8", weight: 1, fillOpacity: 0.06 } : {};
    },
    pointToLayer: function (f, at) {
      var late = f.properties.overdue;
      return L.circleMarker(at, { radius: 7, color: late ? "#b3261e" : "#111827", weight: late ? 3 : 1,
        fillColor: colours[f.properties.status] || "#374151", fillOpacity: 0.9 });
    },
    onEachFeature: function (f, shape) {
      if (f.properties.kind === "cell") {
        shape.bindTooltip(tip(f.properties.street_office + " · " + f.properties.name));
      } else {
        shape.bindTooltip(tip(f.properties.label));
        shape.on("click", function () { window.location.href = "/console/cases/" + encodeURIComponent(f.properties.id); });
      }
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 }); } else { map.setView([34.3, 108.9], 11); }
})();
