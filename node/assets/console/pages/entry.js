// Entry page: every field of a stored entry (text in the viewer's language, with
// the fallback marked), each classification with its mapped equivalents and the
// chain of mapping sets behind them, and the record's provenance (publisher,
// seq, issued_at, hash).

import { get, envelope } from "../api.js";
import { t } from "../i18n.js";
import { targetsOf } from "../data.js";
import { h, mount, ml, short, href, typeBadge, verifiedMark, badge } from "../ui.js";

/** Body fields shown in their own rows (the rest go under "Other fields"). */
const KNOWN = new Set([
  "local_id",
  "entry_type",
  "title",
  "summary",
  "description",
  "keywords",
  "organisation",
  "classifications",
  "transfer_modes",
  "trl",
  "ipr",
  "target_countries",
  "valid_from",
  "valid_until",
  "scope",
  "contact",
]);

function row(key, value) {
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return null;
  return [h("dt", {}, t(key)), h("dd", {}, value)];
}

function plain(v) {
  if (v === null || v === undefined) return "";
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v)) return v.map(plain).join(", ");
  return Object.entries(v)
    .map(([k, x]) => `${k}: ${plain(x)}`)
    .join("; ");
}

export async function render(main, route, alive) {
  const id = route.arg;
  const stored = await get("/v1/record", { id });
  if (!alive()) return;
  const env = envelope(stored);
  const b = env.body || {};
  const member = route.params.get("member");
  const classes = h("ul.classes#classes", {}, (b.classifications || []).map(classItem));
  const trl = b.trl ? h("span", {}, `${b.trl.scheme} ${b.trl.level}`, h("span.mapped", { dataset: { scheme: b.trl.scheme, code: String(b.trl.level) } })) : null;
  const org = b.organisation
    ? h("span", {}, ml(b.organisation.name), [b.organisation.kind, b.organisation.country, b.organisation.region].filter(Boolean).map((x) => ` · ${x}`))
    : null;
  const others = Object.entries(b).filter(([k]) => !KNOWN.has(k));
  mount(
    main,
    h("p.back", {}, h("a", { href: "#/search" }, "← ", t("entry.back"))),
    h("h1.entry-title#entry-title", {}, typeBadge(b.entry_type), " ", ml(b.title)),
    h("div.meta", {}, member ? h("span.member", {}, t("result.member", { member })) : null, verifiedMark(), badge(b.local_id || "", "id")),
    h(
      "section.card",
      {},
      h("h2", {}, t("entry.fields")),
      h(
        "dl.fields#fields",
        {},
        row("entry.summary", b.summary ? ml(b.summary) : null),
        row("entry.description", b.description ? ml(b.description, "p") : null),
        row("entry.keywords", b.keywords ? ml(b.keywords) : null),
        row("entry.organisation", org),
        row("entry.modes", (b.transfer_modes || []).map((m) => badge(t(`mode.${m}`)))),
        row("entry.trl", trl),
        row("entry.ipr", b.ipr ? plain(b.ipr) : null),
        row("entry.targets", (b.target_countries || []).join(", ")),
        row("entry.valid", b.valid_from || b.valid_until ? `${b.valid_from || "…"} – ${b.valid_until || "…"}` : null),
        row("entry.scope", b.scope),
        row("entry.contact", b.contact ? plain(b.contact) : null),
        others.length ? row("entry.other", h("ul.plain", {}, others.map(([k, v]) => h("li", {}, h("code", {}, k), " ", plain(v))))) : null,
      ),
    ),
    h("section.card", {}, h("h2", {}, t("entry.classifications")), classes),
    h(
      "section.card",
      {},
      h("h2", {}, t("entry.provenance")),
      h(
        "dl.fields#provenance",
        {},
        row("entry.member", member),
        row("entry.publisher", h("code.wrap", {}, env.publisher)),
        row("entry.status", stored.publisher_status),
        row("entry.seq", h("span#prov-seq", {}, env.seq)),
        row("entry.issued", h("span#prov-issued", {}, env.issued_at)),
        row("entry.hash", h("code.wrap#prov-hash", {}, stored.hash)),
      ),
    ),
    b.entry_type ? h("p", {}, h("a.button.primary#to-match", { href: href("match", "", { id }) }, t("entry.match"))) : null,
  );
  // Mapped equivalents arrive after the page shows.
  for (const el of main.querySelectorAll(".mapped")) fillMapped(el, el.dataset.scheme, el.dataset.code);
}

function classItem(c) {
  return h("li", {}, h("span.chip.code", {}, `${c.scheme}:${c.code}`), h("span.mapped", { dataset: { scheme: c.scheme, code: c.code } }));
}

/** Translate scheme:code into every reachable scheme; show results with chains. */
async function fillMapped(el, scheme, code) {
  const targets = await targetsOf(scheme);
  const found = (
    await Promise.all(
      targets.map((to) =>
        get("/v1/translate", { scheme, code, to })
          .then((r) => (r.results || []).map((x) => ({ ...x, to: r.to })))
          .catch(() => []),
      ),
    )
  ).flat();
  if (!found.length) {
    mount(el, " ", h("span.muted", {}, t("entry.nomap")));
    return;
  }
  mount(
    el,
    h(
      "ul.equivs",
      {},
      found.map((r) =>
        h(
          "li",
          {},
          "→ ",
          h("span.chip.code", {}, `${r.to}:${r.code}`),
          ` ${r.predicate}, ${Number(r.confidence).toFixed(2)} `,
          h(
            "span.chain",
            {},
            t("entry.chain"),
            " ",
            (r.chain || []).map((s, i) => [i ? " ⟶ " : "", `${s.subject_scheme}:${s.subject}→${s.object_scheme}:${s.object}`, " ", h("span.muted", { title: s.set }, `[${short(s.set)}]`)]),
          ),
        ),
      ),
    ),
  );
}
