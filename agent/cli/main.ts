// Wires the pieces for each command and maps every failure to the contract's
// exit codes, here and nowhere else.

import { asAgentError } from '../errors.ts';
import { createLogger, defaultLogFormat, setLogFormat, type Logger, type LogLevel } from '../log/logger.ts';
import { CONFIG_ENV, loadConfig, type AgentConfig } from '../config/load.ts';
import { withDestinationsChecked } from '../config/destinations-on-disk.ts';
import { prepareTemplates, type PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { runInit } from '../pipeline/init.ts';
import { InvalidationRelay, type CliIO, type GateResult } from '../pipeline/gate.ts';
import { openProviders, closeProviders } from '../providers/open.ts';
import { VERSION } from '../version.ts';
import { envLogFormat, envLogLevel, parseCli, UsageError, type CliArgs } from './args.ts';
import { commandHelp, overview, usageHint, type HelpTopic } from './help.ts';
import { EXIT } from './exit-codes.ts';
import { reportFailure } from './report.ts';
import { reportSignalsTo } from './signal-guard.ts';
import { logFormatFlag } from '../log/command-log.ts';

export type { CliIO };

const defaultIO: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env };

export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  let args: CliArgs;
  let logger: Logger;
  try {
    const format = envLogFormat(io.env);
    logger = createLogger({ level: (envLogLevel(io.env) as LogLevel | undefined) ?? 'info', destination: io.stderr, format: format ?? defaultLogFormat(io.stderr) });
    args = parseCli(argv);
  } catch (e) {
    // usage errors go to stderr and exit 2: with no command, the overview;
    // otherwise the message and where to read more
    io.stderr.write(`${(e as Error).message}\n${e instanceof UsageError ? usageHint(e) : overview()}\n`);
    return EXIT.config;
  }
  if (args.logLevel) logger.level = args.logLevel;
  if (args.logFormat) setLogFormat(logger, args.logFormat);
  reportSignalsTo((signal, what) => logger.warn({ signal }, `${signal} ${what}`));
  try {
    // commands with their own flags: their --log-format for main's lines too
    const ownFormat = logFormatFlag(args.rest);
    if (ownFormat) setLogFormat(logger, ownFormat);
    switch (args.command) {
      case 'help':
        io.stdout.write(`${args.helpFor ? await helpText(args.helpFor) : overview()}\n`);
        return EXIT.ok;
      case 'version':
        io.stdout.write(`erlmcp-secrets ${VERSION} (node ${process.version})\n`);
        return EXIT.ok;
      case 'check':
        return await check(args, io, logger);
      case 'init':
        return await init(args, io, logger);
      case 'plan':
        return await plan(args, io, logger);
      case 'run': {
        const { runSidecar } = await import('../sidecar/run.ts');
        return await runSidecar(await gate(args, io, logger));
      }
      case 'exec': {
        const { runExec } = await import('../exec/run-exec.ts');
        return await runExec(await gate(args, io, logger), args.child);
      }
      case 'webhook': {
        if (args.rest[0] === 'preview') {
          const { runWebhookPreview } = await import('./webhook-preview.ts');
          return await runWebhookPreview(args.rest.slice(1), io, logger);
        }
        const { runWebhook } = await import('../webhook/cli.ts');
        return await runWebhook(args.rest, { stderr: io.stderr, env: io.env });
      }
      case 'copy-self': {
        const { copySelf } = await import('./copy-self.ts');
        logger.info({ destination: await copySelf(args.rest) }, 'agent binary copied');
        return EXIT.ok;
      }
      case 'erlang-call': {
        const { runErlangCall } = await import('../erldist/cli.ts');
        return await runErlangCall(args.rest, io);
      }
    }
  } catch (e) {
    const err = asAgentError(e, args.command);
    if (err.code === 'internal') logger.error({ err: e }, 'internal error');
    return reportFailure(args.command, err, logger, io.env);
  }
}

async function configure(args: CliArgs, io: CliIO, logger: Logger): Promise<{ config: AgentConfig; templates: PreparedTemplate[] }> {
  // -c wins; an operator who also set the variable expects it to count
  if (args.config !== undefined && io.env[CONFIG_ENV]?.trim()) logger.warn({ config: args.config }, `${CONFIG_ENV} is set but ignored: -c ${args.config} is the config`);
  const config = await loadConfig(args.config, io.env);
  if (!args.logLevel && !io.env.ERLMCP_SECRETS_LOG_LEVEL) logger.level = config.log.level;
  if (!args.logFormat && !io.env.ERLMCP_SECRETS_LOG_FORMAT && config.log.format) setLogFormat(logger, config.log.format);
  const templates = await withDestinationsChecked(config, () => prepareTemplates(config));
  return { config, templates };
}

async function check(args: CliArgs, io: CliIO, logger: Logger): Promise<number> {
  const { config, templates } = await configure(args, io, logger);
  const { checkProvidersStart } = await import('../pipeline/provider-start-check.ts');
  await checkProvidersStart(config, logger);
  const { lintConfig } = await import('../pipeline/lint.ts');
  const warnings = lintConfig(config, templates);
  for (const w of warnings) logger.warn(w);
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  io.stdout.write(
    `${config.origin}: ok: ${n(Object.keys(config.providers).length, 'provider')}, ${n(Object.keys(config.secrets).length, 'secret')}, ${n(templates.length, 'template')}, ${n(config.reload.length, 'reload notifier')}${warnings.length ? `, ${n(warnings.length, 'warning')}` : ''}\n`,
  );
  return EXIT.ok;
}

/** config + templates + providers + the init gate; the providers stay open for run/exec */
async function gate(args: CliArgs, io: CliIO, logger: Logger): Promise<GateResult> {
  const { config, templates } = await configure(args, io, logger);
  const invalidations = new InvalidationRelay();
  const providers = await openProviders(config, { logger, baseDir: config.baseDir, now: Date.now, invalidate: invalidations.invalidate });
  try {
    const result = await runInit({ config, templates, providers, logger });
    return { ...result, config, templates, providers, logger, io, invalidations };
  } catch (e) {
    await closeProviders(providers);
    throw e;
  }
}

/** init without writing: what each file would be, compared with the disk */
async function plan(args: CliArgs, io: CliIO, logger: Logger): Promise<number> {
  const { config, templates } = await configure(args, io, logger);
  const { planInit, formatPlan } = await import('../pipeline/plan.ts');
  const providers = await openProviders(config, { logger, baseDir: config.baseDir, now: Date.now, invalidate: () => {} });
  try {
    io.stdout.write(formatPlan(await planInit({ config, templates, providers, logger }), config.origin));
  } finally {
    await closeProviders(providers);
  }
  return EXIT.ok;
}

async function init(args: CliArgs, io: CliIO, logger: Logger): Promise<number> {
  const result = await gate(args, io, logger);
  await closeProviders(result.providers);
  return EXIT.ok;
}


/** webhook and erlang-call keep their option lists beside their parsers */
async function helpText(topic: HelpTopic): Promise<string> {
  if (topic === 'webhook') return commandHelp(topic, optionsOf((await import('../webhook/cli.ts')).WEBHOOK_USAGE));
  if (topic === 'erlang-call') return commandHelp(topic, optionsOf((await import('../erldist/cli.ts')).ERLANG_CALL_USAGE));
  return commandHelp(topic);
}

/** a usage text without its first (usage:) line and its exit-code line, which the help shows itself */
function optionsOf(usage: string): string {
  const lines = usage.split('\n').slice(1).filter((l) => !/^exit codes:/i.test(l));
  while (lines[0] === '') lines.shift();
  return `options:\n${lines.join('\n')}`;
}
