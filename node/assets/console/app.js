// The console's entry point: a hash router (#/search, #/entry/<id>, #/match,
// #/events, #/event/<id>, #/agenda/<id>, #/admin), the navigation and the language
// toggle. Each page module exports `render(main, route)`.

import { t, lang, setLang } from "./i18n.js";
import { h, mount, errorBox } from "./ui.js";
import * as search from "./pages/search.js";
import * as entry from "./pages/entry.js";
import * as match from "./pages/match.js";
import * as events from "./pages/events.js";
import * as admin from "./pages/admin.js";

const PAGES = {
  search: [search.render, "search"],
  entry: [entry.render, "search"],
  match: [match.render, "match"],
  events: [events.renderList, "events"],
  event: [events.renderEvent, "events"],
  agenda: [events.renderAgenda, "events"],
  admin: [admin.render, "admin"],
};
const NAV = ["search", "match", "events", "admin"];

/** "#/entry/abc%2Fdef?x=1" → {page: "entry", arg: "abc/def", params}. */
export function parseRoute(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const [path, qs = ""] = raw.split("?", 2);
  const [page, ...rest] = path.split("/");
  return {
    page: PAGES[page] ? page : "search",
    arg: rest.length ? decodeURIComponent(rest.join("/")) : "",
    params: new URLSearchParams(qs),
  };
}

let renderCount = 0;

async function render() {
  const route = parseRoute(location.hash);
  const [fn, section] = PAGES[route.page];
  const nav = document.getElementById("nav");
  mount(
    nav,
    NAV.map((p) =>
      h(`a.navlink${p === section ? ".active" : ""}`, { href: `#/${p}`, dataset: { nav: p } }, t(`nav.${p}`)),
    ),
  );
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("lang").textContent = t("lang.toggle");
  document.getElementById("foot").textContent = t("footer");
  document.title = `${t(`nav.${section}`)} · techmesh`;
  const main = document.getElementById("main");
  const mine = ++renderCount;
  main.dataset.page = route.page;
  main.dataset.ready = "no";
  try {
    await fn(main, route, () => mine === renderCount);
  } catch (e) {
    if (mine === renderCount) mount(main, errorBox(e));
  }
  if (mine === renderCount) main.dataset.ready = "yes";
}

document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  render();
});
window.addEventListener("hashchange", render);
render();
