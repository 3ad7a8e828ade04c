// fastcalc explorer: sends the inputs to the local server, draws what it answers.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { seq: 0, shown: 0, mode: "1d" };

function fmt(v, digits = 10) {
  return (v === null || v === undefined) ? "—" : Number(v).toPrecision(digits).replace(/\.?0+(e|$)/, "$1");
}
function fmtErr(v) { return (v === null || v === undefined) ? "—" : Number(v).toExponential(1); }

function request1d() {
  return { expr: $("expr").value, a: $("range-a").value, b: $("range-b").value, n: 500,
           x0: Number($("x0").value), degree: Number($("degree").value),
           lo: Number($("lo").value), hi: Number($("hi").value) };
}
function request2d() {
  return { expr: $("expr").value, a: $("range-a").value, b: $("range-b").value,
           c: $("range-c").value, d: $("range-d").value, n: 60,
           px: $("px").value, py: $("py").value };
}

async function post(path, body) {
  const seq = ++state.seq;
  let res, data;
  try {
    res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                              body: JSON.stringify(body) });
    data = await res.json();
  } catch (e) {
    data = { error: "no answer from the server (is `fastcalc explore` still running?)" };
  }
  if (seq < state.shown) return null;          // a newer answer is already on the page
  state.shown = seq;
  if (!res || !res.ok || data.error) {
    clearShown();           // never leave the previous function's numbers next to an error
    $("message").textContent = data.error || ("error " + (res && res.status));
    document.body.dataset.status = "error";
    document.body.dataset.answer = JSON.stringify(body);
    return null;
  }
  $("message").textContent = "";
  document.body.dataset.answer = JSON.stringify(body);   // which request the page now shows
  $("warnings").textContent = (data.warnings || []).join(" · ");
  document.body.dataset.status = "ok";
  return data;
}

const NUMBERS = ["x0-value", "f0", "slope", "slope-error", "second", "taylor-at", "taylor-value",
                 "taylor-f", "taylor-error", "area-lo", "area-hi", "area", "area-error", "fxy",
                 "grad", "eigs", "kind"];
function clearShown() {
  for (const id of NUMBERS) $(id).textContent = "—";
  $("warnings").textContent = "";
  const empty = { title: { text: "nothing to draw: see the message above", font: { size: 14 } } };
  for (const id of ["chart-f", "chart-err", "chart-2d"]) Plotly.react(id, [], empty);
}

function usesY(text) { return /(^|[^a-z_])y([^a-z_0-9]|$)/i.test(text); }

function setSliderRange() {
  const a = Number($("range-a").value), b = Number($("range-b").value);
  if (!(a < b)) return;
  for (const id of ["x0", "lo", "hi"]) {
    const s = $(id); s.min = a; s.max = b; s.step = (b - a) / 800;
  }
}

async function update() {
  const mode = usesY($("expr").value) ? "2d" : "1d";
  state.mode = mode;
  $("panel-1d").classList.toggle("hidden", mode !== "1d");
  $("panel-2d").classList.toggle("hidden", mode !== "2d");
  $("yrange").classList.toggle("hidden", mode !== "2d");
  document.body.dataset.status = "busy";
  if (mode === "1d") {
    setSliderRange();
    const data = await post("api/1d", request1d());
    if (data) draw1d(data);
  } else {
    const data = await post("api/2d", request2d());
    if (data) draw2d(data);
  }
}

