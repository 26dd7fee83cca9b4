// Search page: query box and filters (type, classification with translation
// hints, maturity, transfer modes, countries, event), on this node or across the
// federation. Every result shows its publishing member, the signature mark and
// why it matched. The form lives in the URL hash, so results can be linked.

import { get, post } from "../api.js";
import { t } from "../i18n.js";
import { events, targetsOf } from "../data.js";
import { h, mount, ml, mlText, errorBox, loading, short, href, typeBadge, verifiedMark, badge } from "../ui.js";

const CLASS_SCHEMES = ["ipc", "cpc", "wipo35", "nace2", "isic4", "gbt4754", "gbt13745", "cn-techfield", "een-tech"];
const TRL_SCHEMES = ["trl-eu", "trl-nasa", "gbt22900", "cn-stage"];
const MODES = [
  "licence",
  "assignment",
  "exclusive_licence",
  "rd_cooperation",
  "commissioned_rd",
  "joint_implementation",
  "equity_investment",
  "technical_service",
  "consulting",
];
/** Results per page, and how long peers get to answer a federated search. */
const LIMIT = 30;
const FEDERATED_DEADLINE_MS = 4000;

function select(name, value, options) {
  return h(
    "select",
    { name, id: `f-${name}` },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
  );
}

function field(labelKey, control, extra) {
  return h("label.field", {}, h("span.label", {}, t(labelKey)), control, extra);
}

/** The search parameters of the API from the page's hash parameters. */
function apiParams(p) {
  const scheme = p.get("scheme") || "ipc";
  const code = (p.get("code") || "").trim();
  const trl = (p.get("trl") || "").trim();
  return {
    q: (p.get("q") || "").trim() || undefined,
    type: p.get("type") || undefined,
    class: code ? `${scheme}:${code}` : undefined,
    min_trl: trl ? `${p.get("trl_scheme") || "trl-eu"}:${trl}` : undefined,
    mode: p.get("mode") || undefined,
    country: (p.get("country") || "").replace(/\s+/g, "").toUpperCase() || undefined,
    event: p.get("event") || undefined,
    limit: LIMIT,
  };
}

