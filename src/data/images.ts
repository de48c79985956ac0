/**
 * A folder of PNG/JPEG images, read with sharp. Images lie in the folder
 * itself (unlabeled), or one subfolder per class, whose sorted position is the
 * label (as torchvision's ImageFolder does). Files are read in name order.
 *
 * Each image is resized to the input's H×W (stretched, aspect ratio not kept,
 * so no pixel is cropped away), converted to 1 (grayscale) or 3 (RGB) channels,
 * scaled to [0, 1] and normalized per channel with `mean`/`std`. The layout is
 * read from the input's shape: [batch, C, H, W] when dim 1 is 1 or 3, else
 * [batch, H, W, C] when the last dim is; [batch, H, W] is grayscale. A uint8
 * input gets the raw 0..255 pixels instead, unscaled.
 */
import { readdir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import type { TensorInfo } from '../model/types.js';
import { StudioError, inputError } from '../errors.js';
import { openRegular } from '../files/regular.js';
import { FORMATS } from '../formats/table.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import { cast, type NumericType } from './elements.js';
import type { Dataset, DatasetOptions, ImageOptions } from './types.js';
import { describeInput, singleInput, targetType } from './validate.js';

/** What a folder of images may hold (the table's image-folder entry), with the dot. */
export const IMAGE_EXTENSIONS: readonly string[] = FORMATS.find((f) => f.id === 'image-folder')!.extensions.map((e) => `.${e}`);

export interface ImageLayout {
  layout: 'NCHW' | 'NHWC';
  channels: 1 | 3;
  height: number;
  width: number;
}

/** Where the channels are, from the input's shape. */
export function imageLayout(path: string, input: TensorInfo): ImageLayout {
  const s = input.shape;
  const fail = (why: string): never => {
    throw inputError(path, `${describeInput(input)}, which is not an image input (${why}); images feed [batch, C, H, W], [batch, H, W, C] or [batch, H, W] with C = 1 or 3`);
  };
  const size = (d: unknown, what: string): number =>
    typeof d === 'number' && d > 0 ? d : fail(`its ${what} is not a fixed number, so the images' size cannot be chosen`);
  if (s.length === 3) return { layout: 'NCHW', channels: 1, height: size(s[1], 'height'), width: size(s[2], 'width') };
  if (s.length !== 4) return fail(`rank ${s.length}`);
  if (s[1] === 1 || s[1] === 3) return { layout: 'NCHW', channels: s[1], height: size(s[2], 'height'), width: size(s[3], 'width') };
  if (s[3] === 1 || s[3] === 3) return { layout: 'NHWC', channels: s[3], height: size(s[1], 'height'), width: size(s[2], 'width') };
  return fail('no dimension of 1 or 3 channels at position 1 or 3');
}

/** PNG or JPEG by its first bytes; a FIFO, device or socket named like an image is refused before any read. */
async function isImageFile(file: string): Promise<boolean> {
  const head = new Uint8Array(4);
  const { handle } = await openRegular(file, 'image');
  try {
    await handle.read(head, 0, 4, 0);
  } catch (e) {
    throw inputError(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  } finally {
    await handle.close();
  }
  const png = head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
  const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  return png || jpeg;
}

async function checkImage(file: string): Promise<void> {
  if (!IMAGE_EXTENSIONS.includes(extname(file).toLowerCase())) {
    throw inputError(file, `is not an image; an image folder may hold only ${IMAGE_EXTENSIONS.join(' ')} files (and class subfolders of them)`);
  }
  if (!(await isImageFile(file))) throw inputError(file, 'has an image extension but is not a PNG or JPEG file');
}

/** Files checked a few at a time: a folder of 100,000 images neither opens them all at once nor one by one in line. */
async function checkImages(files: string[]): Promise<void> {
  const width = 16;
  for (let i = 0; i < files.length; i += width) {
    // The first bad file in name order is the one reported, whichever check ends first.
    const failed = (await Promise.allSettled(files.slice(i, i + width).map(checkImage))).find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => visible(e.name)).sort(byName);
  } catch (e) {
    throw inputError(dir, `cannot list the folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
}

const visible = (name: string): boolean => !name.startsWith('.') && name !== 'Thumbs.db' && name !== 'desktop.ini';
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The images of a folder in read order, with labels when they sit in class subfolders. */
export async function listImages(dir: string): Promise<{ files: string[]; labels?: Int32Array; classes?: string[] }> {
  const entries = await entriesOf(dir);
  const folders = entries.filter((e) => e.isDirectory());
  if (folders.length === 0) {
    const files = entries.map((e) => join(dir, e.name));
    await checkImages(files);
    if (files.length === 0) throw inputError(dir, `the folder holds no images (${IMAGE_EXTENSIONS.join(' ')})`);
    return { files };
  }
  const stray = entries.find((e) => !e.isDirectory());
  if (stray) {
    throw inputError(join(dir, stray.name), 'lies beside class subfolders; put every image in its class folder (or use a folder without subfolders)');
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const [label, folder] of folders.entries()) {
    const sub = join(dir, folder.name);
    for (const e of await entriesOf(sub)) {
      const file = join(sub, e.name);
      if (e.isDirectory()) throw inputError(file, 'is a folder inside class folder; class folders hold images only');
      files.push(file);
      labels.push(label);
    }
  }
  await checkImages(files);
  if (files.length === 0) throw inputError(dir, 'the class folders hold no images');
  return { files, labels: Int32Array.from(labels), classes: folders.map((f) => f.name) };
}

function normalization(path: string, options: ImageOptions | undefined, channels: number): { mean: number[]; std: number[] } {
  const pick = (v: number[] | undefined, what: string, fallback: number): number[] => {
    if (v === undefined) return new Array<number>(channels).fill(fallback);
    if (v.length === 1) return new Array<number>(channels).fill(v[0]!);
    if (v.length !== channels) throw inputError(path, `image ${what} has ${v.length} values but the model takes ${channels} channel${channels > 1 ? 's' : ''}`);
    return v;
  };
  const mean = pick(options?.mean, 'mean', 0);
  const std = pick(options?.std, 'std', 1);
  if (std.some((s) => !(s > 0) || !Number.isFinite(s))) throw new StudioError(`image std must be positive numbers, got ${std.join(', ')}`, { kind: 'input', field: 'image' });
  if (mean.some((m) => !Number.isFinite(m))) throw new StudioError(`image mean must be finite numbers, got ${mean.join(', ')}`, { kind: 'input', field: 'image' });
  return { mean, std };
}

/** One image as HWC bytes of the wanted size and channel count. */
export async function readPixels(file: string, l: ImageLayout): Promise<Uint8Array> {
  let img = sharp(file, { failOn: 'error' }).resize(l.width, l.height, { fit: 'fill' });
  img = l.channels === 1 ? img.grayscale() : img.removeAlpha().toColourspace('srgb');
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw inputError(file, `cannot decode the image (${(e as Error).message})`, e);
  }
  const { data, info } = out;
  if (info.channels === l.channels) return data;
  // Grayscale sources can come back single-channel; repeat them, drop any alpha left.
  const px = l.width * l.height;
  const fixed = new Uint8Array(px * l.channels);
  for (let p = 0; p < px; p++) {
    for (let c = 0; c < l.channels; c++) fixed[p * l.channels + c] = data[p * info.channels + Math.min(c, info.channels - 1)]!;
  }
  return fixed;
}

export async function openImages(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  const input = singleInput(path, inputs, 'An image folder');
  const to = targetType(path, input);
  const l = imageLayout(path, input);
  const { files, labels } = await listImages(path);
  const samples = applyLimit(path, files.length, options);
  const raw = to === 'uint8';
  if (!raw && to !== 'float' && to !== 'double' && to !== 'float16') {
    throw inputError(path, `${describeInput(input)}; images feed float inputs (scaled to [0, 1]) or uint8 inputs (raw pixels)`);
  }
  if (raw && (options?.image?.mean || options?.image?.std)) {
    throw inputError(path, `input "${input.name}" takes raw uint8 pixels, so image mean/std cannot be applied`);
  }
  const { mean, std } = normalization(path, options?.image, l.channels);
  const { channels: C, height: H, width: W } = l;
  const per = C * H * W;
  const sampleDims = l.layout === 'NCHW' ? (input.shape.length === 3 ? [H, W] : [C, H, W]) : [H, W, C];
  const reader: InputReader = {
    input, type: to, sampleDims, stored: { type: 'uint8', dims: [H, W, C] },
    async read(start, count) {
      const pixels = await Promise.all(files.slice(start, start + count).map((f) => readPixels(f, l)));
      if (raw) {
        const out = new Uint8Array(count * per);
        pixels.forEach((px, s) => {
          if (l.layout === 'NHWC') out.set(px, s * per);
          else for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) out[s * per + c * H * W + p] = px[p * C + c]!;
        });
        return out;
      }
      const out = new Float32Array(count * per);
      const scale = mean.map((_, c) => 1 / (255 * std[c]!));
      const shift = mean.map((m, c) => m / std[c]!);
      pixels.forEach((px, s) => {
        const base = s * per;
        for (let p = 0; p < H * W; p++) {
          for (let c = 0; c < C; c++) {
            const v = px[p * C + c]! * scale[c]! - shift[c]!;
            out[l.layout === 'NHWC' ? base + p * C + c : base + c * H * W + p] = v;
          }
        }
      });
      return to === 'float' ? out : cast(out, 'float', to as NumericType);
    },
  };
  return makeDataset({ path, format: 'images', samples, readers: [reader], ...(labels ? { labels } : {}) });
}
