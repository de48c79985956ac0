/** Typed arrays to and from SQLite blobs (little-endian, as on every platform the studio ships for). */

export type NumericArray = Int32Array | Float32Array | Float64Array;

export function toBlob(a: NumericArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Concatenates blobs into one fresh, aligned typed array (SQLite's buffers need not be 4-byte aligned). */
export function concatBlobs<T extends NumericArray>(make: (n: number) => T, blobs: Buffer[]): T {
  const bpe = make(0).BYTES_PER_ELEMENT;
  const total = blobs.reduce((s, b) => s + b.byteLength, 0);
  const out = make(total / bpe);
  const bytes = new Uint8Array(out.buffer);
  let off = 0;
  for (const b of blobs) {
    bytes.set(b, off);
    off += b.byteLength;
  }
  return out;
}
