// @ts-check
// Styles of <vae-playground>, adopted into its shadow root as one constructable
// stylesheet shared by every instance (no inline styles: works under a strict CSP).
export const css = `
:host {
  --bg: #ffffff;
  --panel: #f6f7f9;
  --line: #dfe3e8;
  --text: #1b1f24;
  --muted: #5b6470;
  --accent: #4f46e5;
  --accent-text: #ffffff;
  --accent-soft: #e8e7fd;
  --warn-bg: #fff6e0;
  --warn-line: #f0c36a;
  --warn-text: #5c4100;
  --err-bg: #fdecec;
  --err-line: #ef9a9a;
  --err-text: #7a1010;
  --ink: #111318;
  --paper: #ffffff;
  --series-total: #4f46e5;
  --series-recon: #0f9d76;
  --series-kl: #d9480f;
  --grid-line: #e9ecef;
  --radius: 12px;
  /* A host page's rules beat :host ones unless these are !important: a global
     reset such as * { all: unset } must not make the element inline or collapse it. */
  display: block !important;
  box-sizing: border-box !important;
  container-type: inline-size !important;
  min-width: 0;
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) {
    --bg: #15181d;
    --panel: #1c2027;
    --line: #2e343d;
    --text: #e6e9ee;
    --muted: #9aa4b2;
    --accent: #8b85ff;
    --accent-text: #0d0f14;
    --accent-soft: #26264a;
    --warn-bg: #2e2512;
    --warn-line: #7a5a16;
    --warn-text: #f4d58d;
    --err-bg: #351717;
    --err-line: #8a3030;
    --err-text: #ffc4c4;
    --ink: #f2f4f8;
    --paper: #0e1014;
    --series-total: #8b85ff;
    --series-recon: #3dd6a3;
    --series-kl: #ff9a5c;
    --grid-line: #262b33;
  }
}
:host([theme="dark"]) {
  --bg: #15181d; --panel: #1c2027; --line: #2e343d; --text: #e6e9ee; --muted: #9aa4b2;
  --accent: #8b85ff; --accent-text: #0d0f14; --accent-soft: #26264a;
  --warn-bg: #2e2512; --warn-line: #7a5a16; --warn-text: #f4d58d;
  --err-bg: #351717; --err-line: #8a3030; --err-text: #ffc4c4;
  --ink: #f2f4f8; --paper: #0e1014;
  --series-total: #8b85ff; --series-recon: #3dd6a3; --series-kl: #ff9a5c; --grid-line: #262b33;
}
:host([hidden]) { display: none !important; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }

/* Everything visible hangs off .wrap, which cuts every inherited property loose
   from the host page (huge fonts, odd colours, letter-spacing...) before styling. */
.wrap {
  all: initial;
  display: grid; gap: 14px; padding: 16px;
  color: var(--text); background: var(--bg);
  border: 1px solid var(--line); border-radius: var(--radius);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  text-align: left;
}

/* status bar */
.status {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px;
  padding: 10px 14px; background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
}
.pill {
  display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px;
  background: var(--accent-soft); color: var(--text); font-weight: 600; font-size: 13px;
  max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.pill .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--muted); flex: none; }
.pill[data-backend="webgpu"] .dot { background: #22c55e; }
.pill[data-backend="cpu"] .dot { background: #f59e0b; }
.stats { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0; font-size: 13px; color: var(--muted); }
.stats div { display: flex; gap: 5px; }
.stats dt { margin: 0; }
.stats dd { margin: 0; color: var(--text); font-variant-numeric: tabular-nums; font-weight: 600; min-width: 2ch; }
.progress { display: flex; align-items: center; gap: 8px; font-size: 13px; color: var(--muted); margin-left: auto; }
progress { width: 140px; height: 8px; appearance: none; border: none; border-radius: 999px; overflow: hidden; background: var(--line); }
progress::-webkit-progress-bar { background: var(--line); border-radius: 999px; }
progress::-webkit-progress-value { background: var(--accent); border-radius: 999px; }
progress::-moz-progress-bar { background: var(--accent); }

.notice {
  padding: 10px 14px; border-radius: 10px; border: 1px solid var(--warn-line);
  background: var(--warn-bg); color: var(--warn-text); font-size: 14px;
}
.notice strong { display: block; margin-bottom: 2px; }
.notice.error { border-color: var(--err-line); background: var(--err-bg); color: var(--err-text); }
.notice button { margin-top: 8px; }

/* layout */
.main { display: grid; grid-template-columns: minmax(220px, 270px) minmax(0, 1fr); gap: 14px; align-items: start; }
:host([controls="none"]) .main { grid-template-columns: minmax(0, 1fr); }
.views { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.card {
  background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px;
  min-width: 0;
}
.card.wide, .card.solo { grid-column: 1 / -1; }
.card h3 { margin: 0 0 2px; font-size: 15px; font-weight: 650; }
.card .sub { margin: 0 0 10px; font-size: 13px; color: var(--muted); }
.card header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 12px; }

canvas.digits {
  display: block; width: 100%; height: auto; max-width: 420px; margin: 0 auto;
  image-rendering: pixelated; border-radius: 6px; background: var(--paper);
  border: 1px solid var(--line);
}
.recon-rows { display: grid; grid-template-columns: auto minmax(0, 560px); justify-content: start; gap: 6px 10px; align-items: center; }
.recon-rows span { font-size: 12px; color: var(--muted); text-align: right; }
canvas.recon { max-width: none; }

/* chart */
.chart-box { position: relative; width: 100%; height: 240px; }
.chart-box canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0 0; padding: 0; list-style: none; font-size: 12px; color: var(--muted); }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.swatch { width: 18px; height: 0; border-top: 3px solid; display: inline-block; }
.swatch.dashed { border-top-style: dashed; border-top-width: 2px; }
.swatch.total { border-color: var(--series-total); }
.swatch.recon { border-color: var(--series-recon); }
.swatch.kl { border-color: var(--series-kl); }
.check { display: inline-flex; gap: 6px; align-items: center; font-size: 13px; color: var(--muted); cursor: pointer; }

/* controls */
.controls { display: grid; gap: 12px; }
.buttons { display: flex; gap: 8px; }
button {
  font: inherit; font-weight: 600; border-radius: 8px; padding: 8px 14px; cursor: pointer;
  border: 1px solid var(--line); background: var(--bg); color: var(--text); min-height: 40px;
}
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); flex: 1; }
button:hover { filter: brightness(1.06); }
button:disabled { opacity: 0.55; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.field { display: grid; gap: 4px; font-size: 13px; }
.field > span, .field legend { display: flex; justify-content: space-between; gap: 8px; color: var(--muted); font-weight: 600; padding: 0; }
.field output { color: var(--text); font-variant-numeric: tabular-nums; }
.field small { color: var(--muted); font-size: 12px; }
fieldset.field { border: 0; margin: 0; padding: 0; min-width: 0; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
select, input[type="number"] {
  font: inherit; width: 100%; min-height: 36px; padding: 6px 8px; border-radius: 8px;
  border: 1px solid var(--line); background: var(--bg); color: var(--text);
}
input[type="range"] { width: 100%; accent-color: var(--accent); margin: 2px 0; }
.radios { display: flex; gap: 14px; }
.radios label { display: inline-flex; gap: 5px; align-items: center; color: var(--text); font-weight: 400; cursor: pointer; }
input[type="radio"], input[type="checkbox"] { accent-color: var(--accent); }
.hint { font-size: 12px; color: var(--muted); margin: 0; }

.bench { font-size: 14px; }
.bench table { border-collapse: collapse; width: 100%; }
.bench th, .bench td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
.bench td.num { text-align: right; font-variant-numeric: tabular-nums; }

dialog {
  border: 1px solid var(--line); border-radius: 12px; padding: 18px 20px; max-width: min(420px, 92vw);
  background: var(--bg); color: var(--text);
}
dialog::backdrop { background: rgb(0 0 0 / 0.45); }
dialog h3 { margin: 0 0 6px; font-size: 17px; }
dialog p { margin: 0 0 14px; color: var(--muted); }
dialog .buttons { justify-content: flex-end; }

/* explore views: scatter, draw, interpolate, inpaint, traverse, KL.
   Cards out of view skip layout and paint (the page grew by six views; each
   canvas they redraw while training would otherwise repaint off screen). */
.views > .card[data-view] { content-visibility: auto; contain-intrinsic-size: auto 420px; }
.scatter-opts, .draw-opts, .interp-opts { display: inline-flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; }
.scatter-opts select { width: auto; min-height: 30px; padding: 2px 6px; }
.scatter-box { position: relative; width: 100%; max-width: 420px; margin: 0 auto; }
canvas.scatter, canvas.pad, canvas.damage {
  display: block; width: 100%; height: auto; aspect-ratio: 1; border-radius: 6px;
  border: 1px solid var(--line); background: var(--paper); touch-action: none; cursor: crosshair;
}
canvas.pad { max-width: 280px; }
canvas.damage { max-width: 224px; image-rendering: pixelated; }
.tip {
  position: absolute; z-index: 2; width: 150px; padding: 6px 8px; border-radius: 8px; pointer-events: none;
  background: var(--bg); color: var(--text); border: 1px solid var(--line); box-shadow: 0 4px 14px rgb(0 0 0 / 0.18);
  font-size: 12px;
}
.tip-imgs { display: flex; gap: 6px; margin-bottom: 4px; }
.tip-imgs canvas.digits { width: 56px; margin: 0; }
.legend.classes li { gap: 4px; }
canvas.marker { width: 14px; height: 14px; }
.draw-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.draw-row canvas.pad { flex: 1 1 200px; }
.draw-out { display: grid; grid-template-columns: 84px; gap: 4px; font-size: 12px; color: var(--muted); }
.draw-out canvas.digits { width: 84px; margin: 0 0 6px; }
.draw-opts input[type="range"] { width: 90px; }
.picker { display: flex; flex-wrap: wrap; gap: 6px; margin: 0 0 10px; }
button.thumb { padding: 3px; min-height: 0; width: 44px; height: 44px; border-radius: 8px; font-size: 18px; line-height: 1; }
button.thumb canvas.digits { width: 36px; height: 36px; margin: 0; border: 0; }
button.thumb[aria-pressed="true"] { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); }
.interp-ends { display: flex; gap: 18px; margin: 0 0 8px; font-size: 13px; color: var(--muted); }
.interp-ends .end { display: inline-flex; gap: 6px; align-items: center; cursor: pointer; }
.interp-ends canvas.digits { width: 40px; margin: 0; }
.interp-opts input[type="range"] { width: 110px; }
.interp-strip { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
canvas.istrip { max-width: none; flex: 1 1 320px; margin: 0; }
canvas.iframe { width: 112px; flex: none; margin: 0; }
.inpaint-row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.inpaint-tools { display: grid; gap: 10px; flex: 1 1 220px; max-width: 320px; }
.inpaint-tools .radios { flex-wrap: wrap; gap: 6px 12px; }
.inpaint-canvas { flex: 0 1 224px; min-width: 160px; }
.inpaint-result { margin-top: 12px; }
.inpaint-result canvas.digits { margin: 0; }
.inpaint-result canvas.inp-orig, .inpaint-result canvas.inp-damaged { width: 56px; }
.inpaint-result canvas.inp-steps { max-width: 448px; }
.inpaint-error { margin: 8px 0 0; font-size: 13px; }
.traverse-rows { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 6px; align-items: stretch; }
.trows { display: grid; grid-template-rows: repeat(var(--rows, 8), 1fr); margin: 0; padding: 0; list-style: none; font-size: 12px; }
.trows li { display: flex; align-items: center; gap: 2px; font-variant-numeric: tabular-nums; }
.trows small { color: var(--muted); }
canvas.tgrid { margin: 0; max-width: 360px; }
.taxis { display: flex; justify-content: space-between; max-width: 360px; margin: 2px 0 0 auto; font-size: 11px; color: var(--muted); }
.kl-count { margin: 0 0 6px; font-size: 13px; color: var(--muted); }
.kl-count strong { color: var(--text); font-size: 17px; }
.kl-box { height: 180px; }
.loss-extra { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin-top: 10px; font-size: 13px; }
.loss-extra .iwae-out { color: var(--text); }
.loss-extra progress { width: 120px; }

.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); border: 0; white-space: nowrap; }

@container (max-width: 760px) {
  .main { grid-template-columns: minmax(0, 1fr); }
  .progress { margin-left: 0; }
}
@container (max-width: 560px) {
  .wrap { padding: 10px; gap: 10px; }
  .views { grid-template-columns: minmax(0, 1fr); }
  .chart-box { height: 200px; }
}
`;
