import { readFile } from 'node:fs/promises';
import path from 'node:path/posix';
import { CgroupError } from './errors.js';
import { findCgroup2Mount } from './mountinfo.js';

/** Where nft looks up `socket cgroupv2` paths: it prefixes them with this directory. */
export const NFT_CGROUP_BASE = '/sys/fs/cgroup';

/** Where cgroupRoot looks; both are injectable so tests can point elsewhere. */
export interface CgroupRootOptions {
  /** Environment to read KSAPP_CGROUP_ROOT from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Mount table to parse (default: /proc/self/mountinfo). */
  mountinfoPath?: string;
}

/** Returns the cgroup2 mount point: KSAPP_CGROUP_ROOT if set, else found in mountinfo; throws CGROUP_NO_MOUNT. */
export async function cgroupRoot(options: CgroupRootOptions = {}): Promise<string> {
  const override = (options.env ?? process.env).KSAPP_CGROUP_ROOT;
  if (override) {
    if (!path.isAbsolute(override)) {
      throw new CgroupError(`KSAPP_CGROUP_ROOT must be an absolute path, got "${override}"`, {
        code: 'CGROUP_BAD_ROOT', exitCode: 2, hint: 'set it to the cgroup2 mount point, e.g. /sys/fs/cgroup',
      });
    }
    return path.normalize(override).replace(/(.)\/$/, '$1');
  }
  const source = options.mountinfoPath ?? '/proc/self/mountinfo';
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (cause) {
    throw new CgroupError(`cannot read the mount table ${source}`, { code: 'CGROUP_NO_MOUNT', cause, hint: 'is /proc mounted?' });
  }
  const mount = findCgroup2Mount(text);
  if (mount === undefined) {
    throw new CgroupError('no cgroup v2 filesystem is mounted', {
      code: 'CGROUP_NO_MOUNT',
      hint:
        'mount it (`mount -t cgroup2 none /sys/fs/cgroup/unified`) or boot with ' +
        'systemd.unified_cgroup_hierarchy=1; ksapp needs cgroup v2 (kernel 5.14+ for cgroup.kill)',
    });
  }
  return mount;
}

/** Returns absPath relative to root, throwing CGROUP_BAD_PATH when it lies outside root. */
function relativeInside(root: string, absPath: string): string {
  const rel = path.relative(root, absPath);
  if (!path.isAbsolute(absPath) || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw new CgroupError(`${absPath} is not inside the cgroup2 mount ${root}`, {
      code: 'CGROUP_BAD_PATH', userFixable: false,
    });
  }
  return rel;
}

/**
 * Returns the path nft expects in `socket cgroupv2 level N "PATH"`. nft resolves it against
 * /sys/fs/cgroup, so on a hybrid system `/sys/fs/cgroup/unified/ksapp/x` becomes `unified/ksapp/x`.
 */
export function nftCgroupPath(root: string, absPath: string): string {
  const rel = relativeInside(root, absPath);
  const fromBase = path.relative(NFT_CGROUP_BASE, path.join(root, rel));
  if (rel === '') {
    throw new CgroupError(`nft cannot match on the root cgroup ${absPath}`, { code: 'CGROUP_NFT_PATH', userFixable: false });
  }
  if (fromBase === '' || fromBase.startsWith('..')) {
    throw new CgroupError(`nft cannot address the cgroup ${absPath}`, {
      code: 'CGROUP_NFT_PATH',
      hint: `nft only resolves cgroups below ${NFT_CGROUP_BASE}; mount cgroup2 there (or at ${NFT_CGROUP_BASE}/unified)`,
    });
  }
  return fromBase;
}

/** Returns the depth of absPath below the cgroup2 root (`/ksapp` = 1), as nft's `level` counts. */
export function cgroupLevel(root: string, absPath: string): number {
  const rel = relativeInside(root, absPath);
  return rel === '' ? 0 : rel.split('/').length;
}
