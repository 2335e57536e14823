// server.listen: "host:port", "[v6]:port" or ":port" (all interfaces). Port 0
// asks the OS for a free port (tests).

import { AgentError } from '../errors.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(text: string, where = 'server.listen'): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AgentError('config', `${where}: "${text}" is not host:port (e.g. 127.0.0.1:9102, [::1]:9102, :9102)`, { where });
  }
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port };
}
