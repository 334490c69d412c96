import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { cgroupErrorFor } from './errors.js';

/** Reads a cgroup interface file; failures become CgroupErrors naming the action. */
export async function readControl(file: string, action: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  }
}

/**
 * Writes a value to a cgroup interface file in a single write(2), as the kernel parses each
 * write on its own. O_WRONLY without O_CREAT: write-only files (cgroup.kill) refuse a read
 * open, and a missing file must fail instead of being created. Raw errors are thrown so
 * callers can map the errno (ESRCH, EBUSY) to their own meaning.
 */
export async function writeControlRaw(file: string, value: string): Promise<void> {
  const handle = await open(file, constants.O_WRONLY);
  try {
    await handle.write(value);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a freeze or kill flag at once, without a round trip through the
 * thread pool: on a tunnel loss these writes are the reaction, and the
 * kernel takes them in microseconds (a pid written to cgroup.procs can take
 * milliseconds, so moves stay asynchronous).
 */
export function writeFlagSync(file: string, value: string, action: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY);
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  }
  try {
    writeSync(fd, value);
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  } finally {
    closeSync(fd);
  }
}

/** Reads a cgroup interface file at once (a few bytes from the kernel); failures become CgroupErrors. */
export function readControlSync(file: string, action: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  }
}

/** Like writeControlRaw, with every failure turned into a CgroupError naming the action. */
export async function writeControl(file: string, value: string, action: string): Promise<void> {
  try {
    await writeControlRaw(file, value);
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  }
}
