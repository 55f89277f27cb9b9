// An export's job page: polls the export's progress every second and updates the message,
// the status and the progress bar in place until it has completed or failed; then the
// parts marked data-refresh-on-finish (times, the download link) are fetched once again.
"use strict";
(function () {
  const root = document.getElementById("export-job");
  if (!root) {
    return;
  }
  const FINISHED = ["completed", "failed"];
  const INTERVAL_MS = 1000;
  if (FINISHED.includes(root.dataset.status)) {
    return;
  }

  function setText(id, value) {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = value;
    }
  }

  function render(data) {
    root.dataset.status = data.status;
    const state = document.getElementById("export-state");
    if (state) {
      state.className = data.state.level;
      state.textContent = data.state.text;
    }
    setText("export-status", data.status);
    // As the server renders it: a full bar once completed, else written of total.
    const bar = document.getElementById("export-progress");
    const max = Math.max(data.totalRows || 0, 1);
    const value = data.status === "completed" ? max : Math.min(data.processedRows, max);
    bar.setAttribute("max", String(max));
    bar.setAttribute("value", String(value));
    bar.textContent = data.processedRows + " rows";
    setText("export-processed", data.processedRows);
    setText("export-total", data.totalRows === null ? "?" : data.totalRows);
    const failure = document.getElementById("export-failure");
    if (failure && data.failure) {
      setText("export-failure-code", data.failure.code);
      setText("export-failure-message", data.failure.message);
      failure.hidden = false;
    }
  }

  async function refreshFinishedParts() {
    const response = await fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok || response.redirected) {
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const element of document.querySelectorAll("[data-refresh-on-finish][id]")) {
      const fresh = page.getElementById(element.id);
      if (fresh) {
        element.replaceWith(document.importNode(fresh, true));
      }
    }
  }

  async function poll() {
    let response;
    try {
      response = await fetch(root.dataset.progressUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
    } catch (error) {
      window.setTimeout(poll, INTERVAL_MS); // a network hiccup: try again
      return;
    }
    if (response.redirected || (response.status >= 400 && response.status < 500)) {
      return; // signed out, or the export is no longer ours to see: stop asking
    }
    if (response.ok) {
      const data = await response.json();
      render(data);
      if (FINISHED.includes(data.status)) {
        await refreshFinishedParts();
        return;
      }
    }
    window.setTimeout(poll, INTERVAL_MS);
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
