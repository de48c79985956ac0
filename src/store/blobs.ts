/**
 * Typed arrays to and from SQLite blobs (little-endian, as on every platform
 * the studio ships for), and the SharedArrayBuffer-backed arrays that loaded
 * traces live in: replay workers get views on the same memory, not copies
 * (a SharedArrayBuffer in workerData or postMessage is shared, not cloned).
 */

export type NumericArray = Int32Array | Float32Array | Float64Array;

/** A typed-array constructor of the kinds a trace holds. */
export type NumericCtor<T extends NumericArray> = {
  new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

export function toBlob(a: NumericArray): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** True when `a` is a view on a SharedArrayBuffer (crosses to workers without a copy). */
export function isShared(a: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;
}

/** A zero-filled array of `length` elements on a fresh SharedArrayBuffer. */
export function sharedArray<T extends NumericArray>(Ctor: NumericCtor<T>, length: number): T {
  return new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT));
}

/** `a` itself when already shared, else a copy of it on a SharedArrayBuffer. */
export function toShared<T extends NumericArray>(a: T): T {
  if (isShared(a)) return a;
  const Ctor = a.constructor as NumericCtor<T>;
  const out = sharedArray(Ctor, a.length);
  (out as NumericArray).set(a);
  return out;
}

/**
 * Copies blobs, one at a time as they come, into one SharedArrayBuffer-backed
 * array of `totalBytes` (known up front, so the blobs never need to be held
 * all at once and nothing is concatenated twice). SQLite's buffers need not be
 * 4-byte aligned, hence the byte copy. Throws when the blobs do not add up to
 * exactly `totalBytes`, or `totalBytes` is not a whole number of elements.
 */
export function readBlobsShared<T extends NumericArray>(Ctor: NumericCtor<T>, totalBytes: number, blobs: Iterable<Buffer>): T {
  const bpe = Ctor.BYTES_PER_ELEMENT;
  if (totalBytes % bpe !== 0) throw new RangeError(`${totalBytes} bytes is not a whole number of ${bpe}-byte elements`);
  const sab = new SharedArrayBuffer(totalBytes);
  const bytes = new Uint8Array(sab);
  let off = 0;
  for (const b of blobs) {
    if (off + b.byteLength > totalBytes) throw new RangeError(`blobs exceed the expected ${totalBytes} bytes`);
    bytes.set(b, off);
    off += b.byteLength;
  }
  if (off !== totalBytes) throw new RangeError(`blobs hold ${off} bytes; expected ${totalBytes}`);
  return new Ctor(sab);
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
