// A background job's page (an import's, an export's): polls the job's progress every
// second and updates its message, status, progress bar and counts in place, until it has
// completed or failed; then the parts marked data-refresh-on-finish (times, errors, the
// download link) are fetched once again.
//
// The page's root element carries data-job (the prefix of its elements' ids: "import",
// "export"), data-progress-url and data-status; an element with
// data-counts="<id>:<member> …" names the elements that show members of the progress
// document (an import's counts).
"use strict";
(function () {
  const root = document.querySelector("[data-job][data-progress-url]");
  if (!root) {
    return;
  }
  const FINISHED = ["completed", "failed"];
  const INTERVAL_MS = 1000;
  if (FINISHED.includes(root.dataset.status)) {
    return;
  }
  const job = root.dataset.job;

  function setText(id, value) {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = value;
    }
  }

  function render(data) {
    root.dataset.status = data.status;
    const state = document.getElementById(job + "-state");
    if (state) {
      state.className = data.state.level;
      state.textContent = data.state.text;
    }
    setText(job + "-status", data.status);
    // As the server renders it: a full bar once completed, else processed of total.
    const bar = document.getElementById(job + "-progress");
    const max = Math.max(data.totalRows || 0, 1);
    const value = data.status === "completed" ? max : Math.min(data.processedRows, max);
    bar.setAttribute("max", String(max));
    bar.setAttribute("value", String(value));
    bar.textContent = data.processedRows + " rows";
    setText(job + "-processed", data.processedRows);
    setText(job + "-total", data.totalRows === null ? "?" : data.totalRows);
    for (const counts of root.querySelectorAll("[data-counts]")) {
      for (const pair of counts.dataset.counts.split(/\s+/)) {
        const [id, member] = pair.split(":");
        setText(id, data[member]);
      }
    }
    const failure = document.getElementById(job + "-failure");
    if (failure && data.failure) {
      setText(job + "-failure-code", data.failure.code);
      setText(job + "-failure-message", data.failure.message);
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
      return; // signed out, or the job is no longer ours to see: stop asking
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
