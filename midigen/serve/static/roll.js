// A take's piano roll on a <canvas>: bars and beats across, pitch up, one colour per part, drums as
// diamonds in a strip of their own (one row per drum sound), as `midigen plot` draws them. The grid is
// drawn once into an offscreen canvas; each animation frame copies it and adds the bar selection and
// the playhead, so playing costs a blit, not a redraw. Positions are grid steps (the server's roll data:
// `steps_per_quarter` a quarter); a selection is always whole bars.
"use strict";

const PART_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#e7ba52", "#7b4173", "#3182bd"];
const NOTE_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const BLACK_KEYS = new Set([1, 3, 6, 8, 10]);
const ROLL = { left: 38, right: 4, top: 16, bottom: 4, height: 190, drumRow: 9, minSpan: 14, margin: 3 };

function partColour(index) {
  return PART_COLOURS[index % PART_COLOURS.length];
}

class Roll {
  constructor(canvas, data) {
    this.canvas = canvas;
    this.data = data;
    this.muted = new Set();
    this.selection = null; // {first, last}: bars numbered from 0
    this.playStep = null;
    this.onSelect = () => {};
    const notes = data.notes;
    const drum = (n) => data.parts[n[4]] && data.parts[n[4]].drum;
    this.melodic = notes.filter((n) => !drum(n));
    this.drums = notes.filter(drum);
    this.drumSounds = [...new Set(this.drums.map((n) => n[2]))].sort((a, b) => a - b);
    const pitches = this.melodic.map((n) => n[2]);
    let low = pitches.length ? Math.min(...pitches) - ROLL.margin : 60 - ROLL.minSpan / 2;
    let high = pitches.length ? Math.max(...pitches) + ROLL.margin : 60 + ROLL.minSpan / 2;
    const missing = ROLL.minSpan - (high - low);
    if (missing > 0) { low -= Math.floor(missing / 2); high += missing - Math.floor(missing / 2); }
    this.low = Math.max(low, 0);
    this.high = Math.min(high, 127);
    this.base = document.createElement("canvas");
    this.listen();
    this.layout();
  }

  get endStep() { return this.data.bar_starts[this.data.bar_starts.length - 1]; }

