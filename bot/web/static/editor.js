// The Vary (Region) editor: draw rectangles or lasso shapes over the image; the drawn area (white
// on black, at the image's own size) is sent as a PNG with the signed link's fields.
"use strict";
(() => {
  const root = document.getElementById("editor");
  const canvas = document.getElementById("editor-canvas");
  const context = canvas.getContext("2d");
  const fields = JSON.parse(root.dataset.fields);
  let tool = "rect";
  let start = null;
  let path = [];
  const shapes = [];

  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  }

  function draw(preview) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = "rgba(255,255,255,0.55)";
    for (const shape of preview ? shapes.concat([preview]) : shapes) fillShape(context, shape);
  }

  function fillShape(target, shape) {
    target.beginPath();
    if (shape.type === "rect") {
      target.rect(shape.x, shape.y, shape.w, shape.h);
    } else {
      shape.points.forEach(([x, y], i) => (i ? target.lineTo(x, y) : target.moveTo(x, y)));
      target.closePath();
    }
    target.fill();
  }

  function rect(a, b) {
    return { type: "rect", x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), w: Math.abs(a[0] - b[0]), h: Math.abs(a[1] - b[1]) };
  }

  canvas.addEventListener("pointerdown", (event) => {
    canvas.setPointerCapture(event.pointerId);
    start = point(event);
    path = [start];
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!start) return;
    const here = point(event);
    if (tool === "rect") draw(rect(start, here));
    else { path.push(here); draw({ type: "lasso", points: path }); }
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!start) return;
    const here = point(event);
    const shape = tool === "rect" ? rect(start, here) : { type: "lasso", points: path.concat([here]) };
    if (shape.type === "lasso" ? shape.points.length > 2 : shape.w > 0 && shape.h > 0) shapes.push(shape);
    start = null;
    draw();
  });
  document.querySelectorAll(".tool").forEach((button) => button.addEventListener("click", () => {
    tool = button.dataset.tool;
    document.querySelectorAll(".tool").forEach((other) => other.classList.toggle("on", other === button));
  }));
  document.getElementById("tool-clear").addEventListener("click", () => { shapes.length = 0; draw(); });

  function maskDataUrl() {
    const mask = document.createElement("canvas");
    mask.width = canvas.width;
    mask.height = canvas.height;
    const target = mask.getContext("2d");
    target.fillStyle = "#000";
    target.fillRect(0, 0, mask.width, mask.height);
    target.fillStyle = "#fff";
    for (const shape of shapes) fillShape(target, shape);
    return mask.toDataURL("image/png");
  }

  document.getElementById("region-submit").addEventListener("click", async () => {
    const error = document.getElementById("editor-error");
    error.hidden = true;
    const body = Object.assign({}, fields, { mask: maskDataUrl(), prompt: (document.getElementById("region-prompt") || { value: "" }).value });
    const response = await fetch(location.pathname, {
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
    document.getElementById("editor-done").hidden = false;
    document.getElementById("region-submit").disabled = true;
  });
})();
