/**
 * The engine host's entry point. The desktop app starts it with Electron's
 * utilityProcess.fork() (electron/main.ts); under plain Node,
 * child_process.fork() starts the very same file (the tests do).
 *
 * It finds the parent's message port first and loads the engine second, so a
 * load failure (a native module built for another runtime, a missing file)
 * reaches the window as a message instead of a silent exit.
 */
import type { HostPort } from './engine-host.js';
import type { HostReply } from './engine-protocol.js';

/** Electron's process.parentPort in a utility process (typed here: src/ never imports Electron). */
interface ElectronParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  postMessage(message: unknown): void;
}

interface ParentLink extends HostPort {
  /** Called when the parent goes away without a shutdown (Node's IPC channel closes; Electron ends utility processes itself). */
  onGone(listener: () => void): void;
}

function parentLink(): ParentLink | undefined {
  const electron = (process as NodeJS.Process & { parentPort?: ElectronParentPort }).parentPort;
  if (electron) {
    return {
      onMessage: (listener) => void electron.on('message', (e) => listener(e.data)),
      post: (message: HostReply) => electron.postMessage(message),
      onGone: () => {},
    };
  }
  const send = process.send?.bind(process);
  if (!send) return undefined;
  return {
    onMessage: (listener) => void process.on('message', listener),
    post: (message: HostReply) => void send(message),
    onGone: (listener) => void process.once('disconnect', listener),
  };
}

const link = parentLink();
if (!link) {
  console.error('engine-process: no parent to talk to; the desktop app starts it (utilityProcess.fork), or child_process.fork with an IPC channel');
  process.exit(2);
}

try {
  const [{ hostEngine }, { openStore }, { resolveDbPath }] = await Promise.all([import('./engine-host.js'), import('../store/store.js'), import('../store/location.js')]);
  let store: ReturnType<typeof openStore> | undefined;
  const host = hostEngine(link, {
    // The same database as the CLI (the app-data folder, or EXIT_STUDIO_DB), opened on first use.
    store: () => (store ??= openStore(resolveDbPath(undefined))),
    closeStore: () => store?.close(),
    onShutdown: () => process.exit(0),
  });
  link.onGone(() => void host.shutdown());
} catch (e) {
  link.post({ type: 'failed', message: `the engine could not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` });
  // Give the message time to leave before the process ends.
  setTimeout(() => process.exit(1), 200);
}
