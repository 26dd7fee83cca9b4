// Admin page. On the public bind it only says where the admin console is. On the
// admin bind it asks for the admin token (kept in sessionStorage, for this tab
// only), and with it shows peers and their sync state, the trust list, mapping
// authorities and conflicts, record counts, recent ingest/sync activity (an
// inline SVG chart) and the audit log. A wrong token shows nothing but the refusal.

import { get, admin as adminGet } from "../api.js";
import { t } from "../i18n.js";
import { h, mount, errorBox, short, badge, table } from "../ui.js";

const TOKEN_KEY = "techmesh.admin.token";
const AUDIT_LIMIT = 25;
const SVG = "http://www.w3.org/2000/svg";

function bind() {
  const m = document.querySelector('meta[name="techmesh-bind"]');
  return m ? m.content : "public";
}

function savedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (_) {
    return "";
  }
}

function saveToken(tok) {
  try {
    if (tok) sessionStorage.setItem(TOKEN_KEY, tok);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) {
    // storage disabled: the token lives only as long as this page
  }
}

export async function render(main, route, alive) {
  if (bind() !== "admin") {
    mount(
      main,
      h("h1", {}, t("admin.title")),
      h("section.card#admin-elsewhere", {}, h("p.notice", {}, t("admin.elsewhere")), h("p", {}, t("admin.elsewhere.how"))),
    );
    return;
  }
  const token = savedToken();
  if (!token) {
    mount(main, h("h1", {}, t("admin.title")), loginForm(null));
    return;
  }
  let peers;
  try {
    peers = await adminGet("/admin/v1/peers", token);
  } catch (e) {
    if (!alive()) return;
    if (e.status === 401) {
      saveToken("");
      mount(main, h("h1", {}, t("admin.title")), loginForm(t("admin.wrong")));
    } else {
      mount(main, h("h1", {}, t("admin.title")), errorBox(e));
    }
    return;
  }
  const [members, audit, activity, status, mappings] = await Promise.all([
    adminGet("/admin/v1/members", token),
    adminGet(`/admin/v1/audit?limit=${AUDIT_LIMIT}`, token),
    adminGet("/admin/v1/activity", token).catch(() => null),
    get("/v1/status"),
    get("/v1/mappings"),
  ]);
  if (!alive()) return;
  const logout = h("button#admin-logout", { type: "button" }, t("admin.logout"));
  logout.addEventListener("click", () => {
    saveToken("");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  mount(
    main,
    h("div.titlebar", {}, h("h1", {}, t("admin.title")), logout),
    h("div.grid2", {}, countsCard(status), activityCard(activity)),
    section("admin.peers", "admin-peers", peersTable(peers)),
    section("admin.members", "admin-members", membersTable(members)),
    section("admin.mappings", "admin-mappings", mappingsTable(mappings)),
    section("admin.conflicts", "admin-conflicts", conflictsList(mappings.conflicts || [])),
    section("admin.audit", "admin-audit", auditTable(audit)),
  );
}

function section(titleKey, id, body) {
  return h(`section.card#${id}`, {}, h("h2", {}, t(titleKey)), body);
}

function loginForm(error) {
  const input = h("input#admin-token", { type: "password", name: "token", autocomplete: "off", required: true });
  const form = h(
    "form.card.login#admin-login",
    {},
    error ? h("p.error#admin-error", { role: "alert" }, error) : null,
    h("label.field", {}, h("span.label", {}, t("admin.token")), input, h("span.muted", {}, t("admin.token.hint"))),
    h("button.primary#admin-go", { type: "submit" }, t("admin.login")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    saveToken(input.value.trim());
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  return form;
}

function yesNo(b) {
  return b ? badge(t("yes"), "ok") : badge(t("no"), "warn");
}

function countsCard(status) {
  const counts = status.records || {};
  return section(
    "admin.counts",
    "admin-counts",
    [
      h("p.big#records-total", {}, String(status.records_total ?? "")),
      table(
        [
          [t("col.kind"), ([k]) => k],
          [t("col.count"), ([, v]) => String(v)],
        ],
        Object.entries(counts),
      ),
    ],
  );
}

function peersTable(peers) {
  if (!peers.length) return h("p.empty", {}, t("admin.peers.none"));
  return table(
    [
      [t("col.member"), (p) => p.member || "—"],
      [t("col.peer"), (p) => h("code", { title: p.peer_id }, short(p.peer_id))],
      [t("col.connected"), (p) => yesNo(p.connected)],
      [t("col.sync"), (p) => badge((p.sync && p.sync.state) || "—", p.sync && p.sync.state === "ok" ? "ok" : "")],
      [t("col.last"), (p) => (p.sync && p.sync.last_sync_at) || "—"],
      [t("col.fetched"), (p) => String((p.sync && p.sync.fetched) ?? 0)],
      [t("col.pushed"), (p) => String((p.sync && p.sync.pushed) ?? 0)],
    ],
    peers,
    "peers.stack",
  );
}

function membersTable(members) {
  return table(
    [
      [t("col.member"), (m) => m.name],
      [t("col.country"), (m) => [m.country, m.region].filter(Boolean).join(" ")],
      [t("col.roles"), (m) => (m.roles || []).map((r) => badge(r))],
      [t("col.keys"), (m) => (m.publisher_keys || []).map((k) => h("code", { title: k }, short(k), " "))],
      [t("col.connected"), (m) => yesNo((m.connected_peers || []).length > 0)],
    ],
    members,
  );
}

function mappingsTable(m) {
  const sets = [...(m.recognised || []), ...(m.unrecognised || [])];
  return table(
    [
      [t("col.set"), (s) => h("code", { title: s.id }, s.id.split("/").pop())],
      [t("col.scheme"), (s) => `${s.subject_scheme} → ${s.object_scheme}`],
      [t("col.publisher"), (s) => s.authority || h("code", {}, short(s.id.split("/")[0]))],
      [t("col.recognised"), (s) => yesNo(s.recognised)],
      [t("col.count"), (s) => String(s.mappings)],
    ],
    sets,
  );
}

function conflictsList(conflicts) {
  if (!conflicts.length) return h("p.empty", {}, t("admin.conflicts.none"));
  return h(
    "ul.plain",
    {},
    conflicts.map((c) =>
      h(
        "li",
        {},
        h("code", {}, `${c.subject_scheme}:${c.subject} → ${c.object_scheme}:${c.object}`),
        " ",
        (c.winner || []).map((w) => badge(`✔ ${claim(w)}`, "ok")),
        (c.overridden || []).map((w) => badge(`✘ ${claim(w)}`, "warn")),
      ),
    ),
  );
}

function claim(w) {
  return `${w.authority || short(w.set)} ${w.negated ? "¬" : ""}${w.predicate} ${Number(w.confidence).toFixed(2)}`;
}

function auditTable(entries) {
  return table(
    [
      [t("col.time"), (e) => e.at || ""],
      [t("col.actor"), (e) => [e.actor, e.operator].filter(Boolean).join(" / ")],
      [t("col.action"), (e) => e.action || ""],
      [t("col.target"), (e) => e.target || ""],
      [t("col.result"), (e) => badge(e.result || "?", e.result === "ok" ? "ok" : "warn")],
    ],
    [...entries].reverse(),
  );
}

/** Stacked columns per 10-second bucket: accepted, refused, sync rounds. */
function activityCard(a) {
  if (!a || !Array.isArray(a.buckets)) return section("admin.activity", "admin-activity", h("p.muted", {}, "—"));
  const W = 600;
  const H = 140;
  const PAD = 18;
  const n = a.buckets.length;
  const max = Math.max(1, ...a.buckets.map((b) => b.accepted + b.refused + b.sync_rounds));
  const bw = (W - PAD) / n;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("admin.activity"));
  const el = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
    return e;
  };
  el("line", { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, class: "axis" });
  el("text", { x: 0, y: 10, class: "tick" }).textContent = String(max);
  el("text", { x: 0, y: H - PAD, class: "tick" }).textContent = "0";
  a.buckets.forEach((b, i) => {
    let y = H - PAD;
    for (const [key, cls] of [
      ["accepted", "acc"],
      ["refused", "ref"],
      ["sync_rounds", "syn"],
    ]) {
      const v = b[key];
      if (!v) continue;
      const hgt = ((H - PAD - 4) * v) / max;
      y -= hgt;
      const r = el("rect", { x: (PAD + i * bw + 1).toFixed(1), y: y.toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: hgt.toFixed(1), class: cls });
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${b.start} ${key}: ${v}`;
      r.append(title);
    }
  });
  const tot = a.totals || {};
  const legend = h(
    "div.legend",
    {},
    h("span.key.acc", {}, `${t("admin.accepted")} ${tot.accepted ?? 0}`),
    h("span.key.ref", {}, `${t("admin.refused")} ${tot.refused ?? 0}`),
    h("span.key.syn", {}, `${t("admin.sync")} ${tot.sync_rounds ?? 0}`),
  );
  return section("admin.activity", "admin-activity", [svg, legend]);
}
