// /personalize: 1 / 2 choose the left / right image, S skips (nothing happens while typing).
document.addEventListener("keydown", (event) => {
  const form = document.getElementById("pair");
  if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target instanceof HTMLElement && event.target.matches("input, textarea, select")) return;
  const key = event.key.toLowerCase();
  if (key === "1" || key === "2") {
    event.preventDefault();
    document.getElementById(`choice-${key}`).click();
  } else if (key === "s") {
    event.preventDefault();
    document.getElementById("skip").click();
  }
});
