#!/usr/bin/env node
/**
 * The `natter-server` command: a drop-in for the `nats-server` binary's
 * command line. It parses the flags, reads the config file, starts one Server
 * in this very process (never forks: harnesses signal the pid they spawned),
 * and maps signals the way nats-server does:
 *
 *   SIGINT, SIGTERM  graceful shutdown, exit 0 (SIGTERM is ignored while in lame duck mode)
 *   SIGHUP           reload the config file
 *   SIGUSR1          reopen the log file
 *   SIGUSR2          lame duck mode, then exit 0
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyFlags, parseFlags, tlsUsageText, usageText, type FlagsResult } from './flags.js';
import { getConfigLoader, type LoadedConfig } from './config-loader.js';
import { sendSignal } from './signal.js';
import { createLogger, type LoggerOptions, type ServerLogger } from '../log/server-logger.js';
import { describeSystemError, strerror } from '../log/errno.js';
import { redactText } from '../log/redact.js';
import { resolveOptions, type ServerOptions } from '../server/options.js';
import { NATTER_VERSION, SERVER_VERSION } from '../server/version.js';
import { Server, type ServerPorts } from '../server/server.js';
import { trustedOperatorClaims } from '../jwt/operator-mode.js';
import { securityFromOptions } from '../auth/security-config.js';
import { isBcrypt } from '../auth/passwords.js';
import { parseResolver } from '../jwt/resolver-config.js';
import { formatGoLocalTime, goQuote } from '../text/go-format.js';

/**
 * The program name in messages. nats-server's own, so that scripts matching
 * `nats-server: v...` or `nats-server: configuration file ... is valid` work
 * unchanged.
 */
const EXE = 'nats-server';

/** Exit status for command line errors (nats-server itself exits 0 there; see usageAndExit). */
const USAGE_EXIT_CODE = 1;

