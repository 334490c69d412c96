// One command table, five readers: every option of src/cli/table.ts is parsed, shown by `ksapp help`, documented in
// ksapp(1) and offered by the bash, zsh and fish completions; hidden ones are parsed and nowhere advertised. Plus the
// install hook's pure parts: what a machine lacks for building the addons, and the message that says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCommandLine } from '../src/cli/args.js';
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from '../src/cli/table.js';
import { USAGE } from '../src/cli/usage.js';
import { missingFromBuildLog, missingTools, problemReport, type BuildTools } from '../src/packaging/addons.js';
import { bashCompletion } from '../src/packaging/bash.js';
import { fishCompletion } from '../src/packaging/fish.js';
import { addonNames, buildInvocation, completionLinks, globalPrefix } from '../src/packaging/install-hook.js';
import { manPage, roff } from '../src/packaging/man.js';
import { COMPLETIONS, MAN_PAGE, shareFiles } from '../src/packaging/share.js';
import { zshCompletion } from '../src/packaging/zsh.js';

const man = manPage('9.9.9');
const bash = bashCompletion();
const zsh = zshCompletion();
const fish = fishCompletion();
const shown = (cmd: CommandSpec): OptionSpec[] => cmd.options.filter((o) => !o.hidden);

/** `ksapp help`'s synopsis of one command: its line and continuation lines, up to its summary. */
function synopsisInHelp(name: string): string {
  const from = USAGE.search(new RegExp(`^  ksapp ${name}(?= |$)`, 'm'));
  assert.notEqual(from, -1, `help lists ${name}`);
  return USAGE.slice(from).split(/\n {6}(?=\S)/)[0]!;
}

/** The text of `cmd`'s arm in a generated `case` (bash: `run) ...`, zsh: `(run)` up to `;;`). */
function arm(text: string, start: string): string {
  const from = text.indexOf(start);
  assert.notEqual(from, -1, `no arm ${start}`);
  return text.slice(from, text.indexOf(';;', from));
}

test('every advertised option of the table is in the help, the man page and all three completions, under its command', () => {
  for (const cmd of COMMANDS) {
    assert.match(USAGE, new RegExp(`^  ksapp ${cmd.name}\\b`, 'm'), `help lists ${cmd.name}`);
    assert.ok(man.includes(`\\fBksapp ${roff(cmd.name)}\\fR`), `man lists ${cmd.name}`);
    assert.match(bash, new RegExp(`'[^']*\\b${cmd.name}\\b[^']*'`), `bash offers ${cmd.name}`);
    assert.ok(zsh.includes(`'${cmd.name}:`), `zsh offers ${cmd.name}`);
    assert.ok(fish.includes(`-a ${cmd.name} -d`), `fish offers ${cmd.name}`);
    const commandMan = man.slice(man.indexOf(`.TP\n\\fBksapp ${roff(cmd.name)}\\fR`));
    for (const o of shown(cmd)) {
      const where = `${cmd.name} --${o.name}`;
      assert.ok(synopsisInHelp(cmd.name).includes(`--${o.name}`), `help: ${where}`);
      assert.ok(commandMan.split('.RE')[0]!.includes(`\\fB${roff(`--${o.name}`)}\\fR`), `man: ${where}`);
      assert.match(arm(bash, `        ${cmd.name}) _ksapp_words`), new RegExp(`['\\s]--${o.name}['\\s]`), `bash: ${where}`);
      assert.ok(arm(zsh, `(${cmd.name})\n`).includes(`--${o.name}`), `zsh: ${where}`);
      assert.ok(fish.includes(`-n '__ksapp_using ${cmd.name}' -l ${o.name}`), `fish: ${where}`);
    }
  }
  for (const o of GLOBAL_OPTIONS) {
    for (const [name, text] of [['help', USAGE], ['man', man], ['bash', bash], ['zsh', zsh], ['fish', fish]] as const) {
      assert.ok(text.includes(name === 'man' ? roff(`--${o.name}`) : `--${o.name}`) || (name === 'fish' && text.includes(`-l ${o.name}`)), `${name}: global --${o.name}`);
    }
  }
});

test('choices come from the table: --on-drop offers exactly its policies in every shell', () => {
  const onDrop = COMMANDS.find((c) => c.name === 'run')!.options.find((o) => o.name === 'on-drop')!;
  const words = onDrop.choices!.join(' ');
  assert.ok(bash.includes(`"run --on-drop") _ksapp_words '${words}'`));
  assert.ok(zsh.includes(`:policy:(${words})`));
  assert.ok(fish.includes(`-l on-drop -x -a '${words}'`));
  assert.ok(USAGE.includes(`[--on-drop ${onDrop.choices!.join('|')}]`));
  assert.throws(() => parseCommandLine(['run', '--on-drop', 'pause', '--', 'x']), /--on-drop must be freeze, kill or block, got "pause"/);
});