  layout() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(200, this.canvas.parentElement.clientWidth - 2); // less the canvas border
    const drumHeight = this.drumSounds.length ? this.drumSounds.length * ROLL.drumRow + 6 : 0;
    const height = (this.melodic.length || !this.drums.length ? ROLL.height : 0) + drumHeight + ROLL.top + ROLL.bottom;
    this.width = width;
    this.height = height;
    this.drumTop = height - ROLL.bottom - drumHeight;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(width * ratio);
      c.height = Math.round(height * ratio);
    }
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.ratio = ratio;
    this.drawBase();
    this.frame();
  }

  x(step) { return ROLL.left + (step / this.endStep) * (this.width - ROLL.left - ROLL.right); }

  stepAtX(x) { return ((x - ROLL.left) / (this.width - ROLL.left - ROLL.right)) * this.endStep; }

  barAtX(x) {
    const step = this.stepAtX(x);
    const starts = this.data.bar_starts;
    let bar = 0;
    while (bar < starts.length - 2 && starts[bar + 1] <= step) bar += 1;
    return bar;
  }

  y(pitch) {
    const span = this.high - this.low + 1;
    return ROLL.top + ((this.high - pitch) / span) * (this.drumTop - ROLL.top);
  }

  drawBase() {
    const g = this.base.getContext("2d");
    g.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    g.clearRect(0, 0, this.width, this.height);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, this.width, this.height);
    const rowHeight = (this.drumTop - ROLL.top) / (this.high - this.low + 1);
    if (this.drumTop > ROLL.top) {
      for (let p = this.low; p <= this.high; p++) {
        if (BLACK_KEYS.has(p % 12)) { g.fillStyle = "#f1f1f1"; g.fillRect(ROLL.left, this.y(p), this.width, rowHeight); }
        if (p % 12 === 0) {
          g.fillStyle = "#666"; g.font = "10px sans-serif"; g.textBaseline = "middle";
          g.fillText(`${NOTE_NAMES[0]}${p / 12 - 1}`, 4, this.y(p) + rowHeight / 2);
          g.fillStyle = "#d0d0d0"; g.fillRect(ROLL.left, this.y(p) + rowHeight, this.width, 1);
        }
      }
    }
    if (this.drumSounds.length) {
      g.fillStyle = "#f6f2ea";
      g.fillRect(ROLL.left, this.drumTop + 3, this.width, this.height - this.drumTop - 3);
      g.fillStyle = "#666"; g.font = "10px sans-serif"; g.textBaseline = "middle";
      g.fillText("drums", 2, this.drumTop + (this.height - this.drumTop) / 2);
    }
    const pxPerStep = (this.width - ROLL.left) / this.endStep;
    if (this.data.beats.length > 1 && (this.data.beats[1] - this.data.beats[0]) * pxPerStep >= 6) {
      g.fillStyle = "#e2e2e2";
      for (const b of this.data.beats) g.fillRect(this.x(b), ROLL.top, 1, this.height - ROLL.top);
    }
    const starts = this.data.bar_starts;
    const every = Math.max(1, 2 ** Math.ceil(Math.log2(Math.max(1, (starts.length - 1) * 28 / this.width))));
    g.font = "11px sans-serif"; g.textBaseline = "top";
    starts.forEach((s, bar) => {
      g.fillStyle = "#777";
      g.fillRect(this.x(s), ROLL.top - 3, 1, this.height - ROLL.top + 3);
      if (bar < starts.length - 1 && bar % every === 0) { g.fillStyle = "#333"; g.fillText(String(bar + 1), this.x(s) + 3, 2); }
    });
    for (const n of this.melodic) {
      const [start, duration, pitch, velocity, track] = n;
      g.globalAlpha = (this.muted.has(track) ? 0.12 : 0.45 + 0.55 * velocity / 127);
      g.fillStyle = partColour(track);
      const x0 = this.x(start);
      const w = Math.max(2, this.x(start + duration) - x0 - 1);
      g.fillRect(x0, this.y(pitch) + 0.5, w, Math.max(2, rowHeight - 1));
    }
    this.drums.forEach((n) => {
      const [start, , pitch, velocity, track] = n;
      const row = this.drumSounds.indexOf(pitch);
      const cx = this.x(start) + 1;
      const cy = this.drumTop + 6 + row * ROLL.drumRow + ROLL.drumRow / 2 - 1;
      const r = 3.5;
      g.globalAlpha = (this.muted.has(track) ? 0.12 : 0.45 + 0.55 * velocity / 127);
      g.fillStyle = partColour(track);
      g.beginPath();
      g.moveTo(cx, cy - r); g.lineTo(cx + r, cy); g.lineTo(cx, cy + r); g.lineTo(cx - r, cy); g.closePath();
      g.fill();
    });
    g.globalAlpha = 1;
  }

  frame() {
    const g = this.canvas.getContext("2d");
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.base, 0, 0);
    g.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    if (this.selection) {
      const starts = this.data.bar_starts;
      const x0 = this.x(starts[this.selection.first]);
      const x1 = this.x(starts[this.selection.last + 1]);
      g.fillStyle = "rgba(255, 200, 0, 0.25)";
      g.fillRect(x0, ROLL.top, x1 - x0, this.height - ROLL.top);
      g.strokeStyle = "rgba(200, 140, 0, 0.9)";
      g.strokeRect(x0 + 0.5, ROLL.top + 0.5, x1 - x0 - 1, this.height - ROLL.top - 1);
    }
    if (this.playStep !== null) {
      g.fillStyle = "#e00000";
      g.fillRect(this.x(this.playStep) - 1, 0, 2, this.height);
    }
  }

  setMuted(muted) { this.muted = new Set(muted); this.drawBase(); this.frame(); }

  setPlayhead(step) { this.playStep = step; this.frame(); }

  select(first, last) {
    this.selection = first === null ? null : { first: Math.min(first, last), last: Math.max(first, last) };
    this.frame();
    this.onSelect(this.selection);
  }

  // Seconds into the audio -> grid step, through the tempo map.
  stepAt(seconds) {
    const tempos = this.data.tempos.length ? this.data.tempos : [[0, 120]];
    const perQuarter = this.data.steps_per_quarter;
    let t = 0;
    for (let i = 0; i < tempos.length; i++) {
      const [step, bpm] = tempos[i];
      const next = i + 1 < tempos.length ? tempos[i + 1][0] : Infinity;
      const stepSeconds = 60 / (bpm * perQuarter);
      if (seconds < t + (next - step) * stepSeconds) return Math.min(this.endStep, step + (seconds - t) / stepSeconds);
      t += (next - step) * stepSeconds;
    }
    return this.endStep;
  }

  listen() {
    let anchor = null;
    const bar = (e) => this.barAtX(e.clientX - this.canvas.getBoundingClientRect().left);
    this.canvas.addEventListener("mousedown", (e) => {
      if (e.button !== 0) return;
      anchor = e.shiftKey && this.selection ? this.selection.first : bar(e);
      this.select(anchor, bar(e));
      e.preventDefault();
    });
    this.canvas.addEventListener("mousemove", (e) => { if (anchor !== null) this.select(anchor, bar(e)); });
    window.addEventListener("mouseup", () => { anchor = null; });
    this.canvas.addEventListener("dblclick", () => this.select(null));
  }
}

window.Roll = Roll;
window.partColour = partColour;