function die(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

/**
 * A malformed command line: Go's flag package prints the problem, then
 * nats-server prints its usage (to stdout) and exits 0. Natter prints both to
 * stderr and exits 1 so that a typo in a service definition cannot look like
 * a clean exit.
 */
function usageAndExit(msg: string): never {
  process.stderr.write(`${msg}\n${usageText()}\n`);
  process.exit(USAGE_EXIT_CODE);
}

/** `2006/01/02 15:04:05 ` as Go's default logger prefixes fatal start-up errors. */
function goStdLogStamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `;
}

/** An error as printed: stderr is as good as a log, so a quoted route URL keeps its password out of it. */
function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string') {
    return redactText(describeSystemError(err));
  }
  return redactText(err instanceof Error ? err.message : String(err));
}

function loggerOptionsFrom(o: ServerOptions): LoggerOptions {
  const out: LoggerOptions = { debug: o.debug, trace: o.trace, logtime: o.logtime, logtime_utc: o.logtime_utc };
  if (o.log_file !== undefined && o.log_file !== '') out.log_file = o.log_file;
  if (o.log_size_limit !== undefined) out.log_size_limit = o.log_size_limit;
  return out;
}

/** Reads the config file (if any) and puts the flags on top. Throws with the message to print. */
async function buildOptions(flags: FlagsResult): Promise<{ options: ServerOptions; warnings: string[] }> {
  let loaded: LoadedConfig = { options: {}, warnings: [] };
  if (flags.configFile !== undefined && flags.configFile !== '') {
    const load = await getConfigLoader();
    loaded = load(flags.configFile);
  }
  return { options: resolveOptions(applyFlags(loaded.options, flags)), warnings: loaded.warnings };
}

/** Go's host:port, IPv6 hosts in brackets. */
function goHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * nats-server's fatal line for a port no listener can take (`-p 99999`,
 * `-m -5`): Go refuses it when listening, as `listen tcp: address 99999:
 * invalid port`, where Node would say `options.port should be >= 0 and <
 * 65536`. Monitoring first: nats-server starts it before the client
 * listener. -1 is a random port and 0 leaves monitoring off.
 */
function invalidPortText(o: ServerOptions): string | null {
  const invalid = (port: number): boolean => !Number.isInteger(port) || port < -1 || port > 65535;
  for (const port of [o.http_port, o.https_port]) {
    if (port !== 0 && invalid(port)) return `Can't start monitoring: can't listen to the monitor port: listen tcp: address ${port}: invalid port`;
  }
  if (invalid(o.port)) return `Error listening on port: ${goHostPort(o.host, o.port)}, ${JSON.stringify(`listen tcp: address ${o.port}: invalid port`)}`;
  return null;
}

/**
 * Go's wording for a listener that could not bind, which log watchers know:
 * `listen tcp 127.0.0.1:4222: bind: address already in use`.
 */
function describeListenError(err: unknown, o: ServerOptions): string {
  const invalid = invalidPortText(o);
  if (invalid !== null) return invalid;
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as { code?: unknown; address?: unknown; port?: unknown; syscall?: unknown; message?: unknown };
  if (typeof e.code !== 'string' || e.syscall !== 'listen' || typeof e.port !== 'number') return errorMessage(err);
  const host = typeof e.address === 'string' ? e.address : o.host;
  const hp = goHostPort(host, e.port);
  const why = strerror(e.code) ?? String(e.message);
  const goErr = `listen tcp ${hp}: bind: ${why}`;
  if (e.port === o.http_port || e.port === o.https_port) {
    return `Can't start monitoring: can't listen to the monitor port: ${goErr}`;
  }
  return `Error listening on port: ${hp}, ${JSON.stringify(goErr)}`;
}

/**
 * Flags for subsystems that do not exist yet are kept in the options for the
 * work that builds them; until then say so, rather than look like they took
 * effect. (The config reader warns the same way about config file blocks.)
 */
function warnInactive(flags: FlagsResult, logger: ServerLogger): void {
  if (flags.options.syslog === true) logger.warn('Syslog is not supported yet in this Natter version; logging to stderr');
  if (flags.extras.remote_syslog !== undefined) {
    logger.warn('Remote syslog is not supported yet in this Natter version; logging to stderr');
  }
  if (flags.extras.profile_port !== undefined) logger.warn('The profiling port is not supported by Natter; --profile ignored');
  if (flags.extras.max_traced_msg_len !== undefined) {
    logger.warn('--max_traced_msg_len is not supported yet in this Natter version; ignored');
  }
}

/**
 * nats-server's start-up check: a password user (of any account, or the
 * authorization block's single user) whose password is not a bcrypt hash.
 * Users without a password (certificate-mapped ones) do not count.
 */
function hasPlaintextPassword(o: ServerOptions): boolean {
  const security = securityFromOptions(o);
  const single = security.authorization?.password ?? null;
  if (single !== null && single !== '' && !isBcrypt(single)) return true;
  for (const u of security.users.values()) if (u.password !== '' && !isBcrypt(u.password)) return true;
  return false;
}

/**
 * What nats-server logs right after its banner: a plaintext password
 * warning, the configuration file, the trusted operators (`System` is the
 * operator JWT's audience, as nats-server prints it) and, for a directory
 * resolver, its directory.
 */
function logStartupNotes(logger: ServerLogger, o: ServerOptions, configFile: string | undefined): void {
  // The server has read these already (it refuses to start otherwise); they are only printed here.
  const operators = trustedOperatorClaims(o);
  // Operator mode has no configured users to check.
  if (operators.length === 0 && hasPlaintextPassword(o)) logger.warn('Plaintext passwords detected, use nkeys or bcrypt');
  if (configFile !== undefined && configFile !== '') logger.info(`Using configuration file: ${configFile}`);
  if (operators.length > 0) logger.info('Trusted Operators');
  for (const op of operators) {
    logger.info(`  System  : ${goQuote(op.aud)}`);
    logger.info(`  Operator: ${goQuote(op.name)}`);
    logger.info(`  Issued  : ${formatGoLocalTime(new Date(op.iat * 1000))}`);
    logger.info(`  Expires : ${op.exp === 0 ? 'Never' : formatGoLocalTime(new Date(op.exp * 1000))}`);
  }
  // As nats-server, which takes the system account from the operator JWT when the config names none.
  const systemAccount = (o.system_account ?? '') !== '' || operators.some((op) => op.nats.system_account !== '');
  if (operators.length > 0 && !systemAccount) logger.warn('Trusted Operators should utilize a System Account');
  if (operators.length > 0 && o.resolver !== undefined) {
    const resolver = parseResolver(o.resolver).config;
    if (resolver !== null && resolver.kind !== 'memory') {
      logger.info(`Managing ${resolver.kind === 'full' ? 'all' : 'some'} jwt in exclusive directory ${resolver.dir}`);
    }
  }
}

function portsFilePath(dir: string): string {
  return path.join(dir, `nats-server_${process.pid}.ports`);
}

/** The ports file, byte for byte as nats-server writes it (Go's json: nats, monitoring, cluster, websocket; empty lists left out). */
function portsJson(ports: ServerPorts): string {
  const out: Partial<ServerPorts> = {};
  if (ports.nats.length > 0) out.nats = ports.nats;
  if (ports.monitoring !== undefined && ports.monitoring.length > 0) out.monitoring = ports.monitoring;
  if (ports.cluster !== undefined && ports.cluster.length > 0) out.cluster = ports.cluster;
  if (ports.websocket !== undefined && ports.websocket.length > 0) out.websocket = ports.websocket;
  return JSON.stringify(out);
}

async function run(flags: FlagsResult): Promise<void> {
  let built: { options: ServerOptions; warnings: string[] };
  try {
    built = await buildOptions(flags);
  } catch (err) {
    die(`${EXE}: ${errorMessage(err)}`);
  }
  const options = built.options;
  const configFile = flags.configFile !== undefined && flags.configFile !== '' ? flags.configFile : undefined;
  if (options.config_watch === true && configFile === undefined) {
    die(`${EXE}: config_watch needs a configuration file to watch (-c <file>)`);
  }

  let logger: ServerLogger;
  try {
    logger = createLogger(loggerOptionsFrom(options));
  } catch (err) {
    die(`${goStdLogStamp()}${errorMessage(err)}`);
  }
  for (const w of built.warnings) logger.warn(w);
  warnInactive(flags, logger);

  const pidFile = options.pid_file !== undefined && options.pid_file !== '' ? options.pid_file : undefined;
  const portsDir = options.ports_file_dir !== undefined && options.ports_file_dir !== '' ? options.ports_file_dir : undefined;
  let portsFile: string | undefined;

  /** Removes what this process left on disk, flushes the log, exits. */
  const finish = (code: number): never => {
    if (portsFile !== undefined) {
      try {
        fs.unlinkSync(portsFile);
      } catch (err) {
        logger.error(`Error cleaning up ports file ${portsFile}: ${describeSystemError(err)}`);
      }
    }
    if (pidFile !== undefined) {
      try {
        fs.unlinkSync(pidFile);
      } catch {
        // Someone else removed or replaced it; not worth an error on the way out.
      }
    }
    logger.close();
    process.exit(code);
  };

  let server: Server;
  try {
    server = new Server(options, logger);
  } catch (err) {
    // nats-server reports option problems found while creating the server
    // on stderr, before any logger exists.
    logger.close();
    die(`${EXE}: ${errorMessage(err)}`);
  }
  if (pidFile !== undefined) {
    try {
      fs.writeFileSync(pidFile, String(process.pid), { mode: 0o660 });
    } catch (err) {
      logger.fatal(`Could not write pidfile: ${describeSystemError(err)}`);
      logger.close();
      process.exit(1);
    }
  }

  let stopping = false;
  let lameDuck = false;

  const shutdownAndExit = (): void => {
    if (stopping) {
      // A second request while the first is still closing: stop waiting.
      finish(0);
    }
    stopping = true;
    server.shutdown().then(
      () => finish(0),
      (err: unknown) => {
        logger.error(`Error during shutdown: ${errorMessage(err)}`);
        finish(1);
      },
    );
  };

  const reload = async (): Promise<void> => {
    if (flags.configFile === undefined || flags.configFile === '') {
      throw new Error('can only reload config when a file is provided using -c or --config');
    }
    const next = await buildOptions(flags);
    for (const w of next.warnings) logger.warn(w);
    server.reload(next.options);
    logger.reconfigure(loggerOptionsFrom(next.options));
    server.followLogLevels();
    await followConfigWatch(next.options.config_watch === true);
  };
  /** SIGHUP and the config watcher: a refused reload keeps the running configuration and says why. */
  const reloadAndReport = (): Promise<boolean> =>
    reload().then(
      () => true,
      (err: unknown) => {
        logger.error(`Failed to reload server configuration: ${errorMessage(err)}`);
        return false;
      },
    );

  let watcher: { close(): void } | null = null;
  /** Starts or stops watching the config file as `config_watch` says (at start and after each reload). */
  const followConfigWatch = async (enabled: boolean): Promise<void> => {
    if (!enabled || configFile === undefined) {
      if (watcher !== null) logger.info('Stopped watching the configuration for changes');
      watcher?.close();
      watcher = null;
      return;
    }
    if (watcher !== null) return;
    // Loaded only when asked for: most runs never watch, and it brings the config parser.
    const { ConfigWatcher } = await import('../config/watch.js');
    const started = new ConfigWatcher({ configFile, reload: reloadAndReport, logger });
    started.start();
    watcher = started;
  };
  // `$SYS.REQ.SERVER.<id>.RELOAD` reloads the file too, like SIGHUP.
  if (flags.configFile !== undefined && flags.configFile !== '') server.reloadConfig = reload;
  server.afterBanner = () => logStartupNotes(logger, options, flags.configFile);

  // Go's names for the signals, which nats-server prints when it traps one.
  const SIGNAL_NAMES: Readonly<Record<string, string>> = {
    SIGINT: 'interrupt',
    SIGTERM: 'terminated',
    SIGHUP: 'hangup',
    SIGUSR1: 'user defined signal 1',
    SIGUSR2: 'user defined signal 2',
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    logger.debug(`Trapped ${JSON.stringify(SIGNAL_NAMES[sig] ?? sig)} signal`);
    switch (sig) {
      case 'SIGINT':
        shutdownAndExit();
        break;
      case 'SIGTERM':
        // Lame duck mode ends in a shutdown of its own; TERM must not cut it short.
        if (!lameDuck) shutdownAndExit();
        break;
      case 'SIGUSR1':
        try {
          logger.reopen();
        } catch (err) {
          logger.error(`Failed to re-open the log file: ${errorMessage(err)}`);
        }
        break;
      case 'SIGUSR2':
        if (lameDuck || stopping) break;
        lameDuck = true;
        server.lameDuck().then(
          () => finish(0),
          (err: unknown) => {
            logger.error(`Error in lame duck mode: ${errorMessage(err)}`);
            finish(1);
          },
        );
        break;
      case 'SIGHUP':
        void reloadAndReport();
        break;
      default:
        break;
    }
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, onSignal);

  process.on('uncaughtException', (err) => {
    logger.fatal(`Unexpected error: ${err.stack ?? err.message}`);
    finish(1);
  });

  try {
    await server.start();
  } catch (err) {
    logger.fatal(describeListenError(err, options));
    finish(1);
  }
  await followConfigWatch(options.config_watch === true);

  if (portsDir !== undefined) {
    const file = portsFilePath(portsDir);
    try {
      // Written aside and renamed: a launcher polling for the file never reads it half-written.
      const partial = `${file}.partial`;
      fs.writeFileSync(partial, portsJson(server.ports()), { mode: 0o666 });
      fs.renameSync(partial, file);
      portsFile = file;
    } catch (err) {
      logger.error(`Error writing ports file (${file}): ${describeSystemError(err)}`);
    }
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const flags = parseFlags(argv);
  switch (flags.action) {
    case 'error': {
      const msg = flags.error ?? 'invalid command line';
      if (flags.usageError) usageAndExit(msg);
      die(`${EXE}: ${msg}`);
      break;
    }
    case 'version':
      process.stdout.write(`${EXE}: v${SERVER_VERSION}\nnatter-server: v${NATTER_VERSION}\n`);
      process.exit(0);
      break;
    case 'help':
      process.stdout.write(`${usageText()}\n`);
      process.exit(0);
      break;
    case 'help_tls':
      process.stdout.write(tlsUsageText());
      process.exit(0);
      break;
    case 'signal':
      try {
        sendSignal(flags.signal ?? '');
      } catch (err) {
        die(`${EXE}: ${errorMessage(err)}`);
      }
      process.exit(0);
      break;
    case 'run':
      break;
  }

  if (flags.checkConfig) {
    if (flags.configFile === undefined || flags.configFile === '') {
      die(`${EXE}: must specify [-c, --config] option to check configuration file syntax`);
    }
    try {
      const load = await getConfigLoader();
      const loaded = load(flags.configFile);
      // Natter's warnings are "parsed but not active yet" notices, not
      // problems with the file: show them, but the file is valid.
      for (const w of loaded.warnings) process.stderr.write(`${EXE}: ${w}\n`);
    } catch (err) {
      die(`${EXE}: ${errorMessage(err)}`);
    }
    process.stderr.write(`${EXE}: configuration file ${flags.configFile} is valid\n`);
    process.exit(0);
  }

  await run(flags);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  die(`${EXE}: ${errorMessage(err)}`);
});