test('every option of the table parses, hidden ones too, and hidden ones are advertised nowhere', () => {
  const sample: Record<string, string> = { dns: '10.0.0.1', pid: '5', tunnel: 'wg0', unit: 'a.service', name: 'app', 'on-drop': 'kill', iface: 'tap0', container: 'c1', lan: 'eth1', host: '10.0.0.0/8' };
  const operands = (cmd: CommandSpec): { before: string[]; after: string[] } => ({
    before: cmd.operands === 'NAME' ? ['app'] : [],
    after: cmd.operands?.startsWith('--') ? ['--', 'true'] : [],
  });
  for (const cmd of COMMANDS) {
    for (const o of cmd.options) {
      const value = o.value === undefined ? [] : [o.choices?.[0] ?? sample[o.name] ?? '/tmp/x'];
      const target = cmd.name === 'gateway' ? (o.name === 'lan' ? [] : ['--lan', 'eth1'])
        : cmd.oneOf && !cmd.oneOf.includes(o.name) ? (o.name === 'persist' ? ['--unit', 'a.service'] : ['--pid', '5']) : [];
      const { before, after } = operands(cmd);
      const argv = [cmd.name, ...before, ...target, `--${o.name}`, ...value, ...after];
      assert.equal(parseCommandLine(argv).kind, cmd.name, argv.join(' '));
    }
  }
  const advertised = new Set(COMMANDS.flatMap((c) => shown(c).map((o) => o.name)));
  const hidden = COMMANDS.flatMap((c) => c.options.filter((o) => o.hidden && !advertised.has(o.name)));
  assert.ok(hidden.length > 0);
  for (const o of hidden) {
    for (const [name, text] of [['help', USAGE], ['man', man], ['bash', bash], ['zsh', zsh], ['fish', fish]] as const) {
      assert.ok(!text.includes(name === 'man' ? roff(`--${o.name}`) : `--${o.name}`) && !text.includes(`-l ${o.name}`), `${name} advertises hidden --${o.name}`);
    }
  }
});

