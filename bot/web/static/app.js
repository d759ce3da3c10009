// The web app's little script: the prompt bar, live progress over server-sent events, the
// grid's U / V / 🔄 / ✨ buttons (drawn from the action table the server sends), Vary / Upscale /
// Zoom / Pan, ❌ Cancel, the Remix and Custom Zoom prompt editor, ❤️ and "copy prompt"; Blend, Describe and Shorten, and the buttons under their
// suggestions. No build step.
"use strict";
const MJ = (() => {
  const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    if (response.status === 401) { location.href = "/signin?next=" + encodeURIComponent(location.pathname); return null; }
    let data = null;
    try { data = await response.json(); } catch (e) { data = { error: { title: "Error", message: response.statusText } }; }
    return data;
  }

  // A multipart POST (uploads): the CSRF token in the header, the browser sets the boundary.
  async function postForm(url, form) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }, body: form });
    if (response.status === 401) { location.href = "/signin?next=" + encodeURIComponent(location.pathname); return null; }
    if (response.status === 413) return { error: { title: "Invalid link", message: "These files are too large to upload." } };
    try { return await response.json(); } catch (e) { return { error: { title: "Error", message: response.statusText } }; }
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(target, error) {
    target.hidden = false;
    target.textContent = error.title + ": " + error.message;
  }

  // Where a button's error shows: the card's own line, else the page's error line.
  function errorLine(near) {
    const article = near.closest("article.result");
    if (article) {
      let line = article.querySelector(".card-error");
      if (!line) { line = el("p", { class: "error card-error", role: "alert" }); article.appendChild(line); }
      return line;
    }
    return document.getElementById("action-error") || document.getElementById("prompt-error");
  }

  // A success clears the error an earlier click left on the card.
  function clearError(near) {
    near.closest("article.result")?.querySelector(".card-error")?.remove();
  }

  const remixOn = () => document.getElementById("remix-dialog")?.dataset.on === "1";

  // The prompt editor (a dialog): Remix's "New prompt" and Custom Zoom's prompt with --zoom.
  // `send(text)` answers the server's JSON; errors stay in the dialog, inline.
  function editPrompt(title, label, text, send) {
    const dialog = document.getElementById("remix-dialog");
    const form = document.getElementById("remix-form");
    const input = document.getElementById("remix-prompt");
    const error = document.getElementById("remix-error");
    document.getElementById("remix-title").textContent = title;
    document.getElementById("remix-label").textContent = label;
    input.value = text;
    error.hidden = true;
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.hidden = true;
      const submit = document.getElementById("remix-submit");
      submit.disabled = true;
      const data = await send(input.value.trim());
      submit.disabled = false;
      if (!data) return;
      if (data.error) { showError(error, data.error); return; }
      dialog.close();
      for (const job of data.jobs.slice().reverse()) follow(job);
    };
    document.getElementById("remix-close").onclick = () => dialog.close();
    dialog.showModal();
    input.focus();
  }

  // A result card: header with the prompt and the progress, the picture, the buttons.
  function card(job) {
    const article = el("article", { class: "result", "data-job": job.id, "data-status": job.status, "data-grid": job.grid ? "1" : "0" });
    const header = el("header");
    const link = el("a", { href: job.url });
    link.appendChild(el("b", {}, job.prompt));
    header.append(link, " ", el("span", { class: "kind" }, job.label), " ", el("span", { class: "progress", "data-history": "" }, "Waiting to start"));
    header.append(" ", el("button", { class: "cancel", "data-cancel": "", title: "Cancel (❌)" }, "❌"));
    article.append(header, el("div", { class: "picture" }), el("div", { class: "actions" }));
    return article;
  }

  function showDone(article, job) {
    article.dataset.status = "done";
    article.dataset.grid = job.grid ? "1" : "0";
    const progress = article.querySelector(".progress");
    progress.textContent = "";
    article.querySelector("button[data-cancel]")?.remove();
    const picture = article.querySelector(".picture");
    if (job.clips && job.clips.length) {
      // A video job: its clips, each playing on hover or tap (see the listeners below).
      picture.replaceChildren(...job.clips.map((clip, n) => el("video", {
        src: clip, poster: job.images[n].url, muted: "", loop: "", playsinline: "", preload: "none", "data-hover-play": "",
      })));
    } else if (job.picture) picture.replaceChildren(el("img", { src: job.picture, alt: job.prompt }));
    else picture.replaceChildren();
    addActions(article, job);
  }

  // The suggestions of a /describe or the analysis of a /shorten (the markup of _text_result.html).
  function textResult(job) {
    const box = el("div", { class: "text-result", "data-text-job": job.id });
    const list = (prompts, label) => {
      const ol = el("ol", { class: "suggestions" });
      prompts.forEach((prompt, i) => {
        const n = String(i + 1);
        const li = el("li", { "data-n": n });
        const row = el("span", { class: "row" });
        row.append(el("button", { type: "button", "data-use": n, title: "Put it in the prompt bar" }, "Use"),
          el("button", { type: "button", "data-suggest": "imagine", "data-index": n }, label));
        li.append(el("span", { class: "n" }, n), " ", el("span", { class: "suggestion" }, prompt), " ", row);
        ol.appendChild(li);
      });
      return ol;
    };
    if (job.text.prompts) {
      const row = el("div", { class: "row" });
      row.append(el("button", { type: "button", "data-suggest": "all" }, "Imagine all"),
        el("button", { type: "button", "data-suggest": "redescribe", title: "Four more (🔄)" }, "↻"));
      box.append(list(job.text.prompts, "Imagine"), row);
    } else {
      const analysis = el("p", { class: "analysis" });
      analysis.append(el("b", {}, "IMPORTANT TOKENS"), el("br"));
      for (const word of job.text.words) {
        analysis.append(word.struck ? el("s", {}, word.word) : word.score >= 0.7 ? el("b", {}, word.word) : word.word, " ");
      }
      const ranked = el("p", { class: "ranked muted" }, "ranked: " + job.text.ranked.map((w) => w.word + " " + w.score.toFixed(2)).join(" · "));
      const head = el("p");
      head.appendChild(el("b", {}, "SHORTENED PROMPTS"));
      box.append(analysis, ranked, head, job.text.shorter.length ? list(job.text.shorter, "Imagine this") : el("p", { class: "muted" }, "(nothing to leave out)"));
    }
    return box;
  }

  // A suggestion into the prompt bar (on the Create page; from elsewhere, the Create page opens with it).
  function usePrompt(text) {
    const bar = document.getElementById("prompt");
    if (!bar) { location.href = "/?prompt=" + encodeURIComponent(text); return; }
    bar.value = text;
    bar.focus();
    bar.scrollIntoView({ block: "nearest" });
  }

  // The buttons under suggestions: Use (prompt bar), 1️⃣–5️⃣ Imagine, Imagine all, 🔄 four more.
  function bindText(box, jobId) {
    box.querySelectorAll("button[data-use]").forEach((button) => {
      button.addEventListener("click", () => usePrompt(button.closest("li").querySelector(".suggestion").textContent));
    });
    box.querySelectorAll("button[data-suggest]").forEach((button) => {
      button.addEventListener("click", async () => {
        const body = { action: button.dataset.suggest };
        if (button.dataset.index) body.index = parseInt(button.dataset.index, 10);
        button.disabled = true;
        const data = await post("/api/jobs/" + jobId + "/suggestions", body);
        button.disabled = false;
        if (!data) return;
        if (data.error) { showError(errorLine(button), data.error); return; }
        for (const made of data.jobs.slice().reverse()) follow(made);
      });
    });
  }

  function addActions(article, job) {
    const actions = article.querySelector(".actions");
    actions.replaceChildren();
    if (job.text) {
      const box = textResult(job);
      article.querySelector(".picture").replaceChildren(box);
      bindText(box, job.id);
      return;
    }
    if (job.grid || job.video) {
      // The grid's buttons come with the job, from the server's action table (bot/jobs/actions.py).
      for (const buttons of job.buttons || []) {
        const row = el("div", { class: "row" });
        for (const b of buttons) row.appendChild(actionButton(b, job));
        actions.appendChild(row);
      }
    } else if (job.images.length) {
      actions.appendChild(el("a", { class: "button", href: job.url }, "Open"));
    }
    bindActions(actions, job);
  }

  // One button of the action table: U-n opens the image; the others are bound by bindActions.
  function actionButton(b, job) {
    if (b.action === "pick") return el("a", { class: "button", href: job.url + "/" + b.index, "data-u": b.index }, b.text);
    const attrs = { "data-action": b.action, "data-remix": b.remix ? "1" : "0", title: b.title };
    if (b.index) attrs["data-index"] = b.index;
    return el("button", attrs, b.text);
  }

  // The buttons of a finished job (`job`: its id and prompt). With Remix on, a button whose row
  // in the action table says so (data-remix) first opens the prompt editor; Custom Zoom always
  // does (its text is in data-prompt).
  function bindActions(container, job) {
    container.querySelectorAll("button[data-action]").forEach((button) => {
      button.addEventListener("click", async () => {
        const action = button.dataset.action;
        const body = { action };
        if (button.dataset.index) body.index = parseInt(button.dataset.index, 10);
        const url = "/api/jobs/" + job.id + "/actions";
        if (button.dataset.form === "customzoom") {
          editPrompt("Custom Zoom", "Prompt, --ar and --zoom (1-2)", button.dataset.prompt, (prompt) => post(url, { ...body, prompt }));
          return;
        }
        // Retexture (the new look, starting from the prompt) and Edit (an instruction) always ask.
        if (button.dataset.form === "retexture") {
          editPrompt("Retexture", "The new look (prompt and parameters)", job.prompt, (prompt) => post(url, { ...body, prompt }));
          return;
        }
        if (button.dataset.form === "instruct") {
          editPrompt("Edit", "What to change (e.g. red jacket --no hat)", "", (prompt) => post(url, { ...body, prompt }));
          return;
        }
        if (remixOn() && button.dataset.remix === "1") {
          const label = body.index ? "New prompt for image #" + body.index : "New prompt";
          editPrompt("Remix Prompt", label, job.prompt, (prompt) => post(url, { ...body, prompt }));
          return;
        }
        button.disabled = true;
        const data = await post(url, body);
        button.disabled = false;
        if (!data) return;
        // The card's error line is made only for an error: a success leaves no (empty) red bar.
        if (data.error) { const error = errorLine(button); if (error) showError(error, data.error); else alert(data.error.message); return; }
        clearError(button);
        for (const made of data.jobs) follow(made);
      });
    });
  }

  // ❌ on a waiting or running job of mine: the server stops it; the card says "Cancelled".
  async function cancelJob(jobId, button, onCancelled) {
    button.disabled = true;
    const data = await post("/api/jobs/" + jobId + "/cancel", {});
    if (!data) return;
    if (data.error) { button.disabled = false; showError(errorLine(button), data.error); return; }
    onCancelled();
  }

  function showCancelled(article) {
    article.dataset.status = "cancelled";
    article.querySelector(".progress").textContent = "Cancelled";
    article.querySelector("button[data-cancel]")?.remove();
  }

  // Follow a job: a card at the top of the feed, updated from its event stream.
  function follow(job) {
    const feed = document.getElementById("feed");
    let article = feed.querySelector('article[data-job="' + job.id + '"]');
    if (!article) { article = card(job); feed.prepend(article); }
    const progress = article.querySelector(".progress");
    const history = [];
    const cancel = article.querySelector("button[data-cancel]");
    if (cancel) cancel.onclick = () => cancelJob(job.id, cancel, () => showCancelled(article));
    const source = new EventSource("/api/jobs/" + job.id + "/events");
    source.addEventListener("queued", (event) => {
      const data = JSON.parse(event.data);
      progress.textContent = data.position > 1 ? "Waiting to start (" + (data.position - 1) + " ahead)" : "Waiting to start";
    });
    source.addEventListener("progress", (event) => {
      const data = JSON.parse(event.data);
      history.push(data.percent);
      progress.dataset.history = history.join(",");
      progress.textContent = data.percent + "%";
      article.dataset.status = "running";
      if (data.preview) article.querySelector(".picture").replaceChildren(el("img", { src: data.preview, class: "preview", alt: "" }));
    });
    source.addEventListener("done", (event) => { source.close(); showDone(article, JSON.parse(event.data)); });
    source.addEventListener("failed", (event) => {
      source.close();
      article.dataset.status = "failed";
      progress.textContent = "Failed: " + JSON.parse(event.data).message;
      article.querySelector("button[data-cancel]")?.remove();
    });
    source.addEventListener("cancelled", () => { source.close(); showCancelled(article); });
    source.onerror = () => { if (["done", "failed", "cancelled"].includes(article.dataset.status)) source.close(); };
  }

  function initCreate() {
    const form = document.getElementById("prompt-bar");
    const input = document.getElementById("prompt");
    const error = document.getElementById("prompt-error");
    const server = document.getElementById("server");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      // Images on the prompt bar (static/chips.js) become links: image prompts first, --sref/--oref.
      const chips = typeof MJChips === "undefined" ? null : MJChips;
      const prompt = chips ? chips.compose(input.value.trim()) : input.value.trim();
      if (!prompt) return;
      error.hidden = true;
      // While the model loads the prompt is accepted and waits for it: say so until it is queued.
      const loading = document.getElementById("model-loading");
      const note = loading ? el("p", { class: "progress", id: "prompt-waiting" }, loading.textContent.trim()) : null;
      if (note) form.after(note);
      const data = await post("/api/imagine", { prompt, server: server ? server.value : "" });
      note?.remove();
      if (!data) return;
      loading?.remove();
      if (data.error) { showError(error, data.error); return; }
      input.value = "";
      chips?.clear();
      for (const job of data.jobs.slice().reverse()) follow(job);
    });
    // The server picker keeps the member's last choice (in this browser) across page loads.
    if (server) {
      const kept = localStorage.getItem("mj.server");
      if (kept && [...server.options].some((option) => option.value === kept)) server.value = kept;
      server.addEventListener("change", () => localStorage.setItem("mj.server", server.value));
    }
    const asked = new URLSearchParams(location.search).get("prompt");
    if (asked) input.value = asked;
    initImageTools();
    const stealth = document.getElementById("stealth");
    if (stealth) stealth.addEventListener("change", () => post("/api/stealth", { stealth: stealth.checked }));
    const remix = document.getElementById("remix");
    if (remix) {
      remix.addEventListener("change", async () => {
        const data = await post("/api/settings", { remix: remix.checked });
        if (!data || data.error) return;
        remix.checked = data.remix;
        document.getElementById("remix-dialog").dataset.on = data.remix ? "1" : "0";
      });
    }
    // Cards rendered by the server: finished ones get their buttons, unfinished ones are followed.
    document.querySelectorAll("#feed article.result").forEach((article) => {
      const id = article.dataset.job;
      if (article.dataset.status === "done") {
        fetch("/api/jobs/" + id, { credentials: "same-origin" }).then((r) => r.json()).then((job) => addActions(article, job));
      } else if (article.dataset.status === "queued" || article.dataset.status === "running") {
        follow({ id, url: "/jobs/" + id });
      }
    });
  }

  // Blend, Describe and Shorten on the Create page: one form open at a time, errors inline.
  function initImageTools() {
    const error = document.getElementById("tool-error");
    const server = document.getElementById("server");
    const tabs = document.querySelectorAll(".img-tools button[data-tool]");
    tabs.forEach((tab) => {
      tab.addEventListener("click", () => {
        const open = tab.getAttribute("aria-selected") !== "true";
        tabs.forEach((other) => other.setAttribute("aria-selected", "false"));
        document.querySelectorAll("form[data-tool-form]").forEach((form) => { form.hidden = !open || form.dataset.toolForm !== tab.dataset.tool; });
        if (open) tab.setAttribute("aria-selected", "true");
        error.hidden = true;
      });
    });
    const submitted = async (form, send) => {
      error.hidden = true;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      const data = await send();
      button.disabled = false;
      if (!data) return false;
      if (data.error) { showError(error, data.error); return false; }
      for (const job of data.jobs.slice().reverse()) follow(job);
      return true;
    };
    const upload = (form, url) => async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      if (server) body.set("server", server.value);
      if (await submitted(form, () => postForm(url, body))) form.reset();
    };
    const blend = document.getElementById("blend-form");
    if (blend) blend.addEventListener("submit", upload(blend, "/api/blend"));
    const describe = document.getElementById("describe-form");
    if (describe) describe.addEventListener("submit", upload(describe, "/api/describe"));
    const edit = document.getElementById("edit-form");
    if (edit) {
      // Upload a picture (picked, or dropped on the form) and open the editor on it.
      const openEditor = async (file) => {
        const body = new FormData();
        body.set("image", file);
        body.set("prompt", document.getElementById("edit-prompt").value.trim());
        if (server) body.set("server", server.value);
        error.hidden = true;
        const data = await postForm("/api/uploads", body);
        if (!data) return;
        if (data.error) { showError(error, data.error); return; }
        window.location.href = data.editor;
      };
      edit.addEventListener("submit", (event) => {
        event.preventDefault();
        const file = document.getElementById("edit-image").files[0];
        if (file) openEditor(file);
      });
      edit.addEventListener("dragover", (event) => { event.preventDefault(); edit.classList.add("dragging"); });
      edit.addEventListener("dragleave", () => edit.classList.remove("dragging"));
      edit.addEventListener("drop", (event) => {
        event.preventDefault();
        edit.classList.remove("dragging");
        const file = event.dataTransfer.files[0];
        if (file) openEditor(file);
      });
    }
    const shorten = document.getElementById("shorten-form");
    if (shorten) {
      shorten.addEventListener("submit", async (event) => {
        event.preventDefault();
        const prompt = document.getElementById("shorten-prompt").value.trim();
        if (!prompt) return;
        const ok = await submitted(shorten, () => post("/api/shorten", { prompt, server: server ? server.value : "" }));
        if (ok) shorten.reset();
      });
    }
  }

  function initJob() {
    const job = document.getElementById("job");
    const actions = document.getElementById("job-actions");
    if (actions) bindActions(actions, { id: job.dataset.job, prompt: job.dataset.prompt });
    const cancel = document.getElementById("cancel-job");
    if (cancel) initRunning(job, cancel);
    const heart = document.getElementById("favourite");
    if (heart) {
      heart.addEventListener("click", async () => {
        const data = await post("/api/jobs/" + job.dataset.job + "/favourite", { index: parseInt(heart.dataset.index, 10) });
        if (!data || data.error) return;
        heart.classList.toggle("on", data.favourite);
        heart.setAttribute("aria-pressed", data.favourite ? "true" : "false");
      });
    }
    const postTo = document.getElementById("post-form");
    if (postTo) initPost(postTo, job.dataset.job);
    const text = job.querySelector(".text-result");
    if (text) bindText(text, job.dataset.job);
    const describe = document.getElementById("describe-this");
    if (describe) {
      describe.addEventListener("click", async () => {
        const body = new FormData();
        body.set("job", job.dataset.job);
        body.set("index", describe.dataset.index);
        describe.disabled = true;
        const data = await postForm("/api/describe", body);
        describe.disabled = false;
        if (!data) return;
        if (data.error) { showError(errorLine(describe), data.error); return; }
        for (const made of data.jobs) follow(made);
      });
    }
    const hide = document.getElementById("hide-job");
    if (hide) {
      hide.addEventListener("click", async () => {
        const data = await post("/api/jobs/" + job.dataset.job + "/hide", { hidden: hide.dataset.hidden !== "1" });
        if (!data || data.error) return;
        hide.dataset.hidden = data.hidden ? "1" : "0";
        hide.textContent = data.hidden ? "Unhide" : "Hide";
      });
    }
    const remove = document.getElementById("delete-job");
    if (remove) {
      remove.addEventListener("click", async () => {
        if (!confirm("Delete this job and its images for good?")) return;
        const data = await post("/api/jobs/" + job.dataset.job + "/delete", {});
        if (!data) return;
        if (data.error) { showError(errorLine(remove), data.error); return; }
        location.href = "/archive";
      });
    }
    const copy = document.getElementById("copy-prompt");
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(copy.dataset.text); copy.textContent = "Copied"; }
      catch (e) { window.prompt("Copy the prompt:", copy.dataset.text); }
    });
  }

  // The job page of a waiting or running job: its status follows the job; ❌ cancels it.
  function initRunning(job, cancel) {
    const status = document.getElementById("job-status") || el("div");
    const source = new EventSource("/api/jobs/" + job.dataset.job + "/events");
    const ended = (state, text) => { source.close(); job.dataset.status = state; status.textContent = text; cancel.remove(); };
    source.addEventListener("progress", (event) => { job.dataset.status = "running"; status.textContent = "Running " + JSON.parse(event.data).percent + "%"; });
    source.addEventListener("done", () => { source.close(); location.reload(); });
    source.addEventListener("failed", (event) => ended("failed", "Failed: " + JSON.parse(event.data).message));
    source.addEventListener("cancelled", () => ended("cancelled", "Cancelled"));
    cancel.addEventListener("click", () => cancelJob(job.dataset.job, cancel, () => ended("cancelled", "Cancelled")));
  }

  // "Post to Discord": pick a server, then one of its channels where you (and the bot) may post.
  function initPost(form, jobId) {
    const server = document.getElementById("post-server");
    const channel = document.getElementById("post-channel");
    const submit = document.getElementById("post-submit");
    const result = document.getElementById("post-result");
    server.addEventListener("change", async () => {
      channel.replaceChildren(el("option", { value: "" }, "Channel…"));
      channel.disabled = submit.disabled = true;
      if (!server.value) return;
      const response = await fetch("/api/servers/" + server.value + "/channels", { credentials: "same-origin" });
      const data = await response.json();
      for (const item of data.channels) channel.appendChild(el("option", { value: item.id }, "#" + item.name));
      channel.disabled = data.channels.length === 0;
    });
    channel.addEventListener("change", () => { submit.disabled = !channel.value; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = await post("/api/jobs/" + jobId + "/post", { channel: channel.value });
      if (!data) return;
      result.hidden = false;
      result.className = data.error ? "error" : "";
      result.textContent = data.error ? data.error.title + ": " + data.error.message : "Posted.";
    });
  }

  // Video cards (feed, archive, job page): a clip plays while the pointer is on it and pauses
  // when it leaves; a tap on a paused clip plays it (a second one follows the card's link).
  const hoverVideo = (event) => event.target.closest && event.target.closest("video[data-hover-play]");
  document.addEventListener("mouseover", (event) => { const v = hoverVideo(event); if (v) v.play().catch(() => {}); });
  document.addEventListener("mouseout", (event) => { const v = hoverVideo(event); if (v) v.pause(); });
  document.addEventListener("click", (event) => {
    const v = hoverVideo(event);
    if (v && v.paused) { event.preventDefault(); v.play().catch(() => {}); }
  });

  return { initCreate, initJob, post, postForm, follow, showError };
})();
