#!/usr/bin/env node
import { formatError, KsappError } from './errors.js';
import { parseCommandLine, type Command } from './cli/args.js';
import { USAGE } from './cli/usage.js';

/** Runs one command line and resolves to the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommandLine(argv, process.env);
    return await dispatch(cmd);
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    return error instanceof KsappError ? error.exitCode : 1;
  }
}

async function dispatch(cmd: Command): Promise<number> {
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`ksapp ${await packageVersion()}\n`);
      return 0;
    case 'run':
      return (await import('./commands/run.js')).runCommand(cmd);
    case 'doctor':
      return (await import('./commands/doctor.js')).doctorCommand(cmd.json, cmd.socket);
    case 'demo':
      return (await import('./commands/demo.js')).demoCommand(cmd);
    case 'daemon':
      return (await import('./commands/daemon.js')).daemonCommand(cmd);
    case 'status':
      return (await import('./commands/status.js')).statusCommand(cmd);
    case 'protect':
      return (await import('./commands/protect.js')).protectCommand(cmd);
    case 'gateway':
      return (await import('./commands/protect.js')).gatewayCommand(cmd);
    case 'setup':
      return (await import('./commands/setup.js')).setupCommand(cmd);
    case 'install-launcher':
      return (await import('./commands/install-launcher.js')).installLauncherCommand(cmd);
    case 'tui':
      return (await import('./commands/tui.js')).tuiCommand(cmd);
    case 'notify':
      return (await import('./commands/notify.js')).notifyCommand(cmd);
    case 'freeze':
    case 'thaw':
    case 'kill':
    case 'release':
    case 'start':
      return (await import('./commands/control.js')).controlCommand(cmd);
    default:
      return unreachable(cmd);
  }
}

/** The version package.json gives (the one npm installed), so the two never disagree. */
async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function unreachable(cmd: never): never {
  throw new KsappError(`unhandled command ${JSON.stringify(cmd)}`, { code: 'BUG', userFixable: false });
}

process.exitCode = await main(process.argv.slice(2));
