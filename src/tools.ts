import { KsappError } from './errors.js';
import { runFailed, startProgram } from './spawn.js';

/** The external programs ksapp drives; each can be redirected by an environment variable. */
export const tools = {
  nft: process.env.KSAPP_NFT ?? 'nft',
  ip: process.env.KSAPP_IP ?? 'ip',
  wg: process.env.KSAPP_WG ?? 'wg',
  conntrack: process.env.KSAPP_CONNTRACK ?? 'conntrack',
  nsenter: process.env.KSAPP_NSENTER ?? 'nsenter',
  // Container runtimes' CLIs (a wrapper script for a remote or private setup).
  podman: process.env.KSAPP_PODMAN ?? 'podman',
  docker: process.env.KSAPP_DOCKER ?? 'docker',
} as const;

/** A failed run of an external tool, carrying the same fields a result would. */
export class ToolError extends KsappError {
  /** The argv that was run. */
  readonly command: readonly string[];
  /** The tool's exit status, when it ran at all. */
  readonly toolExitCode: number | undefined;
  /** What the tool printed on stderr. */
  readonly stderr: string;

  constructor(command: readonly string[], exitCode: number | undefined, stderr: string, cause?: unknown) {
    const missing = exitCode === undefined && (cause as { code?: string } | undefined)?.code === 'ENOENT';
    super(
      missing
        ? `${command[0]} is not installed or not on PATH`
        : `${command.join(' ')} failed${exitCode === undefined ? '' : ` with status ${exitCode}`}: ${stderr.trim() || (cause instanceof Error ? cause.message : '') || 'no message'}`,
      {
        code: missing ? 'TOOL_MISSING' : 'TOOL_FAILED',
        hint: missing ? `install it (run \`ksapp doctor\` to see every missing prerequisite)` : '',
        cause,
        exitCode: 1,
      },
    );
    this.command = command;
    this.toolExitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Runs a tool without a shell and returns its stdout; throws ToolError on failure, including a spawn that failed (EMFILE, ENOMEM). */
export async function runTool(file: string, args: readonly string[], input?: string): Promise<string> {
  const result = await startProgram(file, args, { input, stderr: 'collect' }).result;
  if (runFailed(result)) {
    const cause = result.error ?? (result.signal ? new Error(`killed by ${result.signal}`) : undefined);
    throw new ToolError([file, ...args], result.exitCode, result.stderr, cause);
  }
  return result.stdout;
}
