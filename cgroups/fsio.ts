import { constants } from 'node:fs';
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

/** Like writeControlRaw, with every failure turned into a CgroupError naming the action. */
export async function writeControl(file: string, value: string, action: string): Promise<void> {
  try {
    await writeControlRaw(file, value);
  } catch (cause) {
    throw cgroupErrorFor(action, file, cause);
  }
}
