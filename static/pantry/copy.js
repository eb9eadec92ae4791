// Copy buttons: <button data-copy-target="#input-id" data-copied-label="Copied">. No inline script (strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    const source = document.querySelector(button.dataset.copyTarget);
    if (!source) return;
    const status = document.getElementById("copy-status");
    const label = button.textContent;
    button.addEventListener("click", async () => {
      let copied = false;
      try {
        await navigator.clipboard.writeText(source.value);
        copied = true;
      } catch (err) {
        // Clipboard API refused (plain HTTP, permissions): select the text so Ctrl-C works.
        source.select();
      }
      button.textContent = copied ? button.dataset.copiedLabel || "Copied" : label;
      if (status) status.textContent = copied ? "Token copied to the clipboard." : "Selected: press Ctrl-C (⌘-C) to copy.";
    });
  });
});
