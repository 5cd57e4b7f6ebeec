// Live regions: a table with data-live="<ms>" has its body refreshed from the same page
// every so often (the server renders it, escaped, as on any page load).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table[data-live]")) {
    const every = Number(table.dataset.live) || 2000;
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.querySelector(`#${table.id} tbody`);
        if (fresh) table.tBodies[0].replaceWith(fresh);
      } catch (error) {
        // offline for a moment: the next turn tries again
      }
    };
    setInterval(refresh, every);
  }
});
