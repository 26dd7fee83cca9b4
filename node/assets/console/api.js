// The node's JSON API, same origin. Every failure becomes an ApiError that says
// what was asked and what the node (or the network) answered.

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status; // 0: the node could not be reached
    this.path = path;
  }
}

async function call(path, { method = "GET", body, token, text = false } = {}) {
  const headers = { Accept: text ? "text/csv, text/plain" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, e.message || String(e), path);
  }
  if (!r.ok) {
    let msg = r.statusText;
    try {
      const j = await r.json();
      if (j && j.error) msg = j.error;
    } catch (_) {
      // not JSON: keep the status text
    }
    throw new ApiError(r.status, msg, path);
  }
  return text ? r.text() : r.json();
}

/** `GET path?params` (empty params left out). */
export function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) q.set(k, String(v));
  }
  const qs = q.toString();
  return call(qs ? `${path}?${qs}` : path);
}

export function post(path, body) {
  return call(path, { method: "POST", body });
}

export function getText(path) {
  return call(path, { text: true });
}

/** An admin API call with the bearer token the user typed. */
export function admin(path, token) {
  return call(path, { token });
}

/** Parse a stored record's envelope ({"record": "<json>"} of /v1/record(s)). */
export function envelope(stored) {
  try {
    return JSON.parse(stored.record);
  } catch (_) {
    return {};
  }
}
