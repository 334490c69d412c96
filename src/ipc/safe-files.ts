// The daemon's files live next to its socket. A directory another user can write would let them plant
// symlinks (root then writes through them), a state.json of their choosing, a squatted lock or a fake
// socket. So the directory must be the daemon's alone, and every file is opened without following links.
import { constants, openSync } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { IpcError } from './errors.js';

/** One directory on the way to the socket, as lstat saw it. */
export interface DirFacts {
  readonly path: string;
  readonly uid: number;
  readonly mode: number;
  readonly isDirectory: boolean;
}

const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/**
 * Why a chain of directories (the socket's own first, then each ancestor up
 * to /) is unsafe for a daemon running as `owner`, or undefined (pure). The
 * socket's directory must be owned by `owner` or root and writable by no one
 * else; an ancestor may be world-writable only with the sticky bit (/tmp),
 * where nobody can rename or remove an entry that is not theirs.
 */
export function unsafeDirProblem(chain: readonly DirFacts[], owner: number): string | undefined {
  for (const [i, d] of chain.entries()) {
    if (!d.isDirectory) return `${d.path} is not a directory`;
    if (d.uid !== owner && d.uid !== 0) return `${d.path} belongs to uid ${d.uid}, not to root`;
    const open = (d.mode & WRITABLE_BY_OTHERS) !== 0;
    if (open && (i === 0 || (d.mode & STICKY) === 0)) return `${d.path} is writable by ${(d.mode & 0o002) ? 'every user' : 'its group'} (mode ${(d.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

/** Refuses (exit 2) a socket directory, or a directory on the way to it, that another user could change. */
export async function checkSocketDir(dir: string): Promise<void> {
  const real = await realpath(dir);
  const chain: DirFacts[] = [];
  for (let d = real; ; d = path.dirname(d)) {
    const s = await lstat(d);
    chain.push({ path: d, uid: s.uid, mode: s.mode, isDirectory: s.isDirectory() });
    if (d === path.dirname(d)) break;
  }
  const problem = unsafeDirProblem(chain, process.geteuid?.() ?? 0);
  if (problem) {
    throw new IpcError(`unsafe socket directory ${dir}: ${problem}`, {
      code: 'SOCKET_DIR_UNSAFE', exitCode: 2,
      hint: 'put the socket in a directory only root can write: the default /run/ksapp, or one made with `install -d -m 0755 -o root DIR`',
    });
  }
}

const NOFOLLOW = constants.O_NOFOLLOW;

/**
 * Writes a file next to the socket in place (apps that bind-mounted it see
 * the new text), never through a symlink: a link found there is removed and
 * a new file made instead.
 */
export async function writeOwnFile(file: string, text: string, mode: number): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW;
  const handle = await open(file, flags, mode).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ELOOP') throw error;
    await unlink(file);
    return open(file, flags | constants.O_EXCL, mode);
  });
  try {
    await handle.chmod(mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Writes a file atomically: a new temp file (never an existing one, never a link), then rename over the target. */
export async function replaceOwnFile(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await unlink(tmp).catch(() => undefined);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** Appends to a file next to the socket, never through a symlink. */
export async function appendOwnFile(file: string, text: string): Promise<void> {
  const handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW, 0o600);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/** Opens a file next to the socket for appending (a log given to a child), never through a symlink; returns its descriptor. */
export function openOwnLog(file: string): number {
  return openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW, 0o600);
}

/**
 * Reads a file the daemon wrote, or undefined when it is missing; a link, or a
 * file someone else owns or could have written, is refused (the caller treats
 * it as untrusted and says so).
 */
export async function readOwnFile(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new IpcError(`${file} is a symbolic link`, { code: 'STATE_UNTRUSTED', hint: 'remove it; ksapp writes this file itself' });
    throw error;
  }
  try {
    const s = await handle.stat();
    const owner = process.geteuid?.() ?? 0;
    if (!s.isFile() || (s.uid !== owner && s.uid !== 0) || (s.mode & WRITABLE_BY_OTHERS) !== 0) {
      throw new IpcError(`${file} is not a private file of root's (uid ${s.uid}, mode ${(s.mode & 0o7777).toString(8)})`, {
        code: 'STATE_UNTRUSTED', hint: 'remove it; ksapp writes this file itself',
      });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Why root should not write in `dir` (not a directory, a link, someone else's, writable by others), or undefined. */
export async function ownDirProblem(dir: string): Promise<string | undefined> {
  const s = await lstat(dir).catch(() => undefined);
  if (!s) return `${dir} does not exist`;
  return unsafeDirProblem([{ path: dir, uid: s.uid, mode: s.mode, isDirectory: s.isDirectory() && !s.isSymbolicLink() }], process.geteuid?.() ?? 0);
}

/** Makes the daemon's own directory next to the socket and refuses one that is a link or not private to root. */
export async function ensureOwnDir(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'EEXIST') throw error; });
  const problem = await ownDirProblem(dir);
  if (problem) {
    throw new IpcError(`unsafe state directory ${dir}: ${problem}`, {
      code: 'SOCKET_DIR_UNSAFE', exitCode: 2, hint: 'remove it (ksapp makes it itself), and keep the socket in a directory only root can write',
    });
  }
}
