/** Where the studio keeps its database unless told otherwise. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The OS's per-user app-data folder, the same one Electron's
 * app.getPath('userData') gives the desktop app, so the CLI and the window
 * share one history.
 */
export function appDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const app = 'Exit Studio';
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), app);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', app);
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), app);
}

/** --db wins, then EXIT_STUDIO_DB, then the app-data folder. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.EXIT_STUDIO_DB) return env.EXIT_STUDIO_DB;
  return join(appDataDir(env), 'studio.sqlite');
}
