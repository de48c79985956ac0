/** Shared pieces of the robustness tests: hand-made .npy bytes, the sample's images, big data files, a fingerprint of what the store holds, a WebSocket request. */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { WebSocket } from 'ws';
import type { NumericType } from '../../src/data/elements.js';
import { encodeNpyHeader } from '../../src/data/npy.js';
import { readNpz } from '../../src/data/npz.js';
import { samplePaths } from '../../src/paths.js';
import type { Store } from '../../src/store/store.js';

/** A .npy with any header text (lying, garbage, anything) and `bodyBytes` zero bytes after it. */
export function npyWithHeader(dict: string, bodyBytes: number): Uint8Array {
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const out = new Uint8Array(total + bodyBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

/** A minimal .npy with any descr, for dtypes the writer does not produce. */
export function npyWithDescr(descr: string, shape: number[], bodyBytes: number): Uint8Array {
  return npyWithHeader(`{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`, bodyBytes);
}

/** The embedded sample's images (its .npz member inflated): raw float32 bytes in C order, and their shape. */
export async function sampleImages(): Promise<{ dtype: NumericType; shape: number[]; body: Uint8Array }> {
  const path = samplePaths().data;
  const a = (await readNpz(path, ['image']))['image'];
  if (!a) throw new Error(`${path}: no "image" array`);
  const d = a.data;
  return { dtype: a.dtype, shape: a.shape, body: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/** Row counts of every table that a command could write to. */
export function readCounts(store: Store): Record<string, number> {
  const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  const out: Record<string, number> = {};
  for (const { name } of tables) out[name] = (store.db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n;
  return out;
}

/** Every row of every table: equal fingerprints mean nothing was written, renamed or deleted. */
export function fingerprint(store: Store): string {
  const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    out[name] = (store.db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[])
      .map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? `blob:${v.length}:${v.toString('base64').slice(0, 64)}` : v])))
      .sort();
  }
  return JSON.stringify(out);
}

/** `count` samples of the embedded sample's images, tiled, as one .npy: an inference that lasts seconds. */
export async function tiledNpy(path: string, count: number): Promise<void> {
  const { dtype, shape, body } = await sampleImages();
  const per = body.length / shape[0]!;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, encodeNpyHeader(dtype, [count, ...shape.slice(1)]));
    for (let left = count; left > 0; ) {
      const n = Math.min(left, shape[0]!);
      writeSync(fd, body, 0, n * per);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Sends one invoke frame and waits for its result. */
export function wsInvoke(ws: WebSocket, id: string, command: string, payload: unknown): Promise<Record<string, unknown>> {
  return new Promise((ok) => {
    const onMessage = (data: Buffer): void => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (m.id === id && m.type === 'result') {
        ws.off('message', onMessage);
        ok(m);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'invoke', id, command, payload }));
  });
}
