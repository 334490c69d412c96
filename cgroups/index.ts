/** The cgroup v2 library: find the mount, handle groups, parse the kernel's files. */
export { Cgroup } from './cgroup.js';
export { CGROUP_NAME_RULE, cgroupNameProblem, isBelowPath, normalizeCgroupPath, validateCgroupName } from './names.js';
export { CgroupError, cgroupErrorFor } from './errors.js';
export { findCgroup2Mount, parseMountinfo, unescapeMountPath, type MountEntry } from './mountinfo.js';
export { parseCgroupEvents, parsePidList, parseProcCgroup, type CgroupEvents } from './parse.js';
export { cgroupLevel, cgroupRoot, nftCgroupPath, NFT_CGROUP_BASE, type CgroupRootOptions } from './root.js';
export { waitForEvents, watchEvents, type WaitLabel } from './watch.js';
