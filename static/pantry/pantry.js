// Pantry's own behaviour. No inline scripts anywhere, so a strict CSP holds.
document.addEventListener("DOMContentLoaded", () => {
  // Filter boxes: <input data-filter-target="#table-id"> hides rows whose text lacks the query.
  document.querySelectorAll("input[data-filter-target]").forEach((input) => {
    const table = document.querySelector(input.dataset.filterTarget);
    if (!table) return;
    const status = input.dataset.filterStatus ? document.querySelector(input.dataset.filterStatus) : null;
    input.addEventListener("input", () => {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      table.querySelectorAll("tbody tr").forEach((row) => {
        const match = !q || row.textContent.toLowerCase().includes(q);
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (status) status.textContent = `${shown} feature${shown === 1 ? "" : "s"} shown`;
    });
  });

  // Error pages: "Back to the previous page" when the browser has one (no javascript: links, strict CSP).
  document.querySelectorAll("[data-history-back]").forEach((button) => {
    if (window.history.length < 2) return;
    const item = button.closest("[data-history-back-item]");
    if (item) item.hidden = false;
    button.addEventListener("click", () => window.history.back());
  });
});
