// Events pages: the list of matchmaking events, one event, and its agenda (the
// meeting slots the node schedules between registered requests and offers) with
// a CSV download of the same agenda.

import { get } from "../api.js";
import { t } from "../i18n.js";
import { events } from "../data.js";
import { h, mount, ml, mlText, href, badge, table, verifiedMark } from "../ui.js";

function when(b) {
  return t("events.when", { from: b.starts_on || "…", to: b.ends_on || "…" });
}

export async function renderList(main, route, alive) {
  const list = await events();
  if (!alive()) return;
  mount(
    main,
    h("h1", {}, t("events.title")),
    list.length
      ? h(
          "ol.cards#events",
          {},
          list.map((e) =>
            h(
              "li.card.event",
              { dataset: { id: e.body.local_id } },
              h("div.cardhead", {}, h("a.title", { href: href("event", e.body.local_id) }, ml(e.body.title))),
              h("div.meta", {}, h("span", {}, when(e.body)), e.body.mode ? badge(e.body.mode) : null, e.body.venue ? h("span", {}, [e.body.venue.city, e.body.venue.country].filter(Boolean).join(", ")) : null),
              e.body.organiser ? h("div.org", {}, ml(e.body.organiser.name)) : null,
              h("p", {}, h("a.button", { href: href("agenda", e.body.local_id) }, t("events.agenda"))),
            ),
          ),
        )
      : h("p.empty", {}, t("events.none")),
  );
}

async function find(localId) {
  const list = await events();
  const e = list.find((x) => x.body.local_id === localId || x.id === localId);
  if (!e) throw new Error(`no event ${localId} on this node`);
  return e;
}

export async function renderEvent(main, route, alive) {
  const e = await find(route.arg);
  if (!alive()) return;
  const b = e.body;
  mount(
    main,
    h("p.back", {}, h("a", { href: "#/events" }, "← ", t("events.title"))),
    h("h1#event-title", {}, ml(b.title)),
    h("div.meta", {}, h("span", {}, when(b)), b.mode ? badge(b.mode) : null, verifiedMark()),
    h(
      "section.card",
      {},
      b.description ? ml(b.description, "p") : null,
      h(
        "dl.fields",
        {},
        b.organiser ? [h("dt", {}, t("entry.organisation")), h("dd", {}, ml(b.organiser.name))] : null,
        b.venue ? [h("dt", {}, t("event.venue")), h("dd", {}, [b.venue.city, b.venue.country].filter(Boolean).join(", "))] : null,
        (b.themes || []).length ? [h("dt", {}, t("event.themes")), h("dd", {}, b.themes.map((c) => h("span.chip.code", {}, `${c.scheme}:${c.code}`)))] : null,
        [h("dt", {}, t("event.participants")), h("dd", {}, String((b.participants || []).length))],
        [h("dt", {}, t("entry.hash")), h("dd", {}, h("code.wrap", {}, e.hash))],
      ),
    ),
    h("p", {}, h("a.button.primary#to-agenda", { href: href("agenda", b.local_id) }, t("events.agenda"))),
  );
}

export async function renderAgenda(main, route, alive) {
  const id = route.arg;
  const path = `/v1/events/${encodeURIComponent(id)}/agenda`;
  const a = await get(path);
  if (!alive()) return;
  const meetings = a.meetings || [];
  const side = (s) => (s ? h("a", { href: href("entry", s.id) }, mlText(s.title), s.organisation && s.organisation.name ? h("span.muted", {}, ` · ${mlText(s.organisation.name)}`) : null) : "");
  mount(
    main,
    h("p.back", {}, h("a", { href: href("event", id) }, "← ", mlText(a.event && a.event.title))),
    h("h1#agenda-title", {}, t("agenda.title", { title: mlText(a.event && a.event.title) })),
    h(
      "div.meta",
      {},
      h("span#agenda-count", { dataset: { meetings: meetings.length } }, t("agenda.meetings", { n: meetings.length, pairs: a.candidate_pairs ?? 0 })),
      h("a.button.primary#agenda-csv", { href: `${path}?format=csv`, download: `agenda-${id}.csv` }, "⬇ ", t("agenda.csv")),
    ),
    meetings.length
      ? table(
          [
            [t("agenda.slot"), (m) => String(m.slot)],
            [t("agenda.time"), (m) => `${m.date} ${m.start}–${m.end}`],
            [t("agenda.request"), (m) => side(m.request)],
            [t("agenda.offer"), (m) => side(m.offer)],
            [t("agenda.score"), (m) => Number(m.score).toFixed(2)],
          ],
          meetings,
          "agenda.stack",
        )
      : h("p.empty", {}, t("agenda.none")),
  );
}
