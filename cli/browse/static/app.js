// lkvault browse: live search. Results are built with createElement and textContent only, so
// nothing from an export is ever parsed as HTML. Without this script the forms still work.
"use strict";

(function () {
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function link(href, text, className) {
    const a = el("a", text, className);
    a.href = href;
    return a;
  }

  function snippet(parts) {
    const p = el("p", null, "snippet");
    for (const [text, hit] of parts) {
      p.appendChild(hit ? el("mark", text) : document.createTextNode(text));
    }
    return p;
  }

  const render = {
    connections(item) {
      const row = el("tr");
      const name = el("td");
      name.appendChild(item.href ? link(item.href, item.name) : el("span", item.name, "muted"));
      row.append(name, el("td", item.company), el("td", item.position), el("td", item.connected, "date"));
      return row;
    },
    conversations(item) {
      const li = el("li");
      li.append(link(item.href, item.title, "title"), el("span", item.when + " · " + item.count, "muted"));
      const text = snippet(item.snippet);
      text.prepend(el("span", item.sender + ":", "sender"), document.createTextNode(" "));
      li.append(text);
      return li;
    },
    messages(item) {
      const li = el("li");
      li.append(link(item.href, item.title, "title"), el("span", item.when, "muted"));
      const text = snippet(item.snippet);
      text.prepend(el("span", item.sender + ":", "sender"), document.createTextNode(" "));
      li.append(text);
      return li;
    },
  };

  function pager(form, data, params) {
    const nav = document.querySelector("[data-pager]");
    if (!nav) return;
    const parts = [];
    function to(page) {
      const copy = new URLSearchParams(params);
      if (page > 1) copy.set("page", String(page)); else copy.delete("page");
      const query = copy.toString();
      return form.getAttribute("action") + (query ? "?" + query : "");
    }
    if (data.page > 1) parts.push(link(to(data.page - 1), "← Previous"));
    parts.push(el("span", "Page " + data.page + " of " + data.pages));
    if (data.page < data.pages) parts.push(link(to(data.page + 1), "Next →"));
    nav.replaceChildren(...parts);
  }

  function live(form) {
    const kind = form.dataset.kind;
    const results = document.querySelector("[data-results]");
    const summary = document.querySelector("[data-summary]");
    let timer = 0;
    let inFlight = null;

    function search() {
      const params = new URLSearchParams(new FormData(form));
      if (!params.get("q")) params.delete("q");
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      fetch(form.dataset.api + "?" + params.toString(), {
        signal: inFlight.signal,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((response) => {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then((data) => {
          results.replaceChildren(...data.items.map(render[kind]));
          let text = data.summary;
          if (data.total > data.items.length && data.items.length) text += ", " + data.first + "–" + data.last + " shown";
          summary.textContent = text;
          pager(form, data, params);
          const query = params.toString();
          history.replaceState(null, "", form.getAttribute("action") + (query ? "?" + query : ""));
          form.dataset.state = "done";
        })
        .catch((error) => {
          if (error.name === "AbortError") return;
          summary.textContent = "Search failed (" + error.message + "); is lkvault browse still running?";
        });
    }

    function soon() {
      form.dataset.state = "typing";
      clearTimeout(timer);
      timer = setTimeout(search, 160);
    }

    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      search();
    });
  }

  document.querySelectorAll("form.live").forEach(live);
})();
