/** Draws one image-shaped sample (any value range) into a canvas, min-max scaled to grey or RGB. */
import type { DataPreview } from './types.js';

type ImageHint = NonNullable<DataPreview['inputs'][number]['image']>;

export function pixelsOf(values: number[], hint: ImageHint): Uint8ClampedArray<ArrayBuffer> {
  const { layout, channels: C, height: H, width: W } = hint;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const out = new Uint8ClampedArray(new ArrayBuffer(H * W * 4));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const at = (c: number): number => (layout === 'NCHW' ? (c * H + y) * W + x : (y * W + x) * C + c);
      const o = (y * W + x) * 4;
      for (let c = 0; c < 3; c++) out[o + c] = ((values[at(C === 3 ? c : 0)] ?? lo) - lo) * scale;
      out[o + 3] = 255;
    }
  }
  return out;
}

/** Svelte action: `<canvas use:thumbnail={{ values, hint }}>`. */
export function thumbnail(canvas: HTMLCanvasElement, p: { values: number[]; hint: ImageHint }): void {
  canvas.width = p.hint.width;
  canvas.height = p.hint.height;
  canvas.getContext('2d')?.putImageData(new ImageData(pixelsOf(p.values, p.hint), p.hint.width, p.hint.height), 0, 0);
}
