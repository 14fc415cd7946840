/**
 * A connection URL fit for a log line or a message: the password after the user name, and the query
 * parameters that carry one (pg's `password` and `sslpassword`, ioredis' `password`), shown as ***.
 * Done on the text, not by `new URL`: pg also takes forms the WHATWG parser refuses (a socket,
 * `postgres://tuban:pw@/tuban?host=/run/postgresql`), and a password may hold `@` or `:`, so the
 * user name ends at the first `:` and the password at the last `@` before the path.
 */
export function redactUrl(url: string): string {
  const q = url.search(/[?#]/);
  const [head, tail] = q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(head)?.[0] ?? '';
  const rest = head.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  const hidden = at >= 0 && colon >= 0 && colon < at ? `${rest.slice(0, colon)}:***${rest.slice(at)}` : rest;
  return `${scheme}${hidden}${tail.replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***')}`;
}

/** The database a PostgreSQL URL names ('' when none), read as redactUrl reads it. */
export function urlDatabase(url: string): string {
  const head = url.split(/[?#]/)[0].replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const path = head.slice(head.lastIndexOf('@') + 1);
  const slash = path.indexOf('/');
  if (slash < 0) return '';
  try {
    return decodeURIComponent(path.slice(slash + 1));
  } catch {
    return path.slice(slash + 1);
  }
}
