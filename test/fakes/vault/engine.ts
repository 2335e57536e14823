// What a mounted engine sees of a request, after auth and ACL checks.

import type { TokenEntry } from './tokens.ts';
import type { FakeResponse } from './wire.ts';

export interface EngineRequest {
  /** GET, PUT, POST, DELETE, LIST (GET ?list=true arrives as LIST) */
  method: string;
  /** the path below the mount, no leading slash */
  rest: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** the caller; undefined only for unauthenticated paths */
  token: TokenEntry | undefined;
}

export interface Engine {
  handle(req: EngineRequest): FakeResponse;
}
