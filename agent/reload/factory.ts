// config -> Notifier. The `erlang` kind lives in another module (a BEAM
// distribution client, agent/erldist/) and is passed in through deps, so this
// file, the bundle's other entry points and the tests do not depend on it:
//
//   createNotifier(cfg, { erlang: (cfg) => new ErlangNotifier(cfg, ...) })

import type { ReloadConfig } from '../config/reload-schema.ts';
import { AgentError } from '../errors.ts';
import { ExecNotifier, type ExecDeps } from './exec.ts';
import { HttpNotifier, type HttpDeps } from './http.ts';
import type { Notifier } from './notifier.ts';
import { SignalNotifier, type SignalDeps } from './signal.ts';

export type ErlangReloadConfig = Extract<ReloadConfig, { type: 'erlang' }>;

export interface NotifierDeps {
  /** builds the `erlang` notifier; absent in builds without the erldist client */
  erlang?: (cfg: ErlangReloadConfig) => Notifier;
  signal?: SignalDeps;
  exec?: ExecDeps;
  http?: HttpDeps;
}

export function createNotifier(cfg: ReloadConfig, deps: NotifierDeps = {}, where = 'reload'): Notifier {
  switch (cfg.type) {
    case 'signal':
      return new SignalNotifier(cfg, deps.signal);
    case 'exec':
      return new ExecNotifier(cfg, deps.exec);
    case 'http':
      return new HttpNotifier(cfg, deps.http);
    case 'erlang':
      if (!deps.erlang) {
        throw new AgentError('config', `${where}: the erlang notifier is not available in this build; use type signal, exec or http instead`, { where });
      }
      return deps.erlang(cfg);
  }
}

/** every `reload:` entry in order, with config paths in errors */
export function createNotifiers(list: readonly ReloadConfig[], deps: NotifierDeps = {}): Notifier[] {
  return list.map((cfg, i) => createNotifier(cfg, deps, `reload[${i}]`));
}
