// The studio page: style picker, compose form, and one card per take (roll, player, drag-out, regenerate,
// continue, harmonize, provenance). Everything goes through the JSON API (README, "midigen serve"); the
// page keeps the ids of the takes its own requests returned and nothing else, so several tabs never
// see each other's takes. window.midigenTimings records click-to-roll times for bench/serve_bench.py.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const state = { info: null, styles: new Map(), takes: new Map(), count: 0, playing: null };
window.midigenTimings = [];
window.midigenStudio = state; // for tests and the bench: the takes this tab holds

async function api(path, body, options = {}) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": options.raw ? "application/octet-stream" : "application/json" },
    body: options.raw ? body : JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function showError(message) {
  const box = $("#error");
  $("span", box).textContent = message;
  box.hidden = !message;
}

async function busy(button, work) {
  const buttons = button ? [button] : [];
  buttons.forEach((b) => { b.disabled = true; });
  $("#busy").hidden = false;
  showError("");
  try {
    return await work();
  } catch (e) {
    showError(e.message);
    return null;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    $("#busy").hidden = true;
  }
}

// --- styles and the compose form ------------------------------------------------------------------
function option(value, text, selected = false) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

function commonest(pairs, unit = "") {
  return (pairs || []).slice(0, 3).map(([k, n]) => `${k}${unit} (${n})`).join(", ") || "–";
}

function showStyle(name) {
  const style = state.styles.get(name);
  const info = $("#style-info");
  info.replaceChildren();
  if (!style) return;
  const lines = style.error ? [style.error] : [
    `Learnt from ${style.pieces} pieces (${style.collection}${style.root ? `, ${style.root}` : ""}).`,
    `Parts: ${(style.parts || []).map((p) => p.name).join(", ")}.`,
    `Usual keys ${commonest(style.keys)}; meters ${commonest(style.meters)}; tempos ${commonest(style.tempos_bpm, " bpm")}.`,
    style.bits_per_note ? `Model ${(style.params / 1e6).toFixed(1)}M parameters, ${style.steps} steps: ` +
      `${style.bits_per_note.toFixed(2)} bits/note on held-out pieces (n-gram ${style.ngram_bits_per_note.toFixed(2)}).` : "",
  ];
  for (const line of lines.filter(Boolean)) {
    const p = document.createElement("p");
    p.textContent = line;
    info.append(p);
  }
  if (style.licence) {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = "licence of the data";
    d.append(s, document.createTextNode(style.licence));
    info.append(d);
  }
  const defaults = style.defaults || {};
  $("#key").value = defaults.key || "";
  $("#tempo").value = defaults.tempo_bpm || "";
  $("#time-sig").value = defaults.time_sig || "4/4";
  $("#range").placeholder = defaults.range ? `style's: ${defaults.range[0]}-${defaults.range[1]}` : "e.g. C3-C6";
  const parts = $("#parts");
  parts.replaceChildren(Object.assign(document.createElement("legend"), { textContent: "Parts" }));
  (style.parts || []).forEach((part, i) => {
    const label = document.createElement("label");
    label.className = "check";
    const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: true, value: part.name });
    const swatch = Object.assign(document.createElement("span"), { className: "swatch" });
    swatch.style.background = window.partColour(i);
    label.append(box, swatch, document.createTextNode(part.name));
    parts.append(label);
  });
  localStorage.setItem("midigen-style", name);
}

async function loadStyles() {
  const [info, styles] = await Promise.all([api("/api/info"), api("/api/styles")]);
  state.info = info;
  $("#sound").textContent = `Sound: ${info.sound}`;
  $("#sound").classList.toggle("warn", info.synth !== "fluidsynth");
  $("#bars").max = info.limits.bars;
  $("#variations").max = info.limits.variations;
  $("#key").append(option("", "from the style's keys"), ...info.keys.map((k) => option(k, k)));
  $("#time-sig").append(...info.meters.map((m) => option(m, m)));
  const select = $("#style");
  const saved = localStorage.getItem("midigen-style");
  for (const style of styles.styles) {
    state.styles.set(style.name, style);
    const o = option(style.name, style.composable ? style.name : `${style.name} (${style.error ? "unreadable" : "multi-style base, for training"})`);
    o.disabled = !style.composable;
    select.append(o);
  }
  const usable = styles.styles.filter((s) => s.composable).map((s) => s.name);
  select.value = usable.includes(saved) ? saved : (usable[0] || "");
  showStyle(select.value);
  select.addEventListener("change", () => showStyle(select.value));
}

