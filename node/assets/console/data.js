// Lookups several pages share, fetched once per page load: the events this node
// knows, and the classification schemes its recognised mapping sets connect.

import { get, envelope } from "./api.js";

let eventsP = null;
let schemesP = null;

/** Every current event: [{id, local_id, body, publisher}] sorted by start date. */
export function events() {
  if (!eventsP) {
    eventsP = get("/v1/records", { kind: "event", limit: 500 })
      .then((list) =>
        list
          .map((s) => {
            const env = envelope(s);
            return { id: s.id, hash: s.hash, body: env.body || {}, env };
          })
          .filter((e) => e.body && e.body.local_id)
          .sort((a, b) => String(a.body.starts_on).localeCompare(String(b.body.starts_on))),
      )
      .catch((e) => {
        eventsP = null;
        throw e;
      });
  }
  return eventsP;
}

/** Recognised mapping sets: { graph: scheme → Set(schemes it maps to or from) }. */
export function mappingSchemes() {
  if (!schemesP) {
    schemesP = get("/v1/mappings")
      .then((m) => {
        const graph = new Map();
        const link = (a, b) => {
          if (!graph.has(a)) graph.set(a, new Set());
          graph.get(a).add(b);
        };
        for (const s of m.recognised || []) {
          link(s.subject_scheme, s.object_scheme);
          link(s.object_scheme, s.subject_scheme);
        }
        return graph;
      })
      .catch(() => new Map());
  }
  return schemesP;
}

/** Schemes reachable from `scheme` through recognised sets (up to 3 steps). */
export async function targetsOf(scheme) {
  const graph = await mappingSchemes();
  const seen = new Set([scheme]);
  let frontier = [scheme];
  for (let depth = 0; depth < 3; depth++) {
    const next = [];
    for (const s of frontier) {
      for (const n of graph.get(s) || []) {
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
      }
    }
    frontier = next;
  }
  seen.delete(scheme);
  return [...seen];
}
