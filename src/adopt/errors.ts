import { KsappError } from '../errors.js';

/** Every failure of the adoption library (find, move, sockets, unit, launcher); `code` says which. */
export class AdoptError extends KsappError {}

/** A request that cannot be carried out as given (exit status 2): bad pid, bad path, nothing matched. */
export function badInput(code: string, message: string, hint: string, cause?: unknown): AdoptError {
  return new AdoptError(message, { code, hint, cause, exitCode: 2 });
}

/** A runtime failure (exit status 1): the kernel or a tool refused something that should work. */
export function runtimeError(code: string, message: string, hint: string, cause?: unknown): AdoptError {
  return new AdoptError(message, { code, hint, cause, exitCode: 1 });
}
