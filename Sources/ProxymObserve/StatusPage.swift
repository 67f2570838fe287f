/// `GET /`: one self-contained page (no external asset, no framework) for a person at a browser:
/// health and problems, sources, services (searchable) with what was skipped and why, the recent
/// refreshes. The documents of `/api/v1/status` and `/api/v1/services` are embedded, so the page shows
/// the state at once (also to a browser that runs no script later); a script renders them and
/// refreshes them every `refreshSeconds` from the same endpoints.
public enum StatusPage {
    public static let refreshSeconds = 2

    /// `status` and `services` are the endpoints' JSON text (`JSONText` escapes `<`, so it cannot end
    /// the script element it is embedded in).
    public static func html(status: String, services: String) -> String {
        head + "<script id=\"status-data\" type=\"application/json\">" + status + "</script>\n"
            + "<script id=\"services-data\" type=\"application/json\">" + services + "</script>\n" + body
    }

    static let head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>proxym status</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
        h1 { font-size: 1.4em; margin: 0 0 .3em; }
        h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
        th { background: #f0f0f0; font-weight: 600; }
        .ok { color: #17692b; } .bad { color: #b00020; font-weight: 600; } .warn { color: #8a5a00; }
        #verdict { font-size: 1.2em; font-weight: 700; }
        #problems li { margin: .2em 0; }
        input[type=search] { width: 20em; padding: .3em; margin-bottom: .5em; }
        code, .mono { font-family: ui-monospace, monospace; font-size: .95em; }
        .muted { color: #777; }
        </style>
        </head>
        <body>

        """

    static let body = """
        <h1>proxym <span id="version"></span></h1>
        <div id="verdict">loading…</div>
        <div id="summary" class="muted"></div>
        <h2>Problems</h2>
        <ul id="problems"></ul>
        <h2>Sources</h2>
        <table id="sources"><thead><tr><th>source</th><th>state</th><th>services</th><th>last success</th><th>error / note</th></tr></thead><tbody></tbody></table>
        <h2>Services (<span id="service-count">0</span>)</h2>
        <input type="search" id="search" placeholder="filter by id, domain, server, source" aria-label="filter services">
        <table id="services"><thead><tr><th>id</th><th>source</th><th>domains</th><th>port</th><th>servers</th></tr></thead><tbody></tbody></table>
        <h2>Skipped (not routed, and why)</h2>
        <table id="skipped"><thead><tr><th>source</th><th>item</th><th>reason</th></tr></thead><tbody></tbody></table>
        <h2>Recent refreshes</h2>
        <table id="refreshes"><thead><tr><th>started</th><th>trigger</th><th>result</th><th>outcome</th><th>took</th></tr></thead><tbody></tbody></table>
        <h2>haproxy</h2>
        <table id="outputs"><thead><tr><th>output</th><th>method</th><th>pids</th><th>reloads</th><th>last reload</th><th>problem</th></tr></thead><tbody></tbody></table>
        <p class="muted">Refreshed every \(refreshSeconds) s from <a href="/api/v1/status">/api/v1/status</a> and <a href="/api/v1/services">/api/v1/services</a>; <a href="/metrics">/metrics</a>, <a href="/api/v1/config">/api/v1/config</a>, <a href="/healthz">/healthz</a>. <span id="updated"></span></p>
        <script>
        "use strict";
        let status = JSON.parse(document.getElementById("status-data").textContent);
        let services = JSON.parse(document.getElementById("services-data").textContent);
        function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
        function row(cells) { const tr = document.createElement("tr"); for (const c of cells) { const td = (c instanceof Node) ? (() => { const t = document.createElement("td"); t.appendChild(c); return t; })() : el("td", c); tr.appendChild(td); } return tr; }
        function ago(t) { if (t === null || t === undefined) return "never"; const s = Math.max(0, Math.round(status.time - t)); return s < 60 ? s + "s ago" : s < 3600 ? Math.floor(s / 60) + "m " + (s % 60) + "s ago" : Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m ago"; }
        function fill(id, rows) { const tb = document.querySelector("#" + id + " tbody"); tb.replaceChildren(...rows); }
        function render() {
          document.getElementById("version").textContent = status.version;
          const v = document.getElementById("verdict");
          v.textContent = status.healthy ? "HEALTHY" : "UNHEALTHY";
          v.className = status.healthy ? "ok" : "bad";
          document.getElementById("summary").textContent = status.statusLine;
          const problems = status.problems.map(p => el("li", p, "bad")).concat(status.warnings.map(w => el("li", w, "warn")));
          if (status.held) problems.push(el("li", "refresh held by the safety guard since " + ago(status.held.since) + ": " + status.held.reason, "warn"));
          for (const s of services.skipped) problems.push(el("li", "skipped: " + s.source + (s.item ? " " + s.item : "") + ": " + s.reason, "warn"));
          if (problems.length === 0) problems.push(el("li", "none", "ok"));
          document.getElementById("problems").replaceChildren(...problems);
          fill("sources", status.sources.map(s => row([s.name, el("span", s.state, s.state === "ok" ? "ok" : (s.state === "starting" ? "warn" : "bad")), s.services, ago(s.lastSuccess), (s.lastError || "") + (s.note ? (s.lastError ? "; " : "") + s.note : "")])));
          const q = document.getElementById("search").value.trim().toLowerCase();
          const shown = services.services.filter(s => !q || [s.id, s.source, String(s.servicePort)].concat(s.domains, s.servers).some(x => x.toLowerCase().includes(q)));
          document.getElementById("service-count").textContent = q ? shown.length + " of " + services.services.length : services.services.length;
          fill("services", shown.map(s => row([el("code", s.id), s.source, s.domains.join(", "), s.servicePort + (s.http ? " (http)" : ""), el("span", s.servers.join(" ") || "no servers", s.servers.length ? "mono" : "warn")])));
          fill("skipped", services.skipped.map(s => row([s.source, s.item, s.reason])));
          fill("refreshes", status.refreshes.map(r => row([ago(r.startedAt), r.trigger, el("span", r.result, r.result === "failed" ? "bad" : (r.result === "held" ? "warn" : "ok")), r.outcome, Math.round(r.durationSeconds * 1000) + " ms"])));
          fill("outputs", status.outputs.map(o => row([o.name, o.method, o.pids.join(" "), o.reloads, ago(o.lastReload), el("span", o.problem || "", o.problem ? "bad" : "")])));
          document.getElementById("updated").textContent = "Updated " + new Date(status.time * 1000).toLocaleTimeString() + ".";
        }
        document.getElementById("search").addEventListener("input", render);
        async function update() {
          try {
            const [a, b] = await Promise.all([fetch("/api/v1/status", {cache: "no-store"}), fetch("/api/v1/services", {cache: "no-store"})]);
            if (a.ok && b.ok) { status = await a.json(); services = await b.json(); render(); }
          } catch (e) {
            const v = document.getElementById("verdict"); v.textContent = "proxym does not answer (" + e + ")"; v.className = "bad";
          }
        }
        render();
        setInterval(update, \(refreshSeconds * 1000));
        </script>
        </body>
        </html>

        """
}
