// Progressive enhancement only: every form works without this file.
"use strict";

// The home-location map: tap to set the coordinate fields. Without tiles (offline) or without Leaflet the
// coordinate fields stay the way to enter the location.
function mapUnavailable(box) {
  box.hidden = true;
  var note = document.getElementById("map-note");
  if (note) note.textContent = "Peta tidak dapat dimuat. Isi koordinat rumah di bawah ini.";
}

// The map (Leaflet, about 45 KB) loads when asked for: on a slow link or a small data plan the coordinate
// fields are enough, and every page stays small.
function setUpMap() {
  var box = document.getElementById("map");
  var show = document.getElementById("map-show");
  if (!box || !show) return;
  show.hidden = false;
  show.addEventListener("click", function () {
    show.hidden = true;
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = box.dataset.css;
    document.head.appendChild(css);
    var script = document.createElement("script");
    script.src = box.dataset.js;
    script.onload = function () { drawMap(box); };
    script.onerror = function () { mapUnavailable(box); };
    document.head.appendChild(script);
  });
}

// The chosen kelurahan's centre (where the region's data has one), to start the map there.
function kelurahanCentre() {
  var select = document.getElementById("f-kelurahan_code");
  var option = select && select.options[select.selectedIndex];
  if (!option || !option.dataset.lat) return null;
  return [parseFloat(option.dataset.lat), parseFloat(option.dataset.lon)];
}

function drawMap(box) {
  if (typeof L === "undefined") { mapUnavailable(box); return; }
  var note = document.getElementById("map-note");
  if (note) note.textContent = "Ketuk peta untuk menandai rumah, atau isi koordinat di bawah ini.";
  var lat = document.getElementById(box.dataset.latField);
  var lon = document.getElementById(box.dataset.lonField);
  var typed = lat.value && lon.value;
  var start = typed ? [parseFloat(lat.value), parseFloat(lon.value)] : kelurahanCentre() || [-6.178, 106.63];
  box.hidden = false;
  var map = L.map(box).setView(start, 14);
  var kelurahan = document.getElementById("f-kelurahan_code");
  if (kelurahan) kelurahan.addEventListener("change", function () {  // the map goes where the kelurahan is
    var centre = kelurahanCentre();
    if (centre) map.setView(centre, 15);
  });
  var tiles = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
  var marker = null;
  function place(latlng) {
    if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng).addTo(map);
  }
  if (typed) place(start);
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

// The agency's charts: horizontal bars, at most one screen each (the server sends at most 15 schools; the
// tables under them hold every row).
function setUpCharts() {
  if (typeof Chart === "undefined") return;
  var colours = ["#0b5394", "#999999", "#38761d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var data = JSON.parse(canvas.dataset.chart);
    var box = canvas.parentNode;
    box.style.position = "relative";
    box.style.height = Math.min(420, 12 * data.labels.length * (data.series.length + 1) + 60) + "px";
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: data.series.map(function (s, i) {
        return { label: s.label, data: s.data, backgroundColor: colours[i % colours.length] };
      }) },
      options: { animation: false, indexAxis: "y", responsive: true, maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, max: data.max === null ? undefined : data.max } } },
    });
  });
}

// The agency's kelurahan map: a circle per kelurahan, red where few of its children are placed. Without tiles
// or Leaflet the table below it says the same.
function setUpKelurahanMap() {
  var box = document.getElementById("kelurahan-map");
  if (!box || typeof L === "undefined") return;
  var places = JSON.parse(box.dataset.places);
  if (!places.length) return;
  box.hidden = false;
  var map = L.map(box);
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
  var bounds = [];
  places.forEach(function (p) {
    var hue = Math.round(120 * p.share);  // 0: red (no child placed) … 120: green (all placed)
    L.circleMarker([p.lat, p.lon], { radius: 6 + Math.min(14, Math.sqrt(p.n)), color: "hsl(" + hue + ",70%,35%)",
      fillColor: "hsl(" + hue + ",70%,50%)", fillOpacity: 0.6 })
      .bindTooltip(p.name + ": " + Math.round(100 * p.share) + "% dari " + p.n + " diterima").addTo(map);
    bounds.push([p.lat, p.lon]);
  });
  map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
}

