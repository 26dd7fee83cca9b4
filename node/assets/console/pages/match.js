// Match page: pick a request (or an offer), see the complementary entries ranked
// on this node or across the federation, each with the explanation of its score
// (classification, shared text, maturity, transfer modes, country).

import { get, post } from "../api.js";
import { t } from "../i18n.js";
import { h, mount, ml, mlText, errorBox, loading, short, href, typeBadge, verifiedMark, badge } from "../ui.js";

/** Candidates listed in the picker, and results asked for. */
const PICK_LIMIT = 100;
const RESULT_LIMIT = 20;
const FEDERATED_DEADLINE_MS = 4000;

export async function render(main, route, alive) {
  const p = route.params;
  const chosen = p.get("id") || "";
  const fed = p.get("fed") === "1";
  const [requests, offers] = await Promise.all([
    get("/v1/search", { type: "request", sort: "title", limit: PICK_LIMIT }),
    get("/v1/search", { type: "offer", sort: "title", limit: PICK_LIMIT }),
  ]);
  if (!alive()) return;
  const option = (r) => h("option", { value: r.id, selected: r.id === chosen }, `${mlText(r.title)} — ${r.member || short(r.publisher)}`);
  const picker = h(
    "select#match-pick",
    { name: "id", required: true },
    h("option", { value: "" }, "—"),
    h("optgroup", { label: t("match.pick") }, (requests.results || []).map(option)),
    h("optgroup", { label: t("match.pick.offer") }, (offers.results || []).map(option)),
  );
  const form = h(
    "form.card#match-form",
    {},
    h("label.field", {}, h("span.label", {}, t("match.pick")), picker),
    h(
      "div.row",
      {},
      h("label.inline", {}, h("input#match-fed", { type: "checkbox", name: "fed", value: "1", checked: fed }), t("search.federated")),
      h("button.primary#match-go", { type: "submit" }, t("match.run")),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = href("match", "", { id: picker.value, fed: form.elements.fed.checked ? "1" : "" });
    if (next === location.hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = next;
  });
  const out = h("section.results#match-results", {});
  mount(main, h("h1", {}, t("match.title")), form, out);
  if (!chosen) return;
  mount(out, loading());
  let answer;
  let notice = null;
  try {
    try {
      answer = await post("/v1/match", { id: chosen, limit: RESULT_LIMIT, federated: fed || undefined, deadline_ms: fed ? FEDERATED_DEADLINE_MS : undefined });
    } catch (e) {
      if (!fed || (e.status !== 404 && e.status !== 400 && e.status !== 422)) throw e;
      notice = h("p.notice", {}, t("error.notyet", { what: t("search.federated") }));
      answer = await post("/v1/match", { id: chosen, limit: RESULT_LIMIT });
    }
  } catch (e) {
    if (alive()) mount(out, errorBox(e));
    return;
  }
  if (!alive()) return;
  const results = answer.results || [];
  const what = t(`match.what.${answer.looking_for || "offer"}`);
  mount(
    out,
    notice,
    h("h2", {}, t("match.results", { title: mlText(answer.subject && answer.subject.title), what })),
    Array.isArray(answer.peers) && answer.peers.length
      ? h("div.peers", {}, answer.peers.map((pp) => badge(`${pp.member || short(pp.peer_id)}: ${pp.status}`, pp.status === "ok" ? "ok" : "warn")))
      : null,
    results.length ? h("ol.cards.ranked", {}, results.map(matchCard)) : h("p.empty", {}, t("match.none")),
  );
}

function matchCard(r, i) {
  const x = r.explanation || {};
  return h(
    "li.card.match",
    { dataset: { id: r.id } },
    h(
      "div.cardhead",
      {},
      h("span.rank", {}, `#${i + 1}`),
      typeBadge(r.entry_type || "offer"),
      h("a.title", { href: href("entry", r.id, { member: r.member }) }, ml(r.title)),
      h("span.score", {}, t("match.score", { score: Number(r.score).toFixed(2) })),
    ),
    h("div.meta", {}, h("span.member", {}, t("result.member", { member: r.member || short(r.publisher) })), r.signature_verified !== false ? verifiedMark() : null),
    h("div.explain", {}, explainRows(x)),
    r.excluded && r.excluded.length ? h("p.warn", {}, t("match.excluded"), ": ", r.excluded.join("; ")) : null,
  );
}

/** One bar per component of the score, with its detail. */
function explainRows(x) {
  if (x.text_only_bm25 !== undefined) return h("span.chip", {}, `BM25 ${x.text_only_bm25}`);
  const rows = [];
  const add = (key, part, detail) => {
    if (!part) return;
    const c = Number(part.contribution || 0);
    const bar = h("span.bar", {}, h("span.fill", { dataset: { w: Math.round(Math.min(1, c / 0.4) * 100) } }));
    rows.push(h("div.ex", {}, h("span.exk", {}, t(`ex.${key}`)), bar, h("span.exv", {}, c.toFixed(2)), h("span.exd", {}, detail)));
  };
  const cl = x.classification;
  add("classification", cl, cl && (cl.matches || []).map((m) => `${m.wanted} ⇢ ${m.matched} (${m.how})`).join("; "));
  const tx = x.text;
  add("text", tx, tx && (tx.shared_terms || []).slice(0, 8).join(", "));
  const mt = x.maturity;
  add("maturity", mt, mt && mt.detail ? [mt.detail.status, mt.detail.offer, mt.detail.required].filter(Boolean).join(" · ") : "");
  const md = x.transfer_modes;
  add("transfer_modes", md, md && Array.isArray(md.overlap) ? md.overlap.map((m) => t(`mode.${m}`)).join(", ") : "");
  const co = x.country;
  add("country", co, co ? co.detail : "");
  // Bars are sized from script (CSP forbids inline style attributes).
  queueMicrotask(() => {
    for (const f of rows.flatMap((r) => [...r.querySelectorAll(".fill")])) f.style.width = `${f.dataset.w}%`;
  });
  return rows;
}
