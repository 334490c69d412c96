// A real install, as a user makes it: `npm pack`, then `npm install -g` of the tarball into a throwaway prefix.
// ksapp is on the prefix's PATH with its native addons built where src/native/load.ts finds them, its man page and
// its three completions sit under PREFIX/share and offer what the command table says; on a machine without a C
// compiler the install still completes and says what to apt-get. Root only (a global install, doctor's checks).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { COMMANDS } from '../src/cli/table.js';
import { COMPLETIONS, MAN_PAGE } from '../src/packaging/share.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const has = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const skip = process.getuid?.() !== 0 ? 'needs root' : !has('npm') ? 'no npm' : false;

/** The environment without what the npm running this test (npm test) passes down, which would steer the inner npm. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$|^CC$|^CXX$|^LINK$/i.test(k)));
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

const run = (file: string, args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  execa(file, args, { cwd: o.cwd, env: o.env ?? cleanEnv(), extendEnv: false, reject: false, all: true, input: o.input });

/** Packs a copy of the working tree (packing rebuilds dist/, which the repo's own tests run from); the tarball's path. */
async function pack(work: string): Promise<string> {
  const tree = path.join(work, 'tree');
  const skipped = new Set(['node_modules', 'dist', '.git', path.join('src', 'native', 'build')]);
  await cp(repo, tree, { recursive: true, filter: (from) => { const rel = path.relative(repo, from); return !skipped.has(rel) && !/^[^/]*\.tgz$/.test(rel); } });
  await symlink(path.join(repo, 'node_modules'), path.join(tree, 'node_modules'));
  const packed = await run('npm', ['pack', '--pack-destination', work], { cwd: tree });
  assert.equal(packed.exitCode, 0, packed.all);
  const tarball = (await readdir(work)).find((f) => /^ksapp-.*\.tgz$/.test(f));
  assert.ok(tarball, packed.all);
  return path.join(work, tarball);
}

/** `npm install -g` of the tarball into `prefix`, install scripts in the foreground so that what they say is seen. */
function install(tarball: string, prefix: string, env?: NodeJS.ProcessEnv) {
  return run('npm', ['install', '-g', '--prefix', prefix, '--foreground-scripts', `--allow-scripts=${tarball}`, '--prefer-offline', tarball],
    { cwd: path.dirname(tarball), env });
}

/** A directory of links to every program on the PATH except C and C++ compilers: a machine without build tools. */
async function pathWithoutCompilers(dir: string): Promise<string> {
  await mkdir(dir);
  const compiler = /^(cc|c\+\+|c89|c99|cpp|gcc|g\+\+|clang|clang\+\+|tcc)(-[\d.]+)?$|-linux-gnu-(gcc|g\+\+|cpp|c\+\+)/;
  for (const from of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    for (const name of await readdir(from).catch(() => [] as string[])) {
      if (compiler.test(name) || existsSync(path.join(dir, name))) continue;
      await symlink(path.join(from, name), path.join(dir, name));
    }
  }
  return dir;
}

/** What `ksapp doctor --json` says about one check. */
async function doctorCheck(ksapp: string, name: string): Promise<{ ok: boolean; detail: string }> {
  const r = await run(ksapp, ['doctor', '--json']);
  const report = JSON.parse(r.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string }> };
  const check = report.checks.find((c) => c.name === name);
  assert.ok(check, `doctor has no check "${name}": ${r.stdout}`);
  return check;
}

const noWait = COMMANDS.find((c) => c.name === 'run')!.options.find((o) => o.name === 'no-wait')!;
const onDrop = COMMANDS.find((c) => c.name === 'run')!.options.find((o) => o.name === 'on-drop')!;

