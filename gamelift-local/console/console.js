// The gamelift-local console: polls /_gamelift_local/state once a second and redraws. Read-only.
"use strict";

const STATE = "/_gamelift_local/state";

function text(value) {
  return value === null || value === undefined ? "" : String(value);
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(text(child)));
  }
  return node;
}

function badge(value) {
  return el("span", { class: "badge " + text(value) }, value);
}

function table(kind, headings, rows) {
  if (rows.length === 0) {
    return el("p", { class: "empty", "data-empty": kind }, "none");
  }
  const head = el("tr", {}, ...headings.map((h) => el("th", {}, h)));
  return el("table", { "data-table": kind }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function ago(ms) {
  if (ms === null || ms === undefined) return "never";
  return (ms / 1000).toFixed(1) + " s ago";
}

function region(name, r) {
  const section = el("section", { "data-region": name }, el("h2", {}, "Region " + name));
  section.append(el("h3", {}, "Fleets"), table("fleets", ["Fleet", "Name", "Locations", "Launches"],
    r.fleets.map((f) => el("tr", { "data-fleet": f.id },
      el("td", { class: "id" }, f.id), el("td", {}, f.name), el("td", {}, f.locations.join(", ")),
      el("td", {}, f.launch.map((l) => l.count + " × " + l.command).join("; "))))));
  section.append(el("h3", {}, "Computes"), table("computes", ["Compute", "Fleet", "IP", "Location"],
    r.computes.map((c) => el("tr", { "data-compute": c.name },
      el("td", { class: "id" }, c.name), el("td", {}, c.fleet), el("td", {}, c.ip), el("td", {}, c.location)))));
  section.append(el("h3", {}, "Server processes (" + r.process_count + ")"),
    table("processes", ["Process", "Compute", "State", "Health", "Port", "Last heartbeat", "Game session"],
      r.processes.map((p) => el("tr", { "data-process": p.id },
        el("td", { class: "id" }, p.id), el("td", {}, p.compute), el("td", {}, badge(p.state)),
        el("td", {}, badge(p.healthy ? "healthy" : "unhealthy")), el("td", {}, p.port || ""),
        el("td", {}, ago(p.last_heartbeat_ms_ago)), el("td", { class: "id" }, p.game_session)))));
  section.append(el("h3", {}, "Game sessions (" + r.game_session_count + ")"),
    table("game-sessions", ["Game session", "Name", "Status", "Address", "Players"],
      r.game_sessions.map((s) => el("tr", { "data-game-session": s.id },
        el("td", { class: "id" }, s.id), el("td", {}, s.name), el("td", {}, badge(s.status), " ", text(s.status_reason)),
        el("td", {}, s.address),
        el("td", { "data-players": s.id },
          s.players.filter((p) => p.status === "RESERVED" || p.status === "ACTIVE").length + " / " + s.maximum_players,
          el("ul", {}, ...s.players.map((p) => el("li", { "data-player": p.player_id }, p.player_id + " ", badge(p.status)))))))));
  section.append(el("h3", {}, "Placements (" + r.placement_count + ")"),
    table("placements", ["Placement", "Queue", "Status", "Game session"],
      r.placements.map((p) => el("tr", { "data-placement": p.id },
        el("td", { class: "id" }, p.id), el("td", {}, p.queue), el("td", {}, badge(p.status)),
        el("td", { class: "id" }, p.game_session)))));
  return section;
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch(STATE, { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const state = await response.json();
    document.getElementById("summary").textContent =
      "v" + state.version + " · up " + state.uptime_seconds + " s · game servers connect to " + state.endpoint_for_game_servers;
    const regions = document.getElementById("regions");
    regions.replaceChildren(...Object.entries(state.regions).map(([name, r]) => region(name, r)));
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.classList.remove("stale");
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (error) {
    status.textContent = "cannot reach the service: " + error.message;
    status.classList.add("stale");
  }
}

refresh();
setInterval(refresh, 1000);
