// Images on the Create page's prompt bar, as on midjourney.com: drop, paste or pick (🖼) a
// picture → it is uploaded (POST /api/uploads: stored as an upload job of yours) → a chip with its
// thumbnail and its role: Image Prompt, Style Reference (--sref) or Omni Reference (--oref). On
// submit each chip becomes its link (`<web app>/images/<job>/<n>.png`, which the bot reads from
// its own store): image prompts at the start of the prompt, references as parameters (merged with
// any typed --sref / --oref). "Use as --sref" / "Use as image prompt" elsewhere open this page
// with `?sref=` / `?image=` / `?oref=` (a picture's path) and `&server=`. No build step.
"use strict";
const MJChips = (() => {
  const ROLES = [["image", "Image Prompt"], ["sref", "Style Reference"], ["oref", "Omni Reference"]];
  const TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
  let box = null;

  const error = () => document.getElementById("prompt-error");
  function fail(message) {
    const line = error();
    line.hidden = false;
    line.textContent = "Invalid image: " + message;
  }

  // The link a picture's path becomes: PUBLIC_URL's address when set, else this page's.
  const absolute = (path) => new URL(path, box.dataset.linkBase || location.origin).href;
  // The thumbnail: the same picture from this page's address (where the session cookie is).
  const local = (path) => new URL(path, location.origin).pathname;

  function chip(role) {
    const node = document.createElement("span");
    node.className = "chip";
    node.dataset.role = role;
    const thumb = document.createElement("img");
    thumb.alt = "";
    const select = document.createElement("select");
    select.className = "chip-role";
    select.setAttribute("aria-label", "Use this image as");
    for (const [value, label] of ROLES) select.appendChild(new Option(label, value, false, value === role));
    select.addEventListener("change", () => { node.dataset.role = select.value; });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.title = "Remove this image";
    remove.textContent = "✕";
    remove.addEventListener("click", () => node.remove());
    node.append(thumb, select, remove);
    box.appendChild(node);
    return node;
  }

  // A picture of ours (its path, e.g. /images/<job>/0.png) as a chip.
  function add(path, role) {
    const node = chip(role || "image");
    node.dataset.link = absolute(path);
    node.querySelector("img").src = local(path);
    return node;
  }

  async function upload(file) {
    error().hidden = true;
    if (!TYPES.includes(file.type)) {
      fail(`${file.name || "That file"} is not a PNG, JPEG, WebP or GIF picture.`);
      return;
    }
    const most = parseInt(box.dataset.maxBytes, 10);
    if (most && file.size > most) {
      fail(`${file.name} is larger than ${Math.floor(most / (1024 * 1024))} MB.`);
      return;
    }
    const node = chip("image");
    node.classList.add("uploading");
    node.querySelector("img").src = URL.createObjectURL(file);
    const body = new FormData();
    body.set("image", file);
    const server = document.getElementById("server");
    if (server) body.set("server", server.value);
    const data = await MJ.postForm("/api/uploads", body);
    node.classList.remove("uploading");
    if (!data || data.error || !data.jobs[0].images.length) {
      node.remove();
      if (data && data.error) MJ.showError(error(), data.error);
      return;
    }
    const path = data.jobs[0].images[0].url;
    node.dataset.link = absolute(path);
    node.dataset.job = data.job;
  }

  const chips = () => [...box.querySelectorAll(".chip[data-link]")];

  // The prompt with the chips' links: image prompts first, then --sref / --oref (merged with
  // the typed ones, which the parser would otherwise replace).
  function compose(text) {
    if (!box || !chips().length) return text;
    const of = (role) => chips().filter((node) => node.dataset.role === role).map((node) => node.dataset.link);
    const target = { value: text };
    for (const key of ["sref", "oref"]) {
      const links = of(key);
      if (!links.length) continue;
      const typed = MJPanel.readParam(target, key);
      const values = [typed ? MJPanel.valueOf(typed) : "", ...links].filter(Boolean);
      MJPanel.setParam(target, key, "--" + key + " " + values.join(" "));
    }
    return [...of("image"), target.value].filter(Boolean).join(" ");
  }

  function clear() { if (box) box.replaceChildren(); }

  function init() {
    box = document.getElementById("prompt-chips");
    const bar = document.getElementById("prompt-bar");
    if (!box || !bar) return;
    const picker = document.getElementById("prompt-image");
    document.getElementById("add-image").addEventListener("click", () => picker.click());
    picker.addEventListener("change", () => { [...picker.files].forEach(upload); picker.value = ""; });
    bar.addEventListener("dragover", (event) => { event.preventDefault(); bar.classList.add("dragging"); });
    bar.addEventListener("dragleave", () => bar.classList.remove("dragging"));
    bar.addEventListener("drop", (event) => {
      event.preventDefault();
      bar.classList.remove("dragging");
      const files = [...(event.dataTransfer?.files || [])];
      if (files.length) { files.forEach(upload); return; }
      // A picture of this web app dragged from another tab: its link, no upload.
      const link = (event.dataTransfer?.getData("text/uri-list") || "").split("\n")[0].trim();
      const path = link ? new URL(link, location.origin).pathname : "";
      if (/^\/images\/[0-9a-f-]{36}\/\d{1,2}\.png$/.test(path)) add(path, "image");
      else if (link) fail("drop a picture file, or one of this site's images.");
    });
    document.getElementById("prompt").addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      files.forEach(upload);
    });
    // "Use as --sref" / "Use as image prompt" from a job page, the lightbox or a gallery.
    const query = new URLSearchParams(location.search);
    for (const role of ["image", "sref", "oref"]) {
      const path = query.get(role);
      if (path && /^\/images\/[0-9a-f-]{36}\/\d{1,2}\.png$/.test(path)) add(path, role);
    }
    const server = document.getElementById("server");
    const wanted = query.get("server");
    if (server && wanted && [...server.options].some((option) => option.value === wanted)) {
      server.value = wanted;
      server.dispatchEvent(new Event("change"));
    }
  }

  document.addEventListener("DOMContentLoaded", init);
  return { add, upload, compose, clear };
})();
