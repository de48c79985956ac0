/**
 * CSV and TSV files of numeric features: one row per sample, for a model with
 * one input of per-sample size F ([batch, F], or [batch, ...] holding F values).
 * A header row is optional (a row with any non-numeric cell is one); a label
 * column, named by `labelColumn`, is kept out of the features and returned as
 * the dataset's labels.
 *
 * The file is streamed twice: once when opened, to count rows and check every
 * cell (so a bad cell fails before inference starts, naming its line and
 * column), then once per pass over the batches.
 */
import type { TensorInfo } from '../model/types.js';
import { excerpt, inputError, nameList } from '../errors.js';
import { applyLimit, makeDataset, type InputReader } from './dataset.js';
import { CastRangeError, fromNumbers, isIntType } from './elements.js';
import { labelProblem } from './labels.js';
import type { Dataset, DatasetOptions } from './types.js';
import { eachLine } from './lines.js';
import { LineCursor, delimiterOf, looksLikeHeader, parseNumber, splitCells } from './text.js';
import { matchSampleDims, mismatch, singleInput, targetType } from './validate.js';

interface Layout {
  delimiter: string;
  header: string[] | undefined;
  columns: number;
  labelIndex: number;
  /** The indices of the feature columns. */
  features: number[];
}

function columnName(layout: Layout, index: number): string {
  return layout.header ? `column ${excerpt(layout.header[index]!.trim(), 64)}` : `column ${index + 1}`;
}

function layoutOf(path: string, text: string, line: number, labelColumn: string | undefined): Layout {
  const delimiter = delimiterOf(path, text);
  const cells = splitCells(text, delimiter, { file: path, line });
  const header = looksLikeHeader(cells) ? cells : undefined;
  let labelIndex = -1;
  if (labelColumn !== undefined) {
    if (!header) throw inputError(path, `has no header row, so there is no label column "${labelColumn}" to find`);
    labelIndex = header.findIndex((h) => h.trim() === labelColumn);
    if (labelIndex < 0) {
      throw inputError(path, `no label column ${excerpt(labelColumn, 64)}; the columns are ${nameList(header.map((h) => h.trim()))}`);
    }
  }
  const features = cells.map((_, i) => i).filter((i) => i !== labelIndex);
  if (features.length === 0) throw inputError(path, 'has no feature columns');
  return { delimiter, header, columns: cells.length, labelIndex, features };
}

export async function openCsv(path: string, inputs: TensorInfo[], options?: DatasetOptions): Promise<Dataset> {
  const format = /\.tsv$/i.test(path) ? 'tsv' : 'csv';
  const input = singleInput(path, inputs, format.toUpperCase());
  const to = targetType(path, input);
  const wholeNumbers = isIntType(to) || to === 'bool';
  const limit = options?.limit;
  const nonFinite = options?.allowNonFinite === true;

  let layout: Layout | undefined;
  let rows = 0;
  let firstLine = 0;
  const labels: number[] = [];
  await eachLine(path, (text, line) => {
    if (text.trim() === '') return;
    if (!layout) {
      layout = layoutOf(path, text, line, options?.labelColumn);
      firstLine = line;
      if (layout.header) return;
    }
    if (limit !== undefined && rows >= limit) return false;
    const cells = splitCells(text, layout.delimiter, { file: path, line });
    if (cells.length !== layout.columns) {
      throw inputError(path, `line ${line} has ${cells.length} cells but line ${firstLine} has ${layout.columns}; every row needs the same columns`);
    }
    for (let c = 0; c < cells.length; c++) {
      const v = parseNumber(cells[c]!, nonFinite && c !== layout.labelIndex);
      let problem = typeof v === 'string' ? v : undefined;
      if (!problem && c === layout.labelIndex) problem = labelProblem(v as number);
      else if (!problem && wholeNumbers && !Number.isInteger(v)) {
        problem = `${v} is not a whole number, and input "${input.name}" takes ${to}`;
      }
      if (problem) throw inputError(path, `line ${line}, ${columnName(layout, c)}: ${problem}`);
      if (c === layout.labelIndex) labels.push(v as number);
    }
    rows++;
  });
  if (!layout) throw inputError(path, 'holds no rows');
  const samples = applyLimit(path, rows, options);
  const F = layout.features.length;
  const dims = matchSampleDims(input, [F]);
  if (typeof dims === 'string') {
    const oneTooMany = typeof input.shape[1] === 'number' && input.shape.length === 2 && input.shape[1] === F - 1;
    const hint = oneTooMany && layout.labelIndex < 0 ? '; if one column is the label, name it as the label column' : '';
    throw mismatch(path, input, `${rows} rows × ${F} feature columns`, dims + hint);
  }

  const cursor = new LineCursor(path, layout.header !== undefined);
  const { delimiter, features } = layout;
  const reader: InputReader = {
    input, type: to, sampleDims: dims, stored: { type: 'text', dims: [F] },
    async read(start, count) {
      const values = new Float64Array(count * F);
      const lines = await cursor.take(start, count);
      lines.forEach(({ text, line }, s) => {
        const cells = splitCells(text, delimiter, { file: path, line });
        for (let f = 0; f < F; f++) values[s * F + f] = parseNumber(cells[features[f]!]!, nonFinite) as number;
      });
      try {
        return fromNumbers(values, to);
      } catch (e) {
        if (!(e instanceof CastRangeError)) throw e;
        const { line } = lines[Math.floor(e.index / F)]!;
        throw inputError(path, `line ${line}, ${columnName(layout!, features[e.index % F]!)}: ${e.value} does not fit input "${input.name}" (${to})`);
      }
    },
  };
  return makeDataset({
    path, format, samples, readers: [reader], allowNonFinite: nonFinite,
    ...(layout.labelIndex >= 0 ? { labels: Int32Array.from(labels) } : {}),
    close: () => cursor.close(),
  });
}

