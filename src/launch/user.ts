/** The user an app runs as: the sudo caller when started through sudo, else unchanged. */
export function invokingUser(env: NodeJS.ProcessEnv, currentUid: number): { uid: number; gid: number } | null {
  const uid = Number(env.SUDO_UID);
  const gid = Number(env.SUDO_GID);
  if (currentUid !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid) || env.SUDO_UID === undefined) return null;
  if (uid === 0) return null;
  return { uid, gid };
}
