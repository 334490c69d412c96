// Fills cgroups with idle processes quickly: one perl parent (outside the groups) forks
// the children and moves each into its group before declaring itself ready. It stays
// their parent and reaps them, so killed children never pile up as zombies.
import { execa, type ResultPromise } from 'execa';
import { killAndWaitSync, onCleanup, signalPid } from './cleanup.js';

// perl-base is essential on Debian and Ubuntu; fork without exec is ~10× cheaper than sh + sleep.
const FILLER = String.raw`
$| = 1;
my $per = shift @ARGV;
my @kids;
$SIG{__DIE__} = sub { kill 'KILL', @kids; };
for my $d (@ARGV) {
  for (1 .. $per) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) { close STDOUT; close STDERR; sleep; exit 0; }
    push @kids, $pid;
    open(my $f, '>', "$d/cgroup.procs") or die "open $d: $!";
    print $f "$pid\n";
    close($f) or die "move $pid to $d: $!";
  }
}
print "ready\n";
1 while wait() != -1;
`;

/** A running filler: its parent's pid and the promise of its end. */
export interface Filler {
  readonly pid: number | undefined;
  readonly done: ResultPromise;
}

/** Puts `perGroup` sleeping processes in each group; resolves once all are in place. */
export async function fillGroups(dirs: readonly string[], perGroup: number, timeoutMs = 60_000): Promise<Filler> {
  // Detached: the filler leads its own process group, so on Ctrl-C one kill(-pgid) ends it
  // with every child, even one forked but not yet moved into its group.
  const child = execa('perl', ['-e', FILLER, String(perGroup), ...dirs], { reject: false, stdin: 'ignore', buffer: false, stderr: 'pipe', detached: true });
  const pid = child.pid;
  const undo = onCleanup(`filler ${pid}`, () => undefined, () => { if (pid !== undefined) signalPid(-pid, 'SIGKILL'); killAndWaitSync(pid); });
  void child.then(() => undo());
  let err = '';
  child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
  const ready = await new Promise<boolean>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n')) { clearTimeout(timer); resolve(true); }
    });
    void child.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`could not start ${perGroup} process(es) in ${dirs.length} group(s): ${err.trim() || 'timeout'}`);
  }
  return { pid: child.pid, done: child };
}