function sampling() {
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  return {
    variations: number("#variations") || 1, seed: number("#seed") || 0, temperature: number("#temperature"),
    top_p: number("#top-p"), strict_key: $("#strict-key").checked, range: $("#range").value || null,
  };
}

function composeBody() {
  const boxes = [...document.querySelectorAll("#parts input")];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  const program = $("#program").value;
  return {
    style: $("#style").value, bars: Number($("#bars").value), key: $("#key").value || null,
    tempo_bpm: $("#tempo").value ? Number($("#tempo").value) : null, time_sig: $("#time-sig").value || null,
    parts: chosen.length === boxes.length ? null : chosen, chords: $("#chords").value || null,
    chords_track: $("#chords-track").checked, program: program === "" ? null : Number(program), ...sampling(),
  };
}

// Send one operation and show its takes; the time from the click to the first roll is recorded.
async function run(action, path, body, button) {
  const started = performance.now();
  const result = await busy(button, () => api(path, body));
  if (!result) return;
  result.takes.forEach(addTake);
  window.midigenTimings.push({ action, ms: performance.now() - started, takes: result.takes.length });
}

// --- takes --------------------------------------------------------------------------------------
function describe(take) {
  const r = take.roll;
  const meters = [...new Set(r.meters.map(([, n, d]) => `${n}/${d}`))].join(", ");
  const bpms = [...new Set(r.tempos.map(([, b]) => Math.round(b * 10) / 10))].join("–");
  return `${take.bars} bars of ${meters}${r.key ? ` in ${r.key}` : ""} at ${bpms} bpm · ${take.notes} notes`;
}

function addTake(take) {
  state.count += 1;
  const card = $("#take-template").content.firstElementChild.cloneNode(true);
  card.dataset.takeId = take.id;
  card.dataset.kind = take.kind;
  const what = take.kind === "upload" ? `your file ${take.label}` : `${take.kind} · ${take.style}`;
  const variation = take.provenance && take.provenance.variation > 1 ? ` · variation ${take.provenance.variation}` : "";
  $(".title", card).textContent = `Take ${state.count}: ${what}${variation}`;
  $(".summary", card).textContent = describe(take);
  const url = new URL(take.midi_url, location.href).href;
  for (const link of [$(".drag", card), $(".download", card)]) {
    link.href = take.midi_url;
    link.download = take.download_name;
  }
  $(".drag", card).addEventListener("dragstart", (e) => {
    e.dataTransfer.effectAllowed = "copy";
    e.dataTransfer.setData("DownloadURL", `audio/midi:${take.download_name}:${url}`); // Chromium: a real file on drop
    e.dataTransfer.setData("text/uri-list", url);
    e.dataTransfer.setData("text/plain", url);
  });
  $(".command", card).textContent = take.command || `(your file: continue, regenerate or harmonize it)`;
  $(".copy", card).hidden = !take.command;
  $(".copy", card).addEventListener("click", () => navigator.clipboard.writeText(take.command));
  $(".json", card).textContent = JSON.stringify(take.provenance || { file: take.label }, null, 1);
  $("#empty").hidden = true;
  $("#takes").prepend(card);

  const canvas = $("canvas", card);
  const roll = new window.Roll(canvas, take.roll);
  canvas.dataset.notes = String(take.roll.notes.length);
  const entry = { take, card, roll, muted: new Set() };
  state.takes.set(take.id, entry);
  wireParts(entry);
  wirePlayer(entry);
  wireOperations(entry);
  return entry;
}

function wireParts(entry) {
  const box = $(".parts", entry.card);
  entry.take.roll.parts.forEach((part, i) => {
    const label = document.createElement("label");
    label.className = "check part";
    label.title = "Untick to mute this part";
    const tick = Object.assign(document.createElement("input"), { type: "checkbox", checked: true });
    tick.dataset.part = String(i);
    const swatch = Object.assign(document.createElement("span"), { className: "swatch" });
    swatch.style.background = window.partColour(i);
    label.append(tick, swatch, document.createTextNode(part.name));
    tick.addEventListener("change", () => {
      if (tick.checked) entry.muted.delete(i); else entry.muted.add(i);
      entry.roll.setMuted(entry.muted);
      if (state.playing === entry) { stop(entry); play(entry); }
    });
    box.append(label);
    $(".infill-tracks", entry.card).append(option(String(i + 1), `only ${part.name}`));
  });
  const tracks = $(".infill-tracks", entry.card);
  tracks.prepend(option("", "all parts", true));
  tracks.hidden = entry.take.roll.parts.length < 2;
}

