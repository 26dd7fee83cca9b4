// Small DOM helpers shared by the pages: an element builder (text is always set as
// text, never parsed as HTML), multilingual text with its fallback mark, errors.

import { t, pick, langName } from "./i18n.js";

/** h("a.cls#id", {href}, child, ...): children are nodes, strings or arrays. */
export function h(spec, attrs = {}, ...children) {
  const m = spec.match(/^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i);
  const el = document.createElement((m && m[1]) || "div");
  for (const part of ((m && m[2]) || "").match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A multilingual value in the viewer's language, with "fallback: shown in X". */
export function ml(map, tag = "span") {
  const p = pick(map);
  const text = Array.isArray(p.text) ? p.text.join(" · ") : p.text;
  const el = h(tag, { lang: p.lang || undefined }, text);
  if (p.fallback) {
    return h("span.ml", {}, el, " ", h("span.fallback", {}, t("fallback", { lang: langName(p.fallback) })));
  }
  return el;
}

/** The plain text of a multilingual value (for titles, options). */
export function mlText(map) {
  const p = pick(map);
  return Array.isArray(p.text) ? p.text.join(" · ") : String(p.text ?? "");
}

export function errorBox(e) {
  const msg =
    e && e.status === 0
      ? t("error.network", { message: e.message })
      : e && e.status
        ? t("error.api", { status: e.status, message: e.message })
        : String((e && e.message) || e);
  return h("p.error", { role: "alert" }, msg);
}

export function loading() {
  return h("p.muted.loading", {}, t("loading"));
}

/** Replace the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A short form of a long hex key or hash: 12…6 characters. */
export function short(hex) {
  const s = String(hex || "");
  return s.length > 20 ? `${s.slice(0, 12)}…${s.slice(-6)}` : s;
}

/** A table: `cols` = [[header, row => cell]]; class `stack` = one card per row on a phone. */
export function table(cols, rows, cls = "") {
  return h(
    `div.tablewrap${cls ? "." + cls : ""}`,
    {},
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, cols.map(([head]) => h("th", {}, head)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, cols.map(([head, cell]) => h("td", { dataset: { label: head } }, cell(r)))))),
    ),
  );
}

export function badge(text, kind = "") {
  return h(`span.badge${kind ? "." + kind : ""}`, {}, text);
}

/** "type: offer" → localised. */
export function typeBadge(type) {
  return badge(t(`type.${type}`), type);
}

export function verifiedMark() {
  return h("span.verified", { title: t("result.verified") }, "✔ ", t("result.verified"));
}

/** The hash of a page with an argument and parameters (empty ones left out). */
export function href(page, arg = "", params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) q.set(k, String(v));
  }
  const qs = q.toString();
  return `#/${page}${arg ? "/" + encodeURIComponent(arg) : ""}${qs ? "?" + qs : ""}`;
}
