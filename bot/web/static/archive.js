// The archive's zip download: "Select all" ticks every card shown (the page's cards that are
// visible, after the filters), "Clear" unticks them all; the count follows. No build step.
"use strict";
(() => {
  const form = document.getElementById("zip-form");
  if (!form) return;
  const picks = () => [...document.querySelectorAll('#archive input.pick[form="zip-form"]')];
  const count = document.getElementById("zip-count");
  const show = () => { count.textContent = picks().filter((box) => box.checked).length + " selected"; };
  document.getElementById("zip-all").addEventListener("click", () => {
    for (const box of picks()) if (box.offsetParent !== null) box.checked = true;
    show();
  });
  document.getElementById("zip-clear").addEventListener("click", () => {
    for (const box of picks()) box.checked = false;
    show();
  });
  document.addEventListener("change", (event) => { if (event.target.matches?.("input.pick")) show(); });
  form.addEventListener("submit", (event) => {
    if (!picks().some((box) => box.checked)) { event.preventDefault(); count.textContent = "Tick at least one image first."; }
  });
  show();
})();
