/** Opens a dataset by what it is: a folder of images, or a file picked by its extension. */
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import type { TensorInfo } from '../model/types.js';
import { fromFile, inputError } from '../errors.js';
import { notRegular, openError } from '../files/regular.js';
import { openCsv } from './csv.js';
import { IMAGE_EXTENSIONS, openImages } from './images.js';
import { openJsonl } from './jsonl.js';
import { openNpy } from './npy.js';
import { openNpz } from './npz.js';
import type { Dataset, DatasetOptions } from './types.js';

type Opener = (path: string, inputs: TensorInfo[], options?: DatasetOptions) => Promise<Dataset>;

const BY_EXTENSION: Record<string, Opener> = {
  '.npy': openNpy,
  '.npz': openNpz,
  '.csv': openCsv,
  '.tsv': openCsv,
  '.jsonl': openJsonl,
  '.ndjson': openJsonl,
};

export const SUPPORTED_FORMATS = '.npy, .npz, .csv, .tsv, .jsonl, or a folder of PNG/JPEG images';

export async function openDataset(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw openError(path, e, 'file or folder');
  }
  if (inputs.length === 0) throw inputError(path, 'the model has no inputs to feed');
  if (st.isDirectory()) return openImages(path, inputs, options);
  const odd = notRegular(st);
  if (odd) throw inputError(path, odd);
  const ext = extname(path).toLowerCase();
  const open = BY_EXTENSION[ext];
  if (!open) {
    const hint = IMAGE_EXTENSIONS.includes(ext) ? ' (for images, give the folder that holds them)' : '';
    throw inputError(path, `unknown data format "${ext || '(no extension)'}"${hint}; supported: ${SUPPORTED_FORMATS}`);
  }
  if (st.size === 0) throw inputError(path, 'the file is empty (0 bytes)');
  try {
    return await open(path, inputs, options);
  } catch (e) {
    throw fromFile(path, e);
  }
}
