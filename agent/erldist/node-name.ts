// Node names. Our own name is fixed per agent host: every name a node sees
// becomes an atom on it, and atoms are never freed, so a fresh random name
// per call would slowly exhaust the target's atom table.

import os from 'node:os';
import { ErlDistError } from './errors.ts';

export interface NodeName {
  alive: string;
  host: string;
}

export function splitNodeName(node: string, what = 'node name'): NodeName {
  const parts = node.split('@');
  const [alive, host] = parts;
  if (parts.length !== 2 || alive === undefined || host === undefined || alive === '' || host === '') {
    throw new ErlDistError('usage', `${what} ${JSON.stringify(node)} must look like name@host (e.g. erlmcp@db-1 or erlmcp@10.0.0.5)`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(alive)) {
    throw new ErlDistError('usage', `${what} ${JSON.stringify(node)}: the part before @ may hold only letters, digits, _ and -`);
  }
  if (!/^[A-Za-z0-9_.:-]+$/.test(host)) {
    throw new ErlDistError('usage', `${what} ${JSON.stringify(node)}: ${JSON.stringify(host)} is not a host name or address`);
  }
  return { alive, host };
}

/** A node started with -name has a dotted host (FQDN or IP); -sname does not. */
export function isLongHost(host: string): boolean {
  return host.includes('.') || host.includes(':');
}

/**
 * erlmcp_secrets_<8 hex of sha256(hostname)>: stable for one pod/host, distinct
 * across them. `role` separates long-lived users (the sidecar) from one-shot
 * ones (the CLI): a second connection under the same name makes the node drop
 * the first, so each gets its own name (still a small, fixed set per host).
 */
export function defaultAlive(hostname = os.hostname(), role?: string): string {
  // node:crypto on first use: the sidecar imports this whether or not an Erlang notifier is configured
  const digest = process.getBuiltinModule('node:crypto').createHash('sha256').update(hostname).digest('hex').slice(0, 8);
  return role === undefined ? `erlmcp_secrets_${digest}` : `erlmcp_secrets_${role}_${digest}`;
}

/**
 * Our node name for talking to `target`. The host part must be of the same
 * kind (long vs short) as the target's or the node drops the connection, so
 * it follows the target: our short hostname for -sname nodes, our FQDN or the
 * target-style loopback address for -name nodes.
 */
export function defaultLocalNodeName(target: NodeName, hostname = os.hostname(), role?: string): string {
  const alive = defaultAlive(hostname, role);
  if (!isLongHost(target.host)) return `${alive}@${hostname.split('.')[0] ?? hostname}`;
  if (isLongHost(hostname)) return `${alive}@${hostname}`;
  return `${alive}@${target.host.includes(':') ? '::1' : '127.0.0.1'}`;
}