// "Use my location": the phone's own position into the coordinate fields (at home, where the KK says).
function setUpLocate() {
  var button = document.getElementById("locate");
  var box = document.getElementById("map");
  if (!button || !box || !navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var note = document.getElementById("map-note");
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById(box.dataset.latField).value = position.coords.latitude.toFixed(6);
      document.getElementById(box.dataset.lonField).value = position.coords.longitude.toFixed(6);
      if (note) note.textContent = "Lokasi ponsel dipakai (ketelitian sekitar " +
        Math.round(position.coords.accuracy) + " m). Pastikan Anda berada di rumah sesuai KK.";
      button.disabled = false;
    }, function () {
      if (note) note.textContent = "Lokasi tidak dapat dibaca. Isi koordinat rumah di bawah ini.";
      button.disabled = false;
    }, { enableHighAccuracy: true, timeout: 15000 });
  });
}

// A form sent back with errors: the first field to fix is in view and has the focus (its message is read out).
function focusFirstError() {
  var invalid = document.querySelector("[aria-invalid=true]");
  if (!invalid) return;
  invalid.scrollIntoView({ block: "center" });
  invalid.focus({ preventScroll: true });
}

// A registration typed on a phone is not lost to an expired session: what is typed is kept in this tab
// (sessionStorage, gone when the tab closes) for an hour at most until it is sent, and put back when the form
// comes back empty for the same account. Never kept: NIK, NISN and KK numbers, files, PINs, passwords. A sent
// registration, signing out or a page of another account clears it.
var DRAFT_SECONDS = 3600;
var NOT_KEPT = ["_csrf", "pin", "nik", "nisn", "kk_number", "idempotency_key"];

function setUpDraft() {
  var store = window.sessionStorage;
  if (!store) return;
  var user = document.body.dataset.user;
  function clear(keep) {
    Object.keys(store).forEach(function (k) {
      if (k.indexOf("draft:") !== 0 || k === keep) return;
      var draft = JSON.parse(store.getItem(k));
      var stale = !draft.at || Date.now() - draft.at > DRAFT_SECONDS * 1000;
      if (keep === null || stale || (user && k.indexOf("draft:" + user + ":") !== 0)) store.removeItem(k);
    });
  }
  clear(document.querySelector("[data-draft-done]") ? null : undefined);
  document.querySelectorAll("form[action='/keluar']").forEach(function (f) {
    f.addEventListener("submit", function () { clear(null); });
  });
  var form = document.querySelector("form[data-draft]");
  if (!form) return;
  var key = "draft:" + form.dataset.draft + ":" + form.getAttribute("action");
  var kept = function (el) {
    return el.name && NOT_KEPT.indexOf(el.name) < 0 &&
      ["file", "password", "hidden", "submit", "button"].indexOf(el.type) < 0;
  };
  var saved = store.getItem(key);
  if (saved && form.hasAttribute("data-draft-empty")) {
    var values = JSON.parse(saved).values;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el) || !(el.name in values)) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = values[el.name].indexOf(el.value) >= 0;
      else el.value = values[el.name][0];
    });
    document.getElementById("draft-note").hidden = false;
  }
  function save() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      values[el.name] = values[el.name] || [];
      if ((el.type !== "checkbox" && el.type !== "radio") || el.checked) values[el.name].push(el.value);
    });
    store.setItem(key, JSON.stringify({ at: Date.now(), values: values }));
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
}

document.addEventListener("DOMContentLoaded", function () {
  setUpDraft(); setUpMap(); setUpLocate(); setUpCharts(); setUpKelurahanMap(); focusFirstError();
});
