import { watch } from 'chokidar';
import { loadConfigText, type Config } from '../config/index.js';

/**
 * Watches the config file and reloads it on change; an invalid edit is passed
 * on as the error (the caller keeps the last good config). Returns a stop function.
 */
export function watchConfig(file: string, onResult: (result: { config: Config; text: string } | Error) => void): () => void {
  const watcher = watch(file, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
  const reload = (): void => {
    loadConfigText(file).then(onResult, (error: Error) => onResult(error));
  };
  watcher.on('change', reload);
  watcher.on('add', reload);
  // A failed re-watch (EMFILE) is reported like a bad edit; unheard, it would end the daemon.
  watcher.on('error', (e) => onResult(e instanceof Error ? e : new Error(String(e))));
  return () => void watcher.close();
}
