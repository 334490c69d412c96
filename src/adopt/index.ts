// Adoption: protect apps that are already running, started from a desktop menu, or run as units.
export { AdoptError } from './errors.js';
export { matches, describeRule, type MatchRule, type ProcInfo } from './match.js';
export { findByPid, findByExe, findByRule, findMatching, resolveRule, type Found, type FindOptions } from './find.js';
export { moveInto, procCgroup, returnTo, type Adoption, type MovedProcess, type MoveOptions } from './move.js';
export { ownership, ownershipOf, parseUids, beforeWrite, afterWrite, occupant, describeLeftOut, requirePidfd, type LeftOut, type Ownership, type Uids, type Seen } from './owned.js';
export { release, type ReleaseReport } from './release.js';
export { closeOldSockets, heldSockets, type CloseOptions, type CloseResult, type SocketOutcome, type SocketReport } from './sockets.js';
export { afterMarking, classify, markable } from './socket-outcome.js';
export { clearMarks, markSockets, type MarkOutcome } from './mark.js';
export { parseSsLines, parseEndpoint, filterTerm, listSockets, type SsSocket, type SsTools } from './ss.js';
export { parseInodeColumn } from './net-tables.js';
export { unitCgroup, resolveCgroupPath, parseShow } from './unit.js';
export { rewriteDesktopEntry, parseExec, quoteExecArg, isWrapped, launcherTarget, desktopSearchDirs, pickDesktopFile } from './launcher.js';
export { watchExecs, type ExecWatcher, type ExecEvent, type PollOptions } from './exec-watch.js';
export { parseStat, parseStatus, parseExeLink, parseSocketLink, parsePasswd, isKernelThread, readStat, readStatus } from './proc.js';
export { ExecGuard, type GuardedExec, type GuardOutcome, type MarkedFile } from './exec-guard.js';
export { GuardedPrograms, needsRemark } from './exec-marks.js';
