// The Create page's settings panel (midjourney.com's): every control edits the prompt's
// parameters in the prompt bar (`--ar 16:9`, `--s 250`, `--raw`, `--p CODE`, `--v 7` …), and
// reading the prompt back sets the controls. What is sent is the prompt text. No build step.
"use strict";
const MJPanel = (() => {
  // Names (and aliases) of each parameter the panel edits, as the parser knows them.
  const NAMES = {
    ar: ["ar", "aspect"], s: ["s", "stylize"], c: ["c", "chaos"], w: ["w", "weird"],
    raw: ["raw"], draft: ["draft"], speed: ["fast", "relax", "turbo"], p: ["p", "profile"],
    v: ["v", "version", "niji"], sref: ["sref"], oref: ["oref"],
  };

  // "text --a 1 --b x" → { head: "text", params: ["--a 1", "--b x"] } (an em dash counts as --).
  function split(text) {
    const parts = text.trim().split(/\s+(?=(?:--|—)[a-z])/i);
    let head = parts.shift() || "";
    if (/^(?:--|—)[a-z]/i.test(head)) { parts.unshift(head); head = ""; }
    return { head, params: parts.map((part) => part.replace(/^—/, "--")) };
  }
  const nameOf = (param) => param.slice(2).split(/\s+/)[0].toLowerCase();
  const valueOf = (param) => param.slice(2).split(/\s+/).slice(1).join(" ");

  function setParam(input, key, text) {
    const { head, params } = split(input.value);
    const kept = params.filter((param) => !NAMES[key].includes(nameOf(param)));
    if (text) kept.push(text);
    input.value = [head, ...kept].filter(Boolean).join(" ");
  }

  function readParam(input, key) {
    const found = split(input.value).params.filter((param) => NAMES[key].includes(nameOf(param)));
    return found.length ? found[found.length - 1] : null;
  }

  function init() {
    const panel = document.getElementById("settings-panel");
    const toggle = document.getElementById("settings-toggle");
    const input = document.getElementById("prompt");
    if (!panel || !toggle || !input) return;
    toggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
    });
    const $ = (id) => document.getElementById(id);
    const presets = [...panel.querySelectorAll("#ar-presets button[data-ar]")].map((b) => b.dataset.ar);
    const slider = $("ar-slider");

    function showAspect(ar) {
      $("ar-value").textContent = ar;
      const index = presets.indexOf(ar);
      if (index >= 0) slider.value = String(index);
      panel.querySelectorAll("#ar-presets button").forEach((b) => b.classList.toggle("on", b.dataset.ar === ar));
    }
    function chooseAspect(ar) {
      setParam(input, "ar", ar === "1:1" ? null : "--ar " + ar);
      showAspect(ar);
    }
    panel.querySelectorAll("#ar-presets button").forEach((b) => b.addEventListener("click", () => chooseAspect(b.dataset.ar)));
    slider.addEventListener("input", () => chooseAspect(presets[parseInt(slider.value, 10)]));

    // Stylize, chaos, weird: sliders; their default value means no parameter.
    panel.querySelectorAll("input[type=range][data-param]").forEach((range) => {
      range.addEventListener("input", () => {
        $(range.id + "-value").textContent = range.value;
        const key = range.dataset.param;
        setParam(input, key, range.value === range.dataset.default ? null : "--" + key + " " + range.value);
      });
    });
    $("raw").addEventListener("change", () => setParam(input, "raw", $("raw").checked ? "--raw" : null));
    $("draft").addEventListener("change", () => setParam(input, "draft", $("draft").checked ? "--draft" : null));
    $("speed").addEventListener("change", () => setParam(input, "speed", $("speed").value ? "--" + $("speed").value : null));
    const personalize = () => {
      const code = $("profile-code").value;
      setParam(input, "p", $("personalize").checked ? ("--p " + code).trim() : null);
    };
    $("personalize").addEventListener("change", personalize);
    $("profile-code").addEventListener("change", () => { if ($("profile-code").value) $("personalize").checked = true; personalize(); });
    $("model").addEventListener("change", () => setParam(input, "v", $("model").value || null));

    // The prompt typed (or pasted) sets the controls.
    function read() {
      const ar = readParam(input, "ar");
      showAspect(ar ? valueOf(ar).replace(/\s+/g, "") : "1:1");
      panel.querySelectorAll("input[type=range][data-param]").forEach((range) => {
        const found = readParam(input, range.dataset.param);
        range.value = found ? valueOf(found) : range.dataset.default;
        $(range.id + "-value").textContent = range.value;
      });
      $("raw").checked = !!readParam(input, "raw");
      $("draft").checked = !!readParam(input, "draft");
      const speed = readParam(input, "speed");
      $("speed").value = speed && ["fast", "relax"].includes(nameOf(speed)) ? nameOf(speed) : "";
      const p = readParam(input, "p");
      $("personalize").checked = !!p;
      const code = p ? valueOf(p) : "";
      if ([...$("profile-code").options].some((o) => o.value === code)) $("profile-code").value = code;
      const v = readParam(input, "v");
      const model = v ? "--" + nameOf(v) + " " + valueOf(v) : "";
      if ([...$("model").options].some((o) => o.value === model.trim())) $("model").value = model.trim();
    }
    input.addEventListener("input", read);
    read();
  }

  document.addEventListener("DOMContentLoaded", init);
  return { split, setParam, readParam, valueOf };
})();