test('the help keeps to 100 columns and ends with the exit statuses', () => {
  for (const line of USAGE.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
  assert.match(USAGE, /Exit status: 0 success, 1 runtime failure, 2 bad usage or config/);
});

test('the man page is roff that groff reads without a warning', { skip: spawnSync('groff', ['-v']).status === 0 ? false : 'no groff' }, () => {
  assert.match(man, /^\.TH KSAPP 1 "" "ksapp 9\.9\.9"/);
  const r = spawnSync('groff', ['-man', '-ww', '-z'], { input: man, encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
});

test('each completion is a file its shell parses', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ksapp-completions-'));
  try {
    for (const [shell, text, args] of [['bash', bash, ['-n']], ['zsh', zsh, ['-n']], ['fish', fish, ['--no-execute']]] as const) {
      if (spawnSync(shell, ['-c', 'true']).status !== 0) continue;
      const file = path.join(dir, shell);
      writeFileSync(file, text);
      const r = spawnSync(shell, [...args, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the share files are the man page and the three completions, at the paths each shell searches', () => {
  const files = shareFiles('1.2.3');
  assert.deepEqual([...files.keys()].sort(), [MAN_PAGE, COMPLETIONS.bash, COMPLETIONS.fish, COMPLETIONS.zsh].sort());
  assert.deepEqual(Object.values(COMPLETIONS).sort(), ['bash-completion/completions/ksapp', 'fish/vendor_completions.d/ksapp.fish', 'zsh/site-functions/_ksapp']);
  assert.equal(MAN_PAGE, 'man/man1/ksapp.1');
  assert.match(files.get(COMPLETIONS.zsh)!, /^#compdef ksapp\n/);
});

const machine: BuildTools = {
  compiler: '/usr/bin/cc', make: '/usr/bin/make', python: '/usr/bin/python3', libcHeaders: true, kernelHeaders: true,
  nodeHeaders: { kind: 'dir', dir: '/usr', from: 'next-to-node' },
};

test('a machine with a compiler, make, Python and every header lacks nothing', () => {
  assert.deepEqual(missingTools(machine), []);
});

test('each missing tool or header is named with the Debian package that gives it', () => {
  const bare: BuildTools = { libcHeaders: false, kernelHeaders: false, nodeHeaders: { kind: 'missing', dir: '/opt/node' } };
  const missing = missingTools(bare);
  assert.deepEqual(missing.flatMap((m) => (m.apt ? [m.apt] : [])), ['gcc', 'make', 'python3', 'libc6-dev', 'linux-libc-dev']);
  assert.match(missing.at(-1)!.what, /--nodedir \/opt\/node has no include\/node\/node_api\.h/);
  const report = problemReport(missing, {});
  assert.match(report, /^ksapp: install: {2}sudo apt-get install gcc make python3 libc6-dev linux-libc-dev$/m);
  assert.match(report, /missing: a C compiler/);
  assert.match(report, /sudo npm rebuild -g ksapp/);
  assert.match(report, /ksapp doctor/);
  assert.deepEqual(missingTools({ ...machine, compiler: undefined }).map((m) => m.apt), ['gcc']);
});

test('a failed build says what its output shows is missing', () => {
  const cases: Array<[string, string[]]> = [
    ['make: g++: No such file or directory\nmake: *** [execguard.target.mk:144] Error 127', ['g++']],
    ['/bin/sh: 1: cc: not found', ['gcc']],
    ['../sockmark.c:3:10: fatal error: sys/socket.h: No such file or directory', ['libc6-dev']],
    ['../procevents.c:5:10: fatal error: linux/cn_proc.h: No such file or directory', ['linux-libc-dev']],
    ['gyp ERR! find Python Python is not set from command line or npm configuration', ['python3']],
    ['gyp ERR! stack Error: not found: make', ['make']],
  ];
  for (const [log, packages] of cases) assert.deepEqual(missingFromBuildLog(log).map((m) => m.apt), packages, log);
  const offline = missingFromBuildLog('gyp http GET https://nodejs.org/download/release/v20.20.2/node-v20.20.2-headers.tar.gz\ngyp ERR! stack Error: getaddrinfo ENOTFOUND nodejs.org');
  assert.match(offline[0]!.what, /headers: none found locally, and node-gyp could not download them/);
  assert.match(offline[0]!.hint!, /libnode-dev/);
  assert.deepEqual(missingFromBuildLog('some other failure'), []);
  assert.match(problemReport([], { log: '/x/install.log', logTail: 'boom' }), /not recognised[\s\S]*\| boom[\s\S]*\/x\/install\.log/);
});

test('node-gyp is pointed at the headers next to node, and links with the C compiler when there is no C++ one', () => {
  assert.deepEqual(buildInvocation(machine, {}, false), { args: ['rebuild', '--directory=src/native', '--nodedir=/usr'], env: { LINK: '/usr/bin/cc' } });
  assert.deepEqual(buildInvocation(machine, {}, true).env, {});
  assert.deepEqual(buildInvocation(machine, { CXX: 'clang++' }, false).env, { CXX: 'clang++' });
  assert.deepEqual(buildInvocation({ ...machine, nodeHeaders: { kind: 'dir', dir: '/usr', from: 'nodedir' } }, {}, true).args, ['rebuild', '--directory=src/native']);
});

test('a global install links the completions under its prefix, relative, as npm links the man page', () => {
  const pkg = '/opt/p/lib/node_modules/ksapp';
  assert.equal(globalPrefix(pkg, { npm_config_global: 'true' }), '/opt/p');
  assert.equal(globalPrefix(pkg, {}), undefined);
  assert.equal(globalPrefix('/home/a/project/node_modules/ksapp', { npm_config_global: 'true' }), undefined);
  assert.deepEqual(completionLinks(pkg, '/opt/p'), [
    { link: '/opt/p/share/bash-completion/completions/ksapp', target: '../../../lib/node_modules/ksapp/dist/share/bash-completion/completions/ksapp' },
    { link: '/opt/p/share/zsh/site-functions/_ksapp', target: '../../../lib/node_modules/ksapp/dist/share/zsh/site-functions/_ksapp' },
    { link: '/opt/p/share/fish/vendor_completions.d/ksapp.fish', target: '../../../lib/node_modules/ksapp/dist/share/fish/vendor_completions.d/ksapp.fish' },
  ]);
});

test('the addons the hook expects are binding.gyp\'s targets', () => {
  assert.deepEqual(addonNames('{ "targets": [ { "target_name": "peercred", "sources": [] }, {\'target_name\': \'flock\'} ] }'), ['peercred', 'flock']);
});
