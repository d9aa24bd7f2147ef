// The live feed: reads the server-sent event stream and prepends one row per event.
// Everything from the stream is set as text, never as HTML: event data is untrusted.
"use strict";
(function () {
  const MAX_ROWS = 500;
  const table = document.getElementById("feed");
  const rows = document.getElementById("feed-rows");
  const status = document.getElementById("feed-status");
  const base = table.dataset.base;
  // The browser reconnects by itself and the server then sends the recent events again.
  const seen = new Set();

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function cell(tr, text) {
    const td = document.createElement("td");
    if (text !== undefined && text !== null) td.textContent = String(text);
    tr.appendChild(td);
    return td;
  }

  function link(td, path, id) {
    if (!id) return;
    const a = document.createElement("a");
    a.href = base + path + encodeURIComponent(id);
    const code = document.createElement("code");
    code.textContent = id;
    a.appendChild(code);
    td.appendChild(a);
  }

  function show(event) {
    if (seen.has(event.ref)) return;
    seen.add(event.ref);
    const tr = document.createElement("tr");
    tr.className = "event";
    tr.dataset.type = event.type || "";
    tr.dataset.tender = event.tender_id || "";
    tr.dataset.ref = event.ref;
    tr.dataset.at = event.at;
    const time = cell(tr);
    const t = document.createElement("time");
    t.dateTime = event.at;
    t.textContent = event.at;
    time.appendChild(t);
    cell(tr, event.type || "(no type)");
    link(cell(tr), "/tenders/", event.tender_id);
    link(cell(tr), "/suppliers/", event.supplier_id);
    cell(tr, event.topic + " [" + event.partition + "] @ " + event.offset);
    cell(tr, event.correlation_id || "");
    tr.title = "Show the event's data";
    tr.addEventListener("click", function (click) {
      if (click.target.closest("a")) return;
      const next = tr.nextElementSibling;
      if (next && next.classList.contains("data")) {
        next.remove();
        return;
      }
      const detail = document.createElement("tr");
      detail.className = "data";
      const td = cell(detail);
      td.colSpan = 6;
      const pre = document.createElement("pre");
      try {
        pre.textContent = JSON.stringify(JSON.parse(event.data), null, 2);
      } catch (e) {
        pre.textContent = event.data;
      }
      td.appendChild(pre);
      tr.after(detail);
    });
    // Newest first. Recent events arrive partition by partition, so place each by its time;
    // live ones are the newest and land at the top at once. ISO times sort as text.
    let after = null;
    for (const row of rows.querySelectorAll("tr.event")) {
      if (row.dataset.at <= event.at) {
        after = row;
        break;
      }
    }
    rows.insertBefore(tr, after);
    while (rows.querySelectorAll("tr.event").length > MAX_ROWS) {
      const last = rows.lastElementChild;
      if (last.classList.contains("data")) last.remove();
      rows.lastElementChild.remove();
    }
  }

  const source = new EventSource(table.dataset.stream + window.location.search);
  source.addEventListener("open", function () {
    setStatus("connecting", "connected, finding the topics…");
  });
  // Sent once the tail's starting positions are fixed: anything published after is shown.
  source.addEventListener("ready", function (message) {
    const topics = JSON.parse(message.data).topics;
    setStatus("live", "live on " + topics.length + " topic(s): new events appear at the top");
  });
  source.addEventListener("message", function (message) {
    show(JSON.parse(message.data));
  });
  source.addEventListener("problem", function (message) {
    setStatus("problem", "reading Kafka failed, retrying: " + JSON.parse(message.data).error);
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      setStatus("closed", "disconnected: reload the page to try again");
    } else {
      setStatus("connecting", "reconnecting…");
    }
  });
  // Closing at once frees the server's Kafka consumer without waiting for a keep-alive.
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
