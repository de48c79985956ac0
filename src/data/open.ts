/** Opens a dataset by what it is: a folder of images, or a file whose format (src/formats/table.ts) its extension names. */
import { statSync } from 'node:fs';
import type { TensorInfo } from '../model/types.js';
import { fromFile, inputError } from '../errors.js';
import { notRegular, openError } from '../files/regular.js';
import { formatHint } from '../formats/sniff.js';
import { extensionOf, formatByName, formatList, type FormatIdOf } from '../formats/table.js';
import { openCsv } from './csv.js';
import { IMAGE_EXTENSIONS, openImages } from './images.js';
import { openJsonl } from './jsonl.js';
import { openNpy } from './npy.js';
import { openNpz } from './npz.js';
import type { Dataset, DatasetOptions } from './types.js';

type Opener = (path: string, inputs: TensorInfo[], options?: DatasetOptions) => Promise<Dataset>;

/** The reader of each single-file dataset format of the table (the folder of images is opened above them). */
const READERS: Record<FormatIdOf<'dataset'>, Opener> = {
  'npy-inputs': openNpy,
  'npz-inputs': openNpz,
  'table-inputs': openCsv,
  'jsonl-inputs': openJsonl,
};

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
  const format = formatByName('dataset', path);
  if (!format) {
    const ext = extensionOf(path);
    const image = IMAGE_EXTENSIONS.includes(`.${ext}`);
    const hint = image ? ' (for images, give the folder that holds them)' : formatHint(path, 'dataset');
    throw inputError(path, `unknown data format "${ext ? `.${ext}` : '(no extension)'}"; supported: ${formatList('dataset')}${hint}`);
  }
  if (st.size === 0) throw inputError(path, 'the file is empty (0 bytes)');
  try {
    return await READERS[format.id](path, inputs, options);
  } catch (e) {
    throw fromFile(path, e);
  }
}
