// Feature group pages and description editing. Loaded as a file (strict CSP: no inline scripts).
document.addEventListener("DOMContentLoaded", () => {
  // Character counter: <textarea data-char-count="#out" data-char-soft-limit="255">.
  // The soft limit is AWS's for feature descriptions; Pantry keeps longer text.
  document.querySelectorAll("textarea[data-char-count]").forEach((area) => {
    const out = document.querySelector(area.dataset.charCount);
    if (!out) return;
    const soft = Number(area.dataset.charSoftLimit || 0);
    const update = () => {
      const n = area.value.length;
      let text = `${n.toLocaleString()} character${n === 1 ? "" : "s"}`;
      if (soft && n > soft) text += ` — longer than the ${soft} AWS keeps, so the description stays in Pantry only`;
      out.textContent = text;
    };
    area.addEventListener("input", update);
    update();
  });

  // "Add a parameter": clone the formset's empty form from a <template> and bump TOTAL_FORMS.
  document.querySelectorAll("button[data-add-parameter-row]").forEach((button) => {
    const rows = document.querySelector(button.dataset.addParameterRow);
    const template = document.querySelector(button.dataset.template);
    const total = document.querySelector(button.dataset.totalForms);
    if (!rows || !template || !total) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      const index = Number(total.value);
      const html = template.innerHTML.replaceAll("__prefix__", String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const first = rows.lastElementChild && rows.lastElementChild.querySelector("input");
      if (first) first.focus();
    });
  });
});