test('npm pack, then npm install -g into a throwaway prefix: a ksapp that works like an installed tool', { skip, timeout: 900_000 }, async (t) => {
  const work = await mkdtemp(path.join(tmpdir(), 'ksapp-install-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const version = (JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
  const tarball = await pack(work);
  const prefix = path.join(work, 'prefix');
  const ksapp = path.join(prefix, 'bin', 'ksapp');
  const pkg = path.join(prefix, 'lib', 'node_modules', 'ksapp');

  await t.test('the tarball holds the build, the addons\' sources and the generated share files; no build objects, no tests', async () => {
    const files = (await run('tar', ['-tzf', tarball])).stdout.split('\n').map((f) => f.replace(/^package\//, ''));
    for (const wanted of ['dist/src/cli.js', 'dist/src/native/load.js', 'src/native/binding.gyp', 'src/native/sockmark.c', 'scripts/npm-install.mjs',
      'test/fixtures/sender.mjs', 'test/fixtures/recorder.mjs', `dist/share/${MAN_PAGE}`, ...Object.values(COMPLETIONS).map((c) => `dist/share/${c}`)]) {
      assert.ok(files.includes(wanted), `packed: ${wanted}`);
    }
    const stray = files.filter((f) => f.startsWith('src/native/build') || f.startsWith('dist/test/') || f.startsWith('dist/bench/') || /\.(o|node|mk|d)$/.test(f));
    assert.deepEqual(stray, []);
  });

  await t.test('install builds the addons and links man page and completions under the prefix', async () => {
    const r = await install(tarball, prefix);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? '', /ksapp: built its native addons/);
    assert.ok(existsSync(path.join(pkg, 'src', 'native', 'build', 'Release', 'sockmark.node')));
    for (const relative of [MAN_PAGE, ...Object.values(COMPLETIONS)]) {
      const file = path.join(prefix, 'share', relative);
      assert.ok(existsSync(file), `${file} exists`);
      assert.equal(realpathSync(file), realpathSync(path.join(pkg, 'dist', 'share', relative)));
    }
  });

  await t.test('ksapp --version and ksapp help, from the prefix\'s bin', async () => {
    const v = await run(ksapp, ['--version']);
    assert.equal(v.exitCode, 0, v.all);
    assert.equal(v.stdout, `ksapp ${version}`);
    const help = await run(ksapp, ['help']);
    assert.equal(help.exitCode, 0);
    for (const cmd of COMMANDS) assert.match(help.stdout, new RegExp(`^  ksapp ${cmd.name}\\b`, 'm'));
    assert.ok(help.stdout.includes(`[--${noWait.name}]`));
  });

  await t.test('every addon loads from where load.ts looks, and doctor has socket marking and exec events on', async () => {
    const names = [...(await readFile(path.join(pkg, 'src', 'native', 'binding.gyp'), 'utf8')).matchAll(/"target_name": "(\w+)"/g)].map((m) => m[1]!);
    assert.ok(names.length >= 8);
    const script = `const { loadAddon } = await import(${JSON.stringify(path.join(pkg, 'dist', 'src', 'native', 'load.js'))});
      console.log(JSON.stringify(${JSON.stringify(names)}.filter((n) => typeof loadAddon(n) !== 'object')));`;
    const loaded = await run(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(loaded.stdout, '[]', loaded.all);
    for (const name of ['socket marking', 'exec events']) {
      const check = await doctorCheck(ksapp, name);
      assert.doesNotMatch(check.detail, /not built/, `${name}: ${check.detail}`);
    }
  });

  await t.test('man finds and renders ksapp(1) under the prefix', { skip: has('man') ? false : 'no man' }, async () => {
    const env = cleanEnv({ MANPATH: path.join(prefix, 'share', 'man'), MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' });
    const where = await run('man', ['-w', 'ksapp'], { env });
    assert.equal(realpathSync(where.stdout.trim()), realpathSync(path.join(prefix, 'share', MAN_PAGE)), where.all);
    const page = await run('man', ['-l', path.join(prefix, 'share', MAN_PAGE)], { env });
    assert.equal(page.exitCode, 0, page.all);
    assert.match(page.stdout, /ksapp - per-application VPN kill switch/);
    assert.ok(page.stdout.includes(`--${noWait.name}`), 'the page lists --no-wait');
  });

  await t.test('the completions mention the table\'s options, and each shell completes ksapp run --on-drop <TAB>', async (tt) => {
    const file = (shell: keyof typeof COMPLETIONS): string => path.join(prefix, 'share', COMPLETIONS[shell]);
    for (const shell of ['bash', 'zsh', 'fish'] as const) assert.ok((await readFile(file(shell), 'utf8')).includes(noWait.name), `${shell} mentions --${noWait.name}`);
    const policies = [...onDrop.choices!].sort();
    const words = (out: string): string[] => out.split('\n').map((l) => l.split('\t')[0]!.trim()).filter(Boolean).sort();
    const bash = `source ${JSON.stringify(file('bash'))}
      COMP_WORDS=(ksapp run --on-drop ''); COMP_CWORD=3; COMP_LINE='ksapp run --on-drop '; COMP_POINT=\${#COMP_LINE}
      _ksapp ksapp '' --on-drop; printf '%s\\n' "\${COMPREPLY[@]}"`;
    assert.deepEqual(words((await run('bash', ['-c', bash])).stdout), policies, 'bash');
    if (has('fish')) {
      assert.deepEqual(words((await run('fish', ['-c', `source ${JSON.stringify(file('fish'))}; complete -C 'ksapp run --on-drop '`])).stdout), policies, 'fish');
    } else tt.diagnostic('no fish: its completion was not run');
    if (has('zsh')) {
      const driver = path.join(repo, 'test', 'fixtures', 'zsh-complete.zsh');
      assert.deepEqual(words((await run('zsh', [driver, path.dirname(file('zsh')), 'ksapp run --on-drop '])).stdout), policies, 'zsh');
    } else tt.diagnostic('no zsh: its completion was not run');
  });

  await t.test('without a C compiler the install completes, says what to apt-get, and ksapp runs without the addons', async () => {
    const bare = path.join(work, 'bare');
    const r = await install(tarball, bare, cleanEnv({ PATH: await pathWithoutCompilers(path.join(work, 'no-compiler-bin')) }));
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? '', /ksapp: missing: a C compiler/);
    assert.match(r.all ?? '', /ksapp: install: +sudo apt-get install gcc\b/);
    assert.match(r.all ?? '', /sudo npm rebuild -g ksapp/);
    const bareKsapp = path.join(bare, 'bin', 'ksapp');
    assert.equal((await run(bareKsapp, ['--version'])).stdout, `ksapp ${version}`);
    assert.match((await doctorCheck(bareKsapp, 'socket marking')).detail, /not built/);
    assert.ok(existsSync(path.join(bare, 'share', COMPLETIONS.bash)), 'completions are linked all the same');
  });
});
