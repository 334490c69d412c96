// NO_COLOR (https://no-color.org): chalk, which Ink colours through, honours
// FORCE_COLOR and whether stdout is a terminal but not NO_COLOR, so the
// dashboard drops its colours itself. Symbols and words carry every state.
import { createContext } from 'react';

/** Whether colours are allowed: NO_COLOR present and non-empty turns them off. */
export function colorAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['NO_COLOR'];
  return v === undefined || v === '';
}

/** Whether components may colour their text (off for NO_COLOR and for plain-text frames). */
export const ColorContext = createContext<boolean>(true);
