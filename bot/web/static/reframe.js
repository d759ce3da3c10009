// Reframe in the editor: the picture on a new canvas (Original or an aspect preset), zoomed out
// 1–2×, dragged (or moved with the arrow keys) to where it should sit; Submit makes a Zoom job.
// The geometry is the server's (bot/engine/canvas.py zoom_layout): the canvas is the smallest of
// that shape holding the picture `zoom` times, the picture at the share x, y of the free space.
// Also the editor's tool shortcuts: R, L, B, E, S, [ and ].
"use strict";
(() => {
  const root = document.getElementById("editor");
  const frame = document.getElementById("reframe-frame");
  if (!root || !frame) return;
  const picture = document.getElementById("reframe-image");
  const zoomInput = document.getElementById("reframe-zoom");
  const zoomValue = document.getElementById("reframe-zoom-value");
  const error = document.getElementById("editor-error");
  const fields = JSON.parse(root.dataset.fields);
  const width = Number(root.dataset.width);
  const height = Number(root.dataset.height);
  const buttons = Array.from(document.querySelectorAll(".aspect"));
  const state = { aspect: "original", zoom: 1, x: 0.5, y: 0.5 };

  function ratio() {
    if (state.aspect === "original") return width / height;
    const [w, h] = state.aspect.split(":").map(Number);
    return w / h;
  }

  function layout() {
    const r = ratio();
    const canvasWidth = Math.max(width * state.zoom, height * state.zoom * r);
    const canvasHeight = canvasWidth / r;
    return { canvasWidth, canvasHeight, freeX: canvasWidth - width, freeY: canvasHeight - height };
  }

  function render() {
    const { canvasWidth, canvasHeight, freeX, freeY } = layout();
    frame.style.aspectRatio = canvasWidth + " / " + canvasHeight;
    picture.style.width = (100 * width / canvasWidth) + "%";
    picture.style.height = (100 * height / canvasHeight) + "%";
    picture.style.left = (100 * freeX * state.x / canvasWidth) + "%";
    picture.style.top = (100 * freeY * state.y / canvasHeight) + "%";
    zoomValue.textContent = state.zoom.toFixed(2).replace(/\.?0+$/, "") + "×";
    buttons.forEach((button) => button.classList.toggle("on", button.dataset.aspect === state.aspect));
  }

  const clamp = (value) => Math.min(1, Math.max(0, value));
  function choose(aspect) { state.aspect = aspect; render(); }
  function zoomTo(value) { state.zoom = Math.min(2, Math.max(1, value)); zoomInput.value = state.zoom; render(); }
  function move(dx, dy) { state.x = clamp(state.x + dx); state.y = clamp(state.y + dy); render(); }

  buttons.forEach((button) => button.addEventListener("click", () => choose(button.dataset.aspect)));
  zoomInput.addEventListener("input", () => zoomTo(Number(zoomInput.value)));

  // Dragging: the pointer's travel over the frame, as a share of the free space it moves across.
  let drag = null;
  frame.addEventListener("pointerdown", (event) => {
    frame.setPointerCapture(event.pointerId);
    drag = { x: event.clientX, y: event.clientY, start: [state.x, state.y] };
  });
  frame.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const box = frame.getBoundingClientRect();
    const { canvasWidth, canvasHeight, freeX, freeY } = layout();
    const freeWide = box.width * freeX / canvasWidth;
    const freeHigh = box.height * freeY / canvasHeight;
    state.x = freeWide > 0.5 ? clamp(drag.start[0] + (event.clientX - drag.x) / freeWide) : state.x;
    state.y = freeHigh > 0.5 ? clamp(drag.start[1] + (event.clientY - drag.y) / freeHigh) : state.y;
    render();
  });
  frame.addEventListener("pointerup", () => { drag = null; });

  function pick(tool) {
    const button = document.getElementById("tool-" + tool);
    if (button) button.click();
  }

  function resize(step) {
    const size = document.getElementById("brush-size");
    if (size) size.value = Number(size.value) + step;
  }

  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const step = event.shiftKey ? 0.25 : 0.05;
    const arrows = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const tools = { r: "rect", l: "lasso", b: "brush", e: "erase", s: "smart" };
    if (arrows[key]) move(...arrows[key]);
    else if (key >= "0" && key <= "9" && Number(key) <= buttons.length - 1) choose(buttons[Number(key)].dataset.aspect);
    else if (key === "+" || key === "=") zoomTo(state.zoom + 0.1);
    else if (key === "-" || key === "_") zoomTo(state.zoom - 0.1);
    else if (tools[key.toLowerCase()]) pick(tools[key.toLowerCase()]);
    else if (key === "[") resize(-4);
    else if (key === "]") resize(4);
    else return;
    event.preventDefault();
  });

  document.getElementById("reframe-submit").addEventListener("click", async () => {
    error.hidden = true;
    const prompt = (document.getElementById("region-prompt") || { value: "" }).value;
    const body = Object.assign({}, fields, { aspect: state.aspect, zoom: state.zoom, x: state.x, y: state.y, prompt });
    const response = await fetch(location.pathname + "/reframe", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const text = await response.text();
    let data = {};
    try { data = JSON.parse(text); } catch (e) { data = { error: { title: "Error", message: text } }; }
    if (!response.ok || data.error) {
      error.hidden = false;
      error.textContent = data.error ? data.error.title + ": " + data.error.message : "Error " + response.status;
      return;
    }
    document.getElementById("reframe-done").hidden = false;
    document.getElementById("reframe-submit").disabled = true;
    document.getElementById("region-submit").disabled = true;  // the link is spent
  });

  render();
})();
