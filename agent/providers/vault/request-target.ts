// Where a request goes, from the URI node-vault builds: the origin to connect
// to and the path and query for the request line, as WHATWG URL (and so
// node:http) makes them. Pure, with a small cache.

/** a URI's origin, as WHATWG URL gives its parts */
export interface Origin {
  protocol: string;
  /** host:port, the port left out when it is the scheme's default */
  host: string;
  /** [::1] for IPv6 */
  hostname: string;
  port: string;
}

export interface Target extends Origin {
  /** path and query, as sent */
  path: string;
  pathname: string;
}

/** a possible dot segment, which URL resolves: `/.`, or a `.` percent-encoded */
const DOT_SEGMENT = /\/\.|%2e/i;
/** characters a path and query may hold as they are, none of which URL re-encodes */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~%!$&()*+,;=:@/?]*$/;

export class RequestTargets {
  readonly #origins = new Map<string, Origin>();

  /**
   * The parts of a URI the exchange needs. The origin's are parsed once
   * (a check repeats the same origin every time, and WHATWG URL parsing was
   * ~6 % of a check's CPU in lite mode); a path of plain characters with no
   * possible dot segment is used as it is, which is what URL would make of it; any
   * other path goes through URL, to be sent as node:http sent it.
   */
  of(uri: string): Target {
    const slash = uri.indexOf('/', uri.indexOf('://') + 3);
    const originText = slash === -1 ? uri : uri.slice(0, slash);
    const rest = slash === -1 ? '/' : uri.slice(slash);
    let origin = this.#origins.get(originText);
    if (!origin) {
      const u = new URL(originText);
      origin = { protocol: u.protocol, host: u.host, hostname: u.hostname, port: u.port };
      // a handful of origins at most (the address, a login elsewhere in tests): bounded all the same
      if (this.#origins.size >= 16) this.#origins.clear();
      this.#origins.set(originText, origin);
    }
    if (PLAIN_PATH.test(rest) && !DOT_SEGMENT.test(rest)) {
      const q = rest.indexOf('?');
      return { ...origin, path: rest, pathname: q === -1 ? rest : rest.slice(0, q) };
    }
    const u = new URL(uri);
    return { ...origin, path: u.pathname + u.search, pathname: u.pathname };
  }
}
