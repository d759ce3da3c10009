// The lightbox of the Archive, Favourites and gallery pages: a click on a picture shows it large
// and uncropped; ← / → step through the page's pictures, Esc closes, U opens the image (its page,
// with every button), V makes variations of it (a new job of yours), S / I put it in the Create
// page's prompt bar as a style reference / image prompt. No build step.
"use strict";
(() => {
  const PICTURES = ":is(#archive, #favourites, #gallery) a.card[data-picture]";
  const cards = () => [...document.querySelectorAll(PICTURES)];
  let box = null;
  let at = -1;

  // /jobs/<id> (a grid: image 1) or /jobs/<id>/<n>.
  function target(card) {
    const match = /^\/jobs\/([0-9a-f-]{36})(?:\/(\d+))?$/.exec(new URL(card.href).pathname);
    return match ? { job: match[1], n: match[2] ? parseInt(match[2], 10) : 1 } : null;
  }

  function build() {
    box = document.createElement("div");
    box.id = "lightbox";
    box.className = "lightbox";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.innerHTML =
      '<button type="button" class="lb-close" aria-label="Close (Esc)">✕</button>' +
      '<button type="button" class="lb-prev" aria-label="Previous (←)">‹</button>' +
      '<figure><img id="lightbox-image" alt=""><figcaption id="lightbox-caption"></figcaption></figure>' +
      '<button type="button" class="lb-next" aria-label="Next (→)">›</button>' +
      '<div class="lb-actions"><button type="button" id="lightbox-u" title="Open the image (U)">U Open</button>' +
      '<button type="button" id="lightbox-v" title="Variations (V)">V Variations</button>' +
      '<button type="button" id="lightbox-sref" title="Open Create with this image as a style reference (S)">Use as --sref</button>' +
      '<button type="button" id="lightbox-image-prompt" title="Open Create with this image as an image prompt (I)">Use as image prompt</button>' +
      '<p id="lightbox-status" role="status"></p></div>';
    document.body.appendChild(box);
    box.querySelector(".lb-close").addEventListener("click", close);
    box.querySelector(".lb-prev").addEventListener("click", () => step(-1));
    box.querySelector(".lb-next").addEventListener("click", () => step(1));
    box.querySelector("#lightbox-u").addEventListener("click", openImage);
    box.querySelector("#lightbox-v").addEventListener("click", vary);
    box.querySelector("#lightbox-sref").addEventListener("click", () => use("sref"));
    box.querySelector("#lightbox-image-prompt").addEventListener("click", () => use("image"));
    box.addEventListener("click", (event) => { if (event.target === box) close(); });
  }

  function show(index) {
    const list = cards();
    if (!list.length) return;
    at = (index + list.length) % list.length;
    const card = list[at];
    if (!box) build();
    box.hidden = false;
    box.dataset.index = String(at);
    const image = box.querySelector("#lightbox-image");
    image.src = card.dataset.picture;
    image.alt = card.dataset.prompt || "";
    box.querySelector("#lightbox-caption").textContent = card.dataset.prompt || "";
    box.querySelector("#lightbox-status").textContent = "";
  }

  function close() { if (box) box.hidden = true; at = -1; }
  function step(by) { show(at + by); }
  const open = () => box && !box.hidden;

  function openImage() {
    const goal = target(cards()[at]);
    if (goal) location.href = "/jobs/" + goal.job + "/" + goal.n;
  }

  // The image (of a grid: image 1, as U and V) into the Create page's prompt bar as a chip
  // (static/chips.js); a gallery's image in that server, where its members may use it.
  function use(role) {
    const goal = target(cards()[at]);
    if (!goal) return;
    const path = "/images/" + goal.job + "/" + (goal.n - 1) + ".png";
    const server = /^\/servers\/(\d+)$/.exec(location.pathname);
    location.href = "/?" + role + "=" + encodeURIComponent(path) + (server ? "&server=" + server[1] : "");
  }

  async function vary() {
    const goal = target(cards()[at]);
    const status = box.querySelector("#lightbox-status");
    if (!goal) return;
    status.textContent = "Starting variations…";
    const data = await MJ.post("/api/jobs/" + goal.job + "/actions", { action: "variation", index: goal.n });
    if (!data) return;
    if (data.error) { status.textContent = data.error.title + ": " + data.error.message; return; }
    status.replaceChildren("Variations started: ");
    const link = document.createElement("a");
    link.href = data.jobs[0].url;
    link.id = "lightbox-made";
    link.textContent = "open";
    status.appendChild(link);
  }

  document.addEventListener("click", (event) => {
    const card = event.target.closest && event.target.closest(PICTURES);
    if (!card || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    show(cards().indexOf(card));
  });
  document.addEventListener("keydown", (event) => {
    if (!open() || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (key === "Escape") close();
    else if (key === "ArrowLeft") step(-1);
    else if (key === "ArrowRight") step(1);
    else if (key === "u" || key === "U") openImage();
    else if (key === "v" || key === "V") vary();
    else if (key === "s" || key === "S") use("sref");
    else if (key === "i" || key === "I") use("image");
    else return;
    event.preventDefault();
  });
})();
