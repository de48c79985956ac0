/**
 * The engine host under plain Node: child_process.fork of the same entry
 * module the desktop app hands to Electron's utilityProcess.fork, with
 * structured-clone messages as utilityProcess's port carries them. The tests
 * and the engine-host benchmark start the engine this way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../paths.js';
import type { EngineProcess } from './engine-client.js';

/** The compiled entry module (dist/src/server/engine-process.js). */
export function engineEntry(): string {
  return join(projectRoot(), 'dist', 'src', 'server', 'engine-process.js');
}

/** Starts the engine in a Node child process; `child` is the process itself, for callers that watch or signal it. */
export function forkEngine(options: { entry?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): EngineProcess & { child: ChildProcess } {
  const child = fork(options.entry ?? engineEntry(), [], {
    serialization: 'advanced',
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    child,
    post: (message) => void child.send(message),
    onMessage: (listener) => void child.on('message', listener),
    onExit: (listener) => void child.once('exit', (code) => listener(code)),
    kill: () => void child.kill(),
  };
}
