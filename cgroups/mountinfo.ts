/** One line of /proc/PID/mountinfo, reduced to what ksapp needs. */
export interface MountEntry {
  /** Where the filesystem is mounted, with octal escapes decoded. */
  mountPoint: string;
  /** The part of the filesystem that is mounted there ("/" for the whole of it). */
  root: string;
  /** Filesystem type, e.g. `cgroup2`. */
  fstype: string;
}

/** Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Parses mountinfo text (proc(5)); malformed lines are skipped rather than fatal. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    // Fields 0..5 are fixed, then zero or more optional fields, then '-' and fstype.
    const sep = fields.indexOf('-', 6);
    const root = fields[3];
    const mountPoint = fields[4];
    const fstype = sep === -1 ? undefined : fields[sep + 1];
    if (root === undefined || mountPoint === undefined || !fstype) continue;
    entries.push({ mountPoint: unescapeMountPath(mountPoint), root: unescapeMountPath(root), fstype });
  }
  return entries;
}

/** Mount points ranked best first: the pure-v2 place, then the hybrid place, then anything else. */
const PREFERRED = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

/**
 * Returns the mount point of the cgroup2 filesystem from mountinfo text, or undefined.
 * A later mount on the same point hides an earlier one, so only the last mount per point counts.
 */
export function findCgroup2Mount(mountinfoText: string): string | undefined {
  const lastByPoint = new Map<string, MountEntry>();
  for (const entry of parseMountinfo(mountinfoText)) lastByPoint.set(entry.mountPoint, entry);
  const candidates = [...lastByPoint.values()].filter((e) => e.fstype === 'cgroup2').map((e) => e.mountPoint);
  for (const preferred of PREFERRED) if (candidates.includes(preferred)) return preferred;
  return candidates[0];
}
