// Progressive enhancement only: every form works without this file.
"use strict";

// The home-location map: tap to set the coordinate fields. Without tiles (offline) or without Leaflet the
// coordinate fields stay the way to enter the location.
function mapUnavailable(box) {
  box.hidden = true;
  var note = document.getElementById("map-note");
  if (note) note.textContent = "Peta tidak dapat dimuat. Isi koordinat rumah di bawah ini.";
}

function setUpMap() {
  var box = document.getElementById("map");
  if (!box) return;
  if (typeof L === "undefined") { mapUnavailable(box); return; }
  var note = document.getElementById("map-note");
  if (note) note.textContent = "Ketuk peta untuk menandai rumah, atau isi koordinat di bawah ini.";
  var lat = document.getElementById(box.dataset.latField);
  var lon = document.getElementById(box.dataset.lonField);
  var start = [parseFloat(lat.value) || -6.178, parseFloat(lon.value) || 106.63];
  box.hidden = false;
  var map = L.map(box).setView(start, 14);
  var tiles = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
  var marker = null;
  function place(latlng) {
    if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng).addTo(map);
  }
  if (lat.value && lon.value) place(start);
  var failures = 0, loaded = 0;
  tiles.on("tileload", function () { loaded++; });
  tiles.on("tileerror", function () {
    failures++;
    if (failures >= 2 && loaded === 0) mapUnavailable(box);
  });
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    place(e.latlng);
  });
}

function setUpCharts() {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var data = JSON.parse(canvas.dataset.chart);
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [
        { label: "Pendaftar", data: data.applicants, backgroundColor: "#0b5394", yAxisID: "y" },
        { label: "Keterisian (%)", data: data.fill, backgroundColor: "#e69f00", yAxisID: "y1" },
      ] },
      options: { animation: false, responsive: true, scales: {
        y: { beginAtZero: true, position: "left" }, y1: { beginAtZero: true, max: 100, position: "right" } } },
    });
  });
  document.querySelectorAll("canvas[data-cutoff]").forEach(function (canvas) {
    var data = JSON.parse(canvas.dataset.cutoff);
    var labels = [], values = [];
    data.cutoff.forEach(function (value, i) {
      if (value !== null) { labels.push(data.labels[i]); values.push(value); }
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "Batas jarak (m)", data: values, backgroundColor: "#1e6b2e" }] },
      options: { animation: false, indexAxis: "y", responsive: true, scales: { x: { beginAtZero: true } } },
    });
  });
}

document.addEventListener("DOMContentLoaded", function () { setUpMap(); setUpCharts(); });