export async function render(main, route, alive) {
  const p = route.params;
  const modes = new Set((p.get("mode") || "").split(",").filter(Boolean));
  const q = h("input", {
    type: "search",
    name: "q",
    id: "q",
    value: p.get("q") || "",
    placeholder: t("search.placeholder"),
    autocomplete: "off",
    enterkeyhint: "search",
  });
  const hints = h("div.hints", { id: "class-hints" });
  const eventSel = select("event", p.get("event") || "", [["", t("search.event.any")]]);
  const fed = p.get("fed") === "1";
  const moreOpen = ["scheme", "code", "trl", "mode", "country", "event"].some((k) => p.get(k));
  const form = h(
    "form.search#search-form",
    { role: "search" },
    h(
      "div.qrow",
      {},
      q,
      h("button.primary#search-go", { type: "submit" }, t("search.go")),
    ),
    h(
      "div.row",
      {},
      field(
        "search.type",
        select("type", p.get("type") || "", [
          ["", t("search.type.any")],
          ["offer", t("search.type.offer")],
          ["request", t("search.type.request")],
        ]),
      ),
      h(
        "fieldset.where",
        {},
        h("legend", {}, t("search.where")),
        h("label.inline", {}, h("input", { type: "radio", name: "fed", value: "0", checked: !fed }), t("search.local")),
        h(
          "label.inline",
          {},
          h("input", { type: "radio", name: "fed", value: "1", id: "f-federated", checked: fed }),
          t("search.federated"),
        ),
      ),
    ),
    h(
      "details.more",
      { open: moreOpen },
      h("summary", {}, t("search.more")),
      h(
        "div.row",
        {},
        field(
          "search.class",
          h(
            "span.pair",
            {},
            select(
              "scheme",
              p.get("scheme") || "ipc",
              CLASS_SCHEMES.map((s) => [s, s]),
            ),
            h("input", { name: "code", id: "f-code", value: p.get("code") || "", placeholder: t("search.class.code") }),
          ),
          hints,
        ),
        field(
          "search.trl",
          h(
            "span.pair",
            {},
            select(
              "trl_scheme",
              p.get("trl_scheme") || "trl-eu",
              TRL_SCHEMES.map((s) => [s, s]),
            ),
            h("input", {
              name: "trl",
              id: "f-trl",
              type: "number",
              min: 1,
              max: 9,
              value: p.get("trl") || "",
              placeholder: t("search.trl.level"),
            }),
          ),
        ),
        field("search.country", h("input", { name: "country", id: "f-country", value: p.get("country") || "", placeholder: t("search.country.hint") })),
        field("search.event", eventSel),
      ),
      h(
        "fieldset.modes",
        {},
        h("legend", {}, t("search.modes")),
        MODES.map((m) =>
          h("label.inline", {}, h("input", { type: "checkbox", name: "mode", value: m, checked: modes.has(m) }), t(`mode.${m}`)),
        ),
      ),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const params = {};
    for (const k of ["q", "type", "scheme", "code", "trl_scheme", "trl", "country", "event"]) {
      params[k] = String(fd.get(k) || "").trim();
    }
    if (!params.code) delete params.scheme;
    if (!params.trl) delete params.trl_scheme;
    params.mode = fd.getAll("mode").join(",");
    params.fed = fd.get("fed") === "1" ? "1" : "";
    const next = href("search", "", params);
    if (next === location.hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = next;
  });
  const results = h("section.results#results", {}, loading());
  mount(main, h("h1", {}, t("search.title")), form, results);

  events()
    .then((list) => {
      for (const e of list) {
        eventSel.append(h("option", { value: e.body.local_id, selected: e.body.local_id === p.get("event") }, mlText(e.body.title)));
      }
    })
    .catch(() => {});
  if (p.get("code")) showHints(hints, p.get("scheme") || "ipc", p.get("code"));

  const params = apiParams(p);
  let answer;
  let notice = null;
  try {
    if (fed) {
      try {
        const body = { ...params, deadline_ms: FEDERATED_DEADLINE_MS };
        answer = await post("/v1/federated-search", body);
      } catch (e) {
        if (e.status !== 404) throw e;
        notice = h("p.notice", {}, t("error.notyet", { what: t("search.federated") }));
        answer = await get("/v1/search", params);
      }
    } else {
      answer = await get("/v1/search", params);
    }
  } catch (e) {
    if (alive()) mount(results, errorBox(e));
    return;
  }
  if (!alive()) return;
  mount(results, notice, renderAnswer(answer));
}

/** Show how the filter's code translates into the other schemes. */
async function showHints(el, scheme, code) {
  const targets = await targetsOf(scheme);
  if (!targets.length) {
    mount(el, h("span.muted", {}, t("search.hint.none")));
    return;
  }
  const found = await Promise.all(
    targets.map((to) =>
      get("/v1/translate", { scheme, code, to })
        .then((r) => (r.results || []).map((x) => ({ ...x, scheme: r.to })))
        .catch(() => []),
    ),
  );
  const chips = found.flat().map((r) =>
    h(
      "span.chip.hint",
      { title: (r.chain || []).map((s) => s.set).join(" → ") },
      `≈ ${r.scheme}:${r.code} (${r.predicate}, ${Number(r.confidence).toFixed(2)})`,
    ),
  );
  mount(el, chips.length ? [h("span.muted", {}, t("search.hints"), " "), chips] : h("span.muted", {}, t("search.hint.none")));
}

function renderAnswer(a) {
  const list = a.results || [];
  const head = h("p.total#total", { dataset: { total: a.total ?? list.length } }, t("search.total", { n: a.total ?? list.length }));
  const peers = Array.isArray(a.peers) && a.peers.length ? renderPeers(a.peers) : null;
  if (!list.length) return [head, peers, h("p.empty", {}, t("search.none"))];
  return [head, peers, h("ol.cards", {}, list.map(resultCard))];
}

function renderPeers(peers) {
  return h(
    "div.peers",
    {},
    h("span.muted", {}, t("search.peers"), ": "),
    peers.map((p) =>
      badge(`${p.member || short(p.peer_id)}: ${p.status}${p.count !== undefined ? ` (${p.count})` : ""}`, p.status === "ok" ? "ok" : "warn"),
    ),
  );
}

/** One result: title, type, publishing member, signature mark, why it matched. */
export function resultCard(r) {
  const member = r.member || short(r.publisher);
  return h(
    "li.card.result",
    { dataset: { id: r.id, local: r.local_id } },
    h(
      "div.cardhead",
      {},
      typeBadge(r.entry_type),
      h("a.title", { href: href("entry", r.id, { member: r.member }) }, ml(r.title)),
    ),
    h(
      "div.meta",
      {},
      h("span.member", {}, t("result.member", { member })),
      r.node && r.node !== "local" ? badge(r.node, "node") : null,
      r.signature_verified !== false ? verifiedMark() : null,
    ),
    r.organisation && r.organisation.name ? h("div.org", {}, ml(r.organisation.name), r.organisation.country ? ` · ${r.organisation.country}` : "") : null,
    r.summary && Object.keys(r.summary).length ? h("p.summary", {}, ml(r.summary)) : null,
    h("div.why", {}, h("span.label", {}, t("result.why"), ": "), whyChips(r.why)),
  );
}

/** The reasons of a search hit as chips. */
export function whyChips(why) {
  const out = [];
  if (!why) return out;
  if (why.text_score !== undefined) out.push(h("span.chip", {}, t("why.text", { score: why.text_score })));
  const c = why.classification;
  if (c) out.push(h("span.chip", { title: chainTitle(c.chain) }, t("why.class", { matched: c.matched ?? c.code ?? "", how: c.how ?? "" })));
  const m = why.maturity;
  if (m) out.push(h("span.chip", {}, m.as ? t("why.maturity.as", { trl: m.trl, as: m.as }) : t("why.maturity", { trl: m.trl })));
  if (!out.length) out.push(h("span.chip", {}, t("why.filters")));
  return out;
}

function chainTitle(chain) {
  return Array.isArray(chain) ? chain.map((s) => `${s.subject_scheme}:${s.subject} → ${s.object_scheme}:${s.object}`).join("; ") : undefined;
}

