// The editor (Vary (Region) on your images and uploads): rectangles, lasso shapes, a brush that
// paints or erases with a size, and Smart Select (a click asks the model for the object's mask);
// Undo/Redo (Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y). The drawn area (white on black, at the image's own
// size) is sent as a PNG with the signed link's fields.
"use strict";
(() => {
  const root = document.getElementById("editor");
  const canvas = document.getElementById("editor-canvas");
  const context = canvas.getContext("2d");
  const fields = JSON.parse(root.dataset.fields);
  const sizeInput = document.getElementById("brush-size");
  const error = document.getElementById("editor-error");
  let tool = "rect";
  let start = null;
  let path = [];
  const shapes = [];
  const undone = [];

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  }

  function draw(preview) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    for (const shape of preview ? shapes.concat([preview]) : shapes) paint(context, shape, false);
  }

  // One shape on the preview (translucent white; erasing clears) or on the mask (white; erasing black).
  function paint(target, shape, onMask) {
    target.save();
    const colour = onMask ? (shape.erase ? "#000" : "#fff") : "rgba(255,255,255,0.55)";
    if (shape.erase && !onMask) target.globalCompositeOperation = "destination-out";
    target.fillStyle = target.strokeStyle = shape.erase && !onMask ? "#000" : colour;
    if (shape.type === "mask") {
      if (!onMask) target.globalAlpha = 0.55;
      target.drawImage(shape.canvas, 0, 0);
    } else if (shape.type === "brush") {
      target.lineWidth = shape.size;
      target.lineCap = target.lineJoin = "round";
      target.beginPath();
      shape.points.forEach(([x, y], i) => (i ? target.lineTo(x, y) : target.moveTo(x, y)));
      if (shape.points.length === 1) target.lineTo(shape.points[0][0] + 0.01, shape.points[0][1]);
      target.stroke();
    } else {
      target.beginPath();
      if (shape.type === "rect") target.rect(shape.x, shape.y, shape.w, shape.h);
      else { shape.points.forEach(([x, y], i) => (i ? target.lineTo(x, y) : target.moveTo(x, y))); target.closePath(); }
      target.fill();
    }
    target.restore();
  }

  function rect(a, b) {
    return { type: "rect", x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), w: Math.abs(a[0] - b[0]), h: Math.abs(a[1] - b[1]) };
  }

  function brush(points) {
    return { type: "brush", points, size: Number(sizeInput ? sizeInput.value : 24), erase: tool === "erase" };
  }

  function add(shape) {
    shapes.push(shape);
    undone.length = 0;
    draw();
  }

  function showError(data) {
    error.hidden = false;
    error.textContent = data.error ? data.error.title + ": " + data.error.message : String(data);
  }

  async function smartSelect(at) {
    error.hidden = true;
    root.classList.add("busy");
    const body = Object.assign({}, fields, { x: Math.round(at[0]), y: Math.round(at[1]) });
    const response = await fetch(location.pathname + "/select", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: { title: "Error", message: response.statusText } }; }
    root.classList.remove("busy");
    if (!response.ok || data.error) { showError(data); return; }
    const picture = new Image();
    picture.onload = () => {
      // White = selected; black becomes transparent so the shape only adds the object.
      const layer = document.createElement("canvas");
      layer.width = canvas.width;
      layer.height = canvas.height;
      const target = layer.getContext("2d");
      target.drawImage(picture, 0, 0, layer.width, layer.height);
      const pixels = target.getImageData(0, 0, layer.width, layer.height);
      for (let i = 0; i < pixels.data.length; i += 4) {
        const on = pixels.data[i] >= 128;
        pixels.data[i] = pixels.data[i + 1] = pixels.data[i + 2] = 255;
        pixels.data[i + 3] = on ? 255 : 0;
      }
      target.putImageData(pixels, 0, 0);
      add({ type: "mask", canvas: layer });
    };
    picture.src = data.mask;
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (tool === "smart") { smartSelect(point(event)); return; }
    canvas.setPointerCapture(event.pointerId);
    start = point(event);
    path = [start];
    if (tool === "brush" || tool === "erase") draw(brush(path));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!start) return;
    const here = point(event);
    if (tool === "rect") draw(rect(start, here));
    else if (tool === "lasso") { path.push(here); draw({ type: "lasso", points: path }); }
    else { path.push(here); draw(brush(path)); }
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!start) return;
    const here = point(event);
    let shape;
    if (tool === "rect") shape = rect(start, here);
    else if (tool === "lasso") shape = { type: "lasso", points: path.concat([here]) };
    else shape = brush(path.concat([here]));
    start = null;
    const drawn = shape.type === "rect" ? shape.w > 0 && shape.h > 0 : shape.type === "brush" || shape.points.length > 2;
    if (drawn) add(shape); else draw();
  });
  document.querySelectorAll(".tool").forEach((button) => button.addEventListener("click", () => {
    tool = button.dataset.tool;
    document.querySelectorAll(".tool").forEach((other) => other.classList.toggle("on", other === button));
  }));
  function undo() { if (shapes.length) { undone.push(shapes.pop()); draw(); } }
  function redo() { if (undone.length) { shapes.push(undone.pop()); draw(); } }
  document.getElementById("tool-clear").addEventListener("click", () => { shapes.length = 0; undone.length = 0; draw(); });
  document.getElementById("tool-undo").addEventListener("click", undo);
  document.getElementById("tool-redo").addEventListener("click", redo);
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.target.tagName === "INPUT") return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) { event.preventDefault(); undo(); }
    else if (key === "y" || (key === "z" && event.shiftKey)) { event.preventDefault(); redo(); }
  });

  function maskDataUrl() {
    const mask = document.createElement("canvas");
    mask.width = canvas.width;
    mask.height = canvas.height;
    const target = mask.getContext("2d");
    target.fillStyle = "#000";
    target.fillRect(0, 0, mask.width, mask.height);
    for (const shape of shapes) paint(target, shape, true);
    return mask.toDataURL("image/png");
  }

  document.getElementById("region-submit").addEventListener("click", async () => {
    error.hidden = true;
    const body = Object.assign({}, fields, { mask: maskDataUrl(), prompt: (document.getElementById("region-prompt") || { value: "" }).value });
    const response = await fetch(location.pathname, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const text = await response.text();
    let data = {};
    try { data = JSON.parse(text); } catch (e) { data = { error: { title: "Error", message: text } }; }
    if (!response.ok || data.error) { showError(data.error ? data : "Error " + response.status); return; }
    document.getElementById("editor-done").hidden = false;
    document.getElementById("region-submit").disabled = true;
  });
})();
