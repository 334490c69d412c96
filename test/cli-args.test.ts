import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine, UsageError } from '../src/cli/args.js';

test('run takes options before -- and the command after it', () => {
  const cmd = parseCommandLine(['run', '--name', 'qb', '--tunnel', 'wg0', '--on-drop', 'kill', '--restart', '--', 'qbittorrent', '--no-splash']);
  assert.deepEqual(cmd, {
    kind: 'run', socket: undefined, config: undefined, name: 'qb', tunnel: 'wg0', onDrop: 'kill', allowLan: false,
    restart: true, dns: [], asRoot: false, noWait: false, command: ['qbittorrent', '--no-splash'],
  });
});

test('app names are checked on the command line by the one rule the socket and config use', () => {
  for (const bad of ['.', '..', 'a/b', 'cgroup.procs', 'tab\there', '']) {
    for (const argv of [['run', '--name', bad, '--', 'x'], ['release', bad], ['kill', bad], ['protect', '--pid', '5', '--name', bad]]) {
      if (bad === '' && argv[0] !== 'run' && argv[0] !== 'protect') continue; // an empty positional is "no NAME", its own error
      assert.throws(() => parseCommandLine(argv), UsageError, `${argv.join(' ')}`);
    }
  }
  assert.throws(() => parseCommandLine(['protect', '--pid', '5', '--persist']), /--persist goes with --unit/);
  assert.throws(() => parseCommandLine(['protect', '--unit', 'qb', '--persist']), /must name a \.service or \.scope unit/);
  const persist = parseCommandLine(['protect', '--unit', 'qb.service', '--persist']);
  assert.ok(persist.kind === 'protect' && persist.persist && persist.unit === 'qb.service');
  const ok = parseCommandLine(['run', '--as-root', '--name', 'qb.2', '--', 'x']);
  assert.ok(ok.kind === 'run' && ok.asRoot && ok.name === 'qb.2');
});

test('options after -- belong to the app, not to ksapp', () => {
  const cmd = parseCommandLine(['run', '--', 'curl', '--name', 'x']);
  assert.equal(cmd.kind, 'run');
  if (cmd.kind === 'run') assert.deepEqual(cmd.command, ['curl', '--name', 'x']);
});

test('global options come from flags or the environment', () => {
  const cmd = parseCommandLine(['--socket', '/tmp/s', 'status', '--json'], { KSAPP_CONFIG: '/etc/x.yaml' });
  assert.deepEqual(cmd, { kind: 'status', json: true, socket: '/tmp/s', config: '/etc/x.yaml' });
});

test('bad usage is a UsageError with exit status 2 and a hint', () => {
  const cases: Array<[string[], RegExp]> = [
    [['run', 'qbittorrent'], /unexpected "qbittorrent" before --|missing `-- COMMAND`/],
    [['run', '--tunnel', 'wg0'], /missing `-- COMMAND`/],
    [['run', '--'], /missing `-- COMMAND`/],
    [['run', '--bogus', '--', 'x'], /Unknown option '--bogus'/],
    [['run', '--on-drop', 'pause', '--', 'x'], /--on-drop must be freeze, kill or block, got "pause"/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['freeze'], /give exactly one app NAME/],
    [['protect', '--pid', '12', '--exe', '/bin/x'], /exactly one of/],
    [['protect', '--pid', 'abc'], /positive integer/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseCommandLine(argv), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${argv.join(' ')} → UsageError`);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, message);
      assert.ok(error.hint.length > 0);
      return true;
    });
  }
});

test('no arguments means help', () => {
  assert.equal(parseCommandLine([]).kind, 'help');
});

test('--version and -V print the version, like `ksapp version`', () => {
  for (const argv of [['--version'], ['-V'], ['version']]) assert.equal(parseCommandLine(argv).kind, 'version', argv.join(' '));
});
