import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CgroupError, findCgroup2Mount, parseCgroupEvents, parseMountinfo, parsePidList, parseProcCgroup, unescapeMountPath,
} from '../cgroups/index.js';

// A systemd machine booted with the unified hierarchy (cgroup v2 only).
const PURE_V2 = `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw
28 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 22 0:27 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
`;

// Hybrid: v1 controllers on a tmpfs at /sys/fs/cgroup, v2 at /sys/fs/cgroup/unified (this test VM's layout).
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 master:2 - cgroup2 cgroup2 rw
`;

// Legacy v1 only: no cgroup2 anywhere.
const V1_ONLY = `31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
33 31 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
`;

// cgroup2 mounted by hand at a path with a space, a tab and a backslash.
const ESCAPED = `28 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
90 28 0:40 / /mnt/my\\040cgroups\\011x\\134y rw,relatime shared:50 - cgroup2 none rw
`;

describe('findCgroup2Mount', () => {
  test('pure v2 is at /sys/fs/cgroup', () => {
    assert.equal(findCgroup2Mount(PURE_V2), '/sys/fs/cgroup');
  });

  test('hybrid is at /sys/fs/cgroup/unified, with optional fields before the separator', () => {
    assert.equal(findCgroup2Mount(HYBRID), '/sys/fs/cgroup/unified');
  });

  test('v1-only and empty tables have none', () => {
    assert.equal(findCgroup2Mount(V1_ONLY), undefined);
    assert.equal(findCgroup2Mount(''), undefined);
  });

  test('octal escapes in the mount point are decoded', () => {
    assert.equal(findCgroup2Mount(ESCAPED), '/mnt/my cgroups\tx\\y');
  });

  test('prefers /sys/fs/cgroup over another cgroup2 mount listed first', () => {
    const text = `${ESCAPED}${PURE_V2}`;
    assert.equal(findCgroup2Mount(text), '/sys/fs/cgroup');
  });

  test('a later mount on the same point hides the cgroup2 mount', () => {
    const shadowed = `${PURE_V2}99 22 0:50 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n`;
    assert.equal(findCgroup2Mount(shadowed), undefined);
  });

  test('malformed lines are skipped', () => {
    const text = `garbage\n1 2 3\n41 31 0:38 / /sys/fs/cgroup/unified rw no-separator-here cgroup2\n${HYBRID}`;
    assert.equal(findCgroup2Mount(text), '/sys/fs/cgroup/unified');
  });
});

describe('parseMountinfo / unescapeMountPath', () => {
  test('reads mount point, root and fstype', () => {
    const entries = parseMountinfo(HYBRID);
    assert.equal(entries.length, 5);
    assert.deepEqual(entries[4], { mountPoint: '/sys/fs/cgroup/unified', root: '/', fstype: 'cgroup2' });
  });

  test('decodes \\040 \\011 \\012 \\134 and leaves other text alone', () => {
    assert.equal(unescapeMountPath('/a\\040b\\011c\\012d\\134e'), '/a b\tc\nd\\e');
    assert.equal(unescapeMountPath('/plain/path-1'), '/plain/path-1');
  });
});

describe('parseCgroupEvents', () => {
  test('running, frozen and empty states', () => {
    assert.deepEqual(parseCgroupEvents('populated 1\nfrozen 0\n'), { populated: true, frozen: false });
    assert.deepEqual(parseCgroupEvents('populated 1\nfrozen 1\n'), { populated: true, frozen: true });
    assert.deepEqual(parseCgroupEvents('populated 0\nfrozen 0\n'), { populated: false, frozen: false });
  });

  test('kernels before 5.2 have no frozen line', () => {
    assert.deepEqual(parseCgroupEvents('populated 1\n'), { populated: true, frozen: false });
  });

  test('text without a populated line is rejected', () => {
    assert.throws(() => parseCgroupEvents('frozen 1\n'), (e: unknown) => e instanceof CgroupError && e.code === 'CGROUP_BAD_EVENTS');
    assert.throws(() => parseCgroupEvents('populated yes\n'), CgroupError);
  });
});

describe('parseProcCgroup', () => {
  test('pure v2 has a single 0:: line', () => {
    assert.equal(parseProcCgroup('0::/user.slice/user-1000.slice/session-2.scope\n'), '/user.slice/user-1000.slice/session-2.scope');
  });

  test('hybrid lists v1 hierarchies too; only the 0:: line counts', () => {
    const text = '9:name=systemd:/\n4:memory:/process_api/6ed1\n1:cpu:/\n0::/ksapp/app\n';
    assert.equal(parseProcCgroup(text), '/ksapp/app');
  });

  test('root group, colons in the path and a removed group', () => {
    assert.equal(parseProcCgroup('0::/\n'), '/');
    assert.equal(parseProcCgroup('0::/odd:name\n'), '/odd:name');
    assert.equal(parseProcCgroup('0::/ksapp/gone (deleted)\n'), '/ksapp/gone (deleted)');
  });

  test('v1-only process has no v2 path', () => {
    assert.equal(parseProcCgroup('10:memory:/\n1:name=systemd:/init.scope\n'), undefined);
    assert.equal(parseProcCgroup(''), undefined);
  });
});

describe('parsePidList', () => {
  test('sorts, drops duplicates and blank lines', () => {
    assert.deepEqual(parsePidList('42\n7\n42\n\n'), [7, 42]);
    assert.deepEqual(parsePidList(''), []);
  });
});