function audioUrl(entry) {
  const muted = [...entry.muted].sort((a, b) => a - b);
  return entry.take.audio_url + (muted.length ? `?mute=${muted.join(",")}` : "");
}

function stop(entry) {
  const audio = $(".player", entry.card);
  audio.pause();
  audio.currentTime = 0;
  entry.roll.setPlayhead(null);
  $(".play", entry.card).textContent = "▶ Play";
  if (state.playing === entry) state.playing = null;
}

async function play(entry) {
  if (state.playing) stop(state.playing);
  const audio = $(".player", entry.card);
  const src = new URL(audioUrl(entry), location.href).href;
  if (audio.src !== src) audio.src = src;
  state.playing = entry;
  $(".play", entry.card).textContent = "■ Stop";
  try {
    await audio.play();
  } catch (e) {
    stop(entry);
    const problem = await fetch(src).then((r) => r.json()).then((d) => d.error).catch(() => null);
    showError(problem || `cannot play the audio: ${e.message}`);
    return;
  }
  const tick = () => {
    if (state.playing !== entry || audio.paused) return;
    entry.roll.setPlayhead(entry.roll.stepAt(audio.currentTime));
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

function wirePlayer(entry) {
  const audio = $(".player", entry.card);
  audio.addEventListener("ended", () => stop(entry));
  $(".play", entry.card).addEventListener("click", () => (state.playing === entry ? stop(entry) : play(entry)));
}

function wireOperations(entry) {
  const { card, take, roll } = entry;
  const infill = $(".infill", card);
  const limit = state.info ? state.info.limits.infill_bars : 16;
  roll.onSelect = (sel) => {
    const label = $(".selection", card);
    if (!sel) { label.textContent = "Drag across bars to select them"; infill.disabled = true; infill.textContent = "Regenerate"; return; }
    const count = sel.last - sel.first + 1;
    const span = count === 1 ? `bar ${sel.first + 1}` : `bars ${sel.first + 1}–${sel.last + 1}`;
    label.textContent = count > limit ? `${span}: at most ${limit} bars at a time` : `${span} selected`;
    infill.disabled = count > limit;
    infill.textContent = `Regenerate ${span}`;
  };
  const base = () => ({ style: $("#style").value, take: take.id, ...sampling() });
  infill.addEventListener("click", () => {
    const sel = roll.selection;
    const tracks = $(".infill-tracks", card).value;
    run("infill", "/api/infill", { ...base(), bars: `${sel.first + 1}-${sel.last + 1}`, tracks: tracks ? [Number(tracks)] : null }, infill);
  });
  const more = $(".continue", card);
  more.addEventListener("click", () => run("continue", "/api/continue", { ...base(), bars: Number($(".continue-bars", card).value) }, more));
  const harmonize = $(".harmonize", card);
  harmonize.hidden = !(take.roll.parts.length === 1 && !take.roll.parts[0].drum);
  harmonize.addEventListener("click", () => {
    const { range, ...body } = base(); // each new part keeps its own range: harmonize takes none
    run("harmonize", "/api/harmonize", body, harmonize);
  });
}

// --- uploads ------------------------------------------------------------------------------------
async function upload(file) {
  const limit = state.info ? state.info.limits.upload_bytes : 16 * 2 ** 20;
  if (file.size > limit) { showError(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB (at most ${limit / 2 ** 20} MB)`); return; }
  const result = await busy(null, async () => api(`/api/upload?name=${encodeURIComponent(file.name)}`, await file.arrayBuffer(), { raw: true }));
  if (result) result.takes.forEach(addTake);
}

function wireDrop() {
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) document.body.classList.remove("dropping"); });
  document.addEventListener("drop", (e) => {
    document.body.classList.remove("dropping");
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
  $("#file").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); e.target.value = ""; });
}

// --- start ----------------------------------------------------------------------------------------
window.addEventListener("DOMContentLoaded", async () => {
  $("#error-close").addEventListener("click", () => showError(""));
  $("#compose-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run("compose", "/api/compose", composeBody(), $("#compose"));
  });
  wireDrop();
  let resize = null;
  window.addEventListener("resize", () => {
    clearTimeout(resize);
    resize = setTimeout(() => state.takes.forEach((entry) => entry.roll.layout()), 150);
  });
  try {
    await loadStyles();
    document.body.dataset.ready = "true";
  } catch (e) {
    showError(`cannot load the styles: ${e.message}`);
  }
});
