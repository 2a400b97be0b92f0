#pragma once
// The page `tether cam view` serves at /: live view, the properties as drop-downs, and
// capture and focus buttons, with the figures under the image. Self-contained (no
// external files, fonts or scripts); it talks to the JSON API in cam_viewer.cpp.
#include <string_view>

namespace tether::viewer {

inline constexpr std::string_view viewer_page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tether camera</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; font-size: 15px; }
  body { margin: 0; padding: 1rem; display: grid; gap: 1rem;
         grid-template-columns: minmax(0, 1fr) 17rem; align-items: start; }
  @media (max-width: 48rem) { body { grid-template-columns: 1fr; } }
  #live { display: block; width: 100%; aspect-ratio: 16 / 9; object-fit: contain;
          background: #111; border-radius: 4px; }
  #figures { margin: .5rem 0 0; font-variant-numeric: tabular-nums; color: GrayText; }
  h1 { font-size: 1.1rem; margin: 0 0 .75rem; }
  label { display: grid; grid-template-columns: 8.5rem 1fr; align-items: center;
          gap: .25rem .5rem; margin: 0 0 .4rem; }
  label output { grid-column: 2; font-size: .8rem; color: GrayText; }
  select, button { font: inherit; padding: .25rem .4rem; }
  .buttons { display: grid; grid-template-columns: 1fr 1fr; gap: .4rem; margin: 1rem 0; }
  .buttons #capture { grid-column: span 2; font-weight: 600; }
  .buttons #autofocus { grid-column: span 2; }
  #message { min-height: 1.3em; margin: .5rem 0; }
  #message.bad { color: #c62828; }
  #capture-result:empty { display: none; }
</style>
</head>
<body>
<main>
  <img id="live" src="/stream.mjpg" alt="live view">
  <p id="figures"><span id="fps">– fps</span> · frame age <span id="age">–</span> ·
    <span id="size">–</span> · <span id="status">…</span></p>
</main>
<aside>
  <h1>Camera <span id="camera"></span></h1>
  <form id="props" onsubmit="return false"></form>
  <div class="buttons">
    <button id="capture" type="button">Capture</button>
    <button id="autofocus" type="button">Autofocus</button>
    <button id="near" type="button">Focus near</button>
    <button id="far" type="button">Focus far</button>
  </div>
  <p id="capture-result"></p>
  <p id="message" role="status"></p>
</aside>
<script>
"use strict";
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const r = await fetch(path, init);
  const j = await r.json().catch(() => ({error: r.status + " " + r.statusText}));
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function say(text, bad) {
  $("message").textContent = text;
  $("message").className = bad ? "bad" : "";
}

let busy = 0;  // properties are not redrawn while a set is on its way
const notes = {};  // the last value each set applied, shown again while it is current

async function loadProperties() {
  const {properties} = await api("/api/properties");
  if (busy) return;
  const form = $("props");
  form.replaceChildren();
  for (const p of properties) {
    const label = document.createElement("label");
    label.append(p.name.replaceAll("_", " "));
    const select = document.createElement("select");
    select.id = "prop-" + p.name;
    const values = p.allowed.length ? [...p.allowed] : [p.value];
    if (!values.includes(p.value)) values.unshift(p.value);
    for (const v of values) select.add(new Option(v, v, false, v === p.value));
    select.disabled = !p.writable;
    select.dataset.applied = p.value;
    const applied = document.createElement("output");
    applied.id = "applied-" + p.name;
    if (notes[p.name] === p.value) applied.textContent = "camera applied " + p.value;
    select.addEventListener("change", () => setProperty(p.name, select, applied));
    label.append(select, applied);
    form.append(label);
  }
}

async function setProperty(name, select, applied) {
  const wanted = select.value;
  busy++;
  select.disabled = true;
  applied.textContent = "setting " + wanted + " …";
  try {
    const r = await api("/api/set", {name, value: wanted});
    if (![...select.options].some((o) => o.value === r.applied))
      select.add(new Option(r.applied, r.applied));
    select.value = r.applied;
    select.dataset.applied = r.applied;
    notes[name] = r.applied;
    applied.textContent = "camera applied " + r.applied;
    say(name + ": asked " + r.requested + ", camera applied " + r.applied,
        r.applied !== r.requested);
  } catch (e) {
    select.value = select.dataset.applied;
    applied.textContent = "";
    say(name + ": " + e.message, true);
  } finally {
    select.disabled = false;
    busy--;
  }
}

function kb(n) { return n < 1e6 ? (n / 1e3).toFixed(1) + " kB" : (n / 1e6).toFixed(2) + " MB"; }

function showCapture(c) {
  const out = $("capture-result");
  out.replaceChildren();
  if (!c) return;
  const a = document.createElement("a");
  a.href = c.url;
  a.download = c.file;
  a.textContent = "download";
  out.append(c.file + " (" + kb(c.size) + ") ", a);
}

async function press(button, what, action) {
  button.disabled = true;
  say(what + " …");
  try {
    await action();
    say(what + ": done");
  } catch (e) {
    say(what + ": " + e.message, true);
  } finally {
    button.disabled = false;
  }
}

$("capture").onclick = () => press($("capture"), "capture", async () => {
  showCapture(await api("/api/capture", {}));
});
$("autofocus").onclick = () => press($("autofocus"), "autofocus",
                                     () => api("/api/focus", {how: "auto"}));
$("near").onclick = () => press($("near"), "focus near",
                                () => api("/api/focus", {how: "near", size: "small"}));
$("far").onclick = () => press($("far"), "focus far",
                               () => api("/api/focus", {how: "far", size: "small"}));

// The stream ends when the viewer restarts; try again a second later.
$("live").onerror = () => setTimeout(() => { $("live").src = "/stream.mjpg?" + Date.now(); }, 1000);

let revision = null;
async function poll() {
  try {
    const s = await api("/api/stats");
    $("camera").textContent = s.camera;
    $("fps").textContent = s.fps.toFixed(1) + " fps";
    $("age").textContent = s.frames ? s.age_ms.toFixed(1) + " ms" : "–";
    $("size").textContent = s.width ? s.width + "×" + s.height : "–";
    $("status").textContent = s.connected ? s.status : "not connected: " + s.status;
    if (s.properties_revision !== revision) {
      revision = s.properties_revision;
      loadProperties().catch((e) => say("properties: " + e.message, true));
    }
  } catch (e) {
    $("status").textContent = "the viewer does not answer";
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)html";

}  // namespace tether::viewer
