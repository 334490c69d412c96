import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CgroupError, cgroupLevel, cgroupRoot, nftCgroupPath, validateCgroupName } from '../cgroups/index.js';

const isCode = (code: string) => (e: unknown) => e instanceof CgroupError && e.code === code;

describe('cgroupRoot', () => {
  test('KSAPP_CGROUP_ROOT wins over the mount table', async () => {
    assert.equal(await cgroupRoot({ env: { KSAPP_CGROUP_ROOT: '/tmp/fake-cg/' }, mountinfoPath: '/nonexistent' }), '/tmp/fake-cg');
  });

  test('a relative KSAPP_CGROUP_ROOT is a usage error', async () => {
    await assert.rejects(cgroupRoot({ env: { KSAPP_CGROUP_ROOT: 'rel/path' } }), (e: unknown) =>
      isCode('CGROUP_BAD_ROOT')(e) && (e as CgroupError).exitCode === 2);
  });

  test('reads the mount from a mountinfo file', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-cg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'mountinfo');
    await writeFile(file, '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n');
    assert.equal(await cgroupRoot({ env: {}, mountinfoPath: file }), '/sys/fs/cgroup/unified');
  });

  test('no cgroup2 mount is CGROUP_NO_MOUNT with a hint', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-cg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'mountinfo');
    await writeFile(file, '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n');
    await assert.rejects(cgroupRoot({ env: {}, mountinfoPath: file }), (e: unknown) =>
      isCode('CGROUP_NO_MOUNT')(e) && /unified_cgroup_hierarchy/.test((e as CgroupError).hint));
  });
});

describe('nftCgroupPath', () => {
  test('pure v2 paths are relative to /sys/fs/cgroup', () => {
    assert.equal(nftCgroupPath('/sys/fs/cgroup', '/sys/fs/cgroup/ksapp/x'), 'ksapp/x');
  });

  test('hybrid paths keep the unified/ prefix', () => {
    assert.equal(nftCgroupPath('/sys/fs/cgroup/unified', '/sys/fs/cgroup/unified/ksapp/x'), 'unified/ksapp/x');
  });

  test('a path outside the root, the root itself, or a root nft cannot see are rejected', () => {
    assert.throws(() => nftCgroupPath('/sys/fs/cgroup/unified', '/sys/fs/cgroup/ksapp'), isCode('CGROUP_BAD_PATH'));
    assert.throws(() => nftCgroupPath('/sys/fs/cgroup', '/sys/fs/cgroup'), isCode('CGROUP_NFT_PATH'));
    assert.throws(() => nftCgroupPath('/mnt/cg2', '/mnt/cg2/ksapp'), isCode('CGROUP_NFT_PATH'));
  });
});

describe('cgroupLevel', () => {
  test('counts depth below the cgroup2 root, whatever the mount point', () => {
    assert.equal(cgroupLevel('/sys/fs/cgroup', '/sys/fs/cgroup/ksapp'), 1);
    assert.equal(cgroupLevel('/sys/fs/cgroup', '/sys/fs/cgroup/ksapp/x'), 2);
    assert.equal(cgroupLevel('/sys/fs/cgroup/unified', '/sys/fs/cgroup/unified/ksapp/x'), 2);
    assert.equal(cgroupLevel('/sys/fs/cgroup', '/sys/fs/cgroup/'), 0);
  });

  test('a path outside the root is rejected', () => {
    assert.throws(() => cgroupLevel('/sys/fs/cgroup/unified', '/sys/fs/cgroup/ksapp'), isCode('CGROUP_BAD_PATH'));
  });
});

describe('validateCgroupName', () => {
  test('accepts safe names', () => {
    for (const name of ['app', 'qbittorrent', 'a.b_c-d', 'x'.repeat(64)]) validateCgroupName(name);
  });

  test('rejects separators, dot names, empty and overlong names', () => {
    for (const name of ['', '.', '..', 'a/b', '../x', 'sp ace', 'x'.repeat(65), 'a\nb']) {
      assert.throws(() => validateCgroupName(name), isCode('CGROUP_BAD_NAME'), name);
    }
  });
});
