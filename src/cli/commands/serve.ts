/** exit-studio serve: the studio in a browser, for a remote GPU host reached through an SSH tunnel. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StudioError } from '../../errors.js';
import { projectRoot } from '../../paths.js';
import { defaultMaxJobs } from '../../server/jobs.js';
import { int, parse, str, UsageError } from '../args.js';
import type { CliEnv } from '../context.js';

export const usage =
  'serve [--port N] [--max-jobs N] [--db PATH]\n' +
  '                                   serve the studio on http://127.0.0.1:PORT/ (loopback only, guarded by a token in the printed URL);\n' +
  '                                   at most N long jobs (inference, replays, imports) run at once, the rest wait in line (default 2)';

export async function run(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const p = parse(argv, { port: { type: 'string' }, 'max-jobs': { type: 'string' } });
  const portText = str(p, 'port');
  const port = portText === '0' ? 0 : (int(p, 'port') ?? 4873);
  if (port > 65535) throw new StudioError(`--port must be at most 65535; got ${port}`, { kind: 'input' });
  const maxJobs = int(p, 'max-jobs') ?? defaultMaxJobs();
  if (maxJobs < 1 || maxJobs > 64) throw new UsageError(`--max-jobs must be a whole number from 1 to 64; got ${maxJobs}`);
  // The server (and its WebSocket library) loads only when serving: other commands start without it.
  const { rendererDir, startServer } = await import('../../server/server.js');
  const staticDir = rendererDir(projectRoot());
  if (!existsSync(join(staticDir, 'index.html'))) {
    throw new StudioError(`the studio's web pages are not built (${staticDir} is missing): run \`npm run build\` first`, { kind: 'internal' });
  }
  const ctx = env.context(str(p, 'db'), signal);
  let server;
  try {
    server = await startServer({ port, staticDir, store: () => ctx.store, maxJobs });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StudioError(`port ${port} is in use: pick another with --port N (or --port 0 for any free one)`, { kind: 'internal' });
    throw e;
  }
  // The URL (with its token) goes to stdout, alone on its line, so scripts can read it.
  if (p.values.json === true) env.out.result({ url: server.url, port: server.port });
  else {
    env.out.line(server.url);
    env.out.note(
      `Exit Studio is serving on 127.0.0.1:${server.port} (loopback only), at most ${maxJobs} long job${maxJobs > 1 ? 's' : ''} at once. ` +
        `From another machine: ssh -L ${server.port}:127.0.0.1:${server.port} HOST, then open the URL above. Ctrl-C stops.`,
    );
  }
  // No request may end the server: a fault that escapes every job (a bug, or a
  // library failing inside an event) is reported and the server keeps serving.
  // Known faults are failures of their own job; this is the last line only.
  const contain = (e: unknown): void => {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    env.out.note(`exit-studio serve: an unexpected fault was contained, the server keeps running (${what.slice(0, 300)})`);
    if (process.env.EXIT_STUDIO_DEBUG && e instanceof Error) env.out.note(String(e.stack));
  };
  process.on('uncaughtException', contain);
  process.on('unhandledRejection', contain);
  try {
    await new Promise<void>((ok) => {
      if (signal.aborted) return ok();
      signal.addEventListener('abort', () => ok(), { once: true });
    });
    await server.close();
  } finally {
    process.off('uncaughtException', contain);
    process.off('unhandledRejection', contain);
  }
}