function draw1d(d) {
  const p = d.point, t = d.taylor_info, ar = d.area;
  $("x0-value").textContent = fmt(p.x0, 6);
  $("f0").textContent = fmt(p.f0);
  $("slope").textContent = fmt(p.slope);
  $("slope-error").textContent = fmtErr(p.slope_error);
  $("second").textContent = fmt(p.second);
  $("taylor-at").textContent = fmt(t.at, 6);
  $("taylor-value").textContent = fmt(t.value);
  $("taylor-f").textContent = fmt(t.f_at);
  $("taylor-error").textContent = fmtErr(t.error);
  $("area-lo").textContent = fmt(ar.lo, 6);
  $("area-hi").textContent = fmt(ar.hi, 6);
  $("area").textContent = fmt(ar.value);
  $("area-error").textContent = fmtErr(ar.error);

  const x = d.x, traces = [];
  // the shaded area: f restricted to [lo, hi]
  const xa = [], ya = [];
  x.forEach((xi, i) => { if (xi >= ar.lo && xi <= ar.hi) { xa.push(xi); ya.push(d.f[i]); } });
  traces.push({ x: xa, y: ya, fill: "tozeroy", mode: "none", name: "area",
                fillcolor: "rgba(31,119,180,0.2)", hoverinfo: "skip" });
  traces.push({ x: x, y: d.f, name: "f", line: { color: "black", width: 2.5 } });
  traces.push({ x: x, y: d.df, name: "f'", line: { color: "#ff7f0e" } });
  traces.push({ x: x, y: d.d2f, name: "f''", line: { color: "#2ca02c" }, visible: "legendonly" });
  if (p.slope !== null) {
    const tan = x.map((xi) => p.f0 + p.slope * (xi - p.x0));
    traces.push({ x: x, y: tan, name: "tangent", line: { color: "#d62728", dash: "dash" } });
    traces.push({ x: [p.x0], y: [p.f0], mode: "markers", name: "x0",
                  marker: { color: "#d62728", size: 10 } });
  }
  traces.push({ x: x, y: d.taylor, name: "Taylor degree " + t.degree,
                line: { color: "#9467bd", dash: "dot", width: 2.5 } });
  const finite = d.f.filter((v) => v !== null);
  let lo = Math.min(...finite), hi = Math.max(...finite);
  const pad = 0.15 * ((hi - lo) || 1);
  const layout = {
    margin: { t: 30, r: 10, b: 40, l: 60 }, title: { text: "f = " + d.expr, font: { size: 14 } },
    yaxis: { range: [lo - pad, hi + pad] }, xaxis: { range: [x[0], x[x.length - 1]] },
    legend: { orientation: "h" },
    shapes: [
      { type: "line", x0: ar.lo, x1: ar.lo, yref: "paper", y0: 0, y1: 1, line: { dash: "dash", color: "#1f77b4" } },
      { type: "line", x0: ar.hi, x1: ar.hi, yref: "paper", y0: 0, y1: 1, line: { dash: "dash", color: "#1f77b4" } },
      { type: "line", x0: p.x0, x1: p.x0, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#d62728" } },
    ],
  };
  const config = { responsive: true, displaylogo: false, edits: { shapePosition: true } };
  Plotly.react("chart-f", traces, layout, config);
  const err = d.taylor_error.map((v) => (v === null || v <= 0) ? null : v);
  Plotly.react("chart-err", [{ x: x, y: err, name: "|f - p|", line: { color: "#9467bd" } }],
               { margin: { t: 25, r: 10, b: 40, l: 60 }, yaxis: { type: "log", exponentformat: "e" },
                 title: { text: "Taylor error |f − p|", font: { size: 13 } },
                 xaxis: { range: [x[0], x[x.length - 1]] } }, { responsive: true, displaylogo: false });
}

function draw2d(d) {
  const p = d.point;
  $("fxy").textContent = fmt(p.f);
  $("grad").textContent = p.grad ? "(" + fmt(p.grad[0], 8) + ", " + fmt(p.grad[1], 8) + ")" : "—";
  $("eigs").textContent = p.eigenvalues ? fmt(p.eigenvalues[0], 8) + ", " + fmt(p.eigenvalues[1], 8) : "—";
  const words = { minimum: "both eigenvalues > 0 (bowl: a minimum if the gradient is 0)",
                  maximum: "both eigenvalues < 0 (cap: a maximum if the gradient is 0)",
                  saddle: "eigenvalues of both signs (saddle)",
                  degenerate: "an eigenvalue ≈ 0 (degenerate: the Hessian cannot decide)" };
  $("kind").textContent = p.kind ? (p.kind + (p.critical ? " — critical point: " : " — ") + words[p.kind]) : "—";
  const traces = [{ type: "contour", x: d.x, y: d.y, z: d.z, colorscale: "Viridis", ncontours: 25,
                    contours: { coloring: "lines" }, name: "f" },
                  { x: [p.px], y: [p.py], mode: "markers", marker: { color: "#d62728", size: 10 },
                    name: "point" }];
  const annotations = [];
  if (p.grad) {
    const span = Math.max(d.x[d.x.length - 1] - d.x[0], d.y[d.y.length - 1] - d.y[0]);
    const norm = Math.hypot(p.grad[0], p.grad[1]);
    const s = norm > 0 ? 0.15 * span / norm : 0;
    annotations.push({ x: p.px + s * p.grad[0], y: p.py + s * p.grad[1], ax: p.px, ay: p.py,
                       xref: "x", yref: "y", axref: "x", ayref: "y", showarrow: true,
                       arrowhead: 3, arrowwidth: 2.5, arrowcolor: "#d62728", text: "" });
  }
  Plotly.react("chart-2d", traces, {
    margin: { t: 30, r: 10, b: 40, l: 50 }, title: { text: "f = " + d.expr + " (arrow: ∇f)", font: { size: 14 } },
    xaxis: { range: [d.x[0], d.x[d.x.length - 1]] },
    yaxis: { range: [d.y[0], d.y[d.y.length - 1]], scaleanchor: "x" }, annotations: annotations,
    showlegend: false }, { responsive: true, displaylogo: false });
}

let timer = null;
function soon() { clearTimeout(timer); timer = setTimeout(update, 30); }

$("plot").addEventListener("click", update);
$("expr").addEventListener("keydown", (e) => { if (e.key === "Enter") update(); });
for (const id of ["range-a", "range-b", "range-c", "range-d", "px", "py"]) {
  $(id).addEventListener("change", update);
}
for (const id of ["x0", "lo", "hi"]) $(id).addEventListener("input", soon);
$("degree").addEventListener("change", update);

function hookCharts() {
  const f = $("chart-f");
  f.on("plotly_click", (ev) => {
    if (!ev.points || !ev.points.length) return;
    $("x0").value = ev.points[0].x; update();
  });
  f.on("plotly_relayout", (ev) => {   // a dashed line was dragged
    const moved = { "shapes[0].x0": "lo", "shapes[1].x0": "hi", "shapes[2].x0": "x0" };
    let changed = false;
    for (const key in moved) if (key in ev) { $(moved[key]).value = ev[key]; changed = true; }
    if (changed) update();
  });
  $("chart-2d").on("plotly_click", (ev) => {
    if (!ev.points || !ev.points.length) return;
    $("px").value = Number(ev.points[0].x).toPrecision(6);
    $("py").value = Number(ev.points[0].y).toPrecision(6);
    update();
  });
}

Plotly.newPlot("chart-f", [], {}).then(() => Plotly.newPlot("chart-2d", [], {})).then(() => {
  hookCharts(); update();
});
