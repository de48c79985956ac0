/**
 * The hostile part of the robustness corpus (test/robustness/corpus.test.ts):
 * files and requests built to take the studio down, overwrite data or damage
 * a trace. Over-long lines in every text reader, named pipes, sockets and
 * devices named like data, non-finite values in and out of a model and in
 * imported traces, archives that lie about their members, files that are no
 * model, external data outside a model's folder, error texts that would echo
 * a file, and writes onto what already exists. Each case is refused as bad
 * input that names the file, and the corpus checks that nothing was stored.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer/src/node.js';
import type { Server } from 'node:net';
import { invoke } from '../../src/api/commands.js';
import type { CommandContext } from '../../src/api/context.js';
import { MAX_DATA_LINE } from '../../src/data/lines.js';
import { MAX_NPY_HEADER } from '../../src/data/npy.js';
import { writeNpz } from '../../src/data/npz.js';
import { MAX_CELLS } from '../../src/data/text.js';
import type { ErrorKind } from '../../src/errors.js';
import { MAX_EXITS } from '../../src/model/types.js';
import { buildMlpMultiExit, saveWithExternalData, writeTempModel } from '../helpers/onnx-builder.js';
import { deflatedZeros, fifo, longLine, manyMembers, npyMember, rawZip, socketFile } from './hostile.js';

export interface Case {
  what: string;
  command: string;
  payload: () => Record<string, unknown>;
  /** The file the message must name. */
  file: () => string;
  says: RegExp;
  kind?: ErrorKind;
  /** The error's code ('exists': the same request with force replaces the output). */
  code?: string;
  /** Text the message must not contain (a file's contents). */
  secret?: string;
  /** Further checks once the command was refused (the file it would have replaced is intact, say). */
  after?: () => void;
}

export interface CorpusSetup {
  dir: string;
  ctx: CommandContext;
  file: (name: string, content: string | Uint8Array) => string;
  folder: (name: string) => string;
  /** A 3-exit, 3-class MLP on 4 features, its bytes, and 8 samples of data for it. */
  mlp: string;
  mlpBytes: Uint8Array;
  goodData: string;
  /** A CNN on 1×8×8 images. */
  cnn: string;
  /** A complete run on a trace imported (not recorded): no model to compare with. */
  runId: number;
  keptTrace: number;
}

/** Builds every hostile file and returns the cases; `cleanup` closes what stays open (a socket). */
export async function hostileCases(s: CorpusSetup): Promise<{ cases: Case[]; otherBundle: { runId: number; model: string }; cleanup: () => Promise<void> }> {
  const { dir, ctx, file, folder, mlp, mlpBytes, goodData, cnn } = s;
  const at = (name: string): string => join(dir, name);
  const infer = (data: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model: mlp, data, ...extra });

  // One line longer than any data line may be, under every name a text reader takes.
  longLine(MAX_DATA_LINE + 2, ['long.csv', 'long.tsv', 'long.jsonl', 'long.txt', 'long-trace.tsv', 'long-trace.csv'].map(at));
  const wide = file('wide.csv', '1,'.repeat(MAX_CELLS) + '1\n');

  // Named pipes, a socket and a device, each named like something the studio reads.
  const pipeImages = folder('pipe-images');
  fifo(join(pipeImages, 'a.png'));
  fifo(at('pipe.npy'));
  fifo(at('pipe-labels.txt'));
  fifo(at('pipe.onnx'));
  fifo(at('pipe-trace.tsv'));
  fifo(at('pipe-out.tsv'));
  const pipeBundle = folder('pipe-bundle');
  fifo(join(pipeBundle, 'manifest.json'));
  const socket: Server = await socketFile(at('socket.npy'));
  symlinkSync('/dev/zero', at('zero.npy'));
  symlinkSync('/dev/zero', at('zero-labels.txt'));

  // Non-finite values.
  const nanData = file('nan.npy', npyMember([8, 4], NaN));
  const infCsv = file('inf.csv', '1,2,3,4\n1,inf,3,4\n');
  const infNpz = at('inf.npz');
  writeNpz(infNpz, { x: { dtype: 'float', shape: [8, 4], data: new Float32Array(32).fill(Infinity) } });
  const traceNpz = (name: string, arrays: Record<string, { dtype: 'float' | 'int32'; shape: number[]; data: ArrayLike<number> }>): string => {
    const p = at(name);
    writeNpz(p, arrays);
    return p;
  };
  const N = 6;
  const K = 3;
  const pred = { dtype: 'int32' as const, shape: [N, K], data: new Int32Array(N * K).fill(1) };
  const unit = (v: number, where = 4): { dtype: 'float'; shape: number[]; data: Float32Array } => {
    const d = new Float32Array(N * K).fill(0.5);
    d[where] = v;
    return { dtype: 'float', shape: [N, K], data: d };
  };
  const maxProb5 = traceNpz('maxprob5.npz', { pred, max_prob: unit(5), entropy: unit(0.5), margin: unit(0.5) });
  const entropyNeg = traceNpz('entropy-neg.npz', { pred, max_prob: unit(0.5), entropy: unit(-1), margin: unit(0.5) });
  const marginNan = traceNpz('margin-nan.npz', { pred, max_prob: unit(0.5), entropy: unit(0.5), margin: unit(NaN) });
  const partial = traceNpz('partial.npz', { pred, max_prob: unit(0.5) });
  const misshapen = traceNpz('misshapen.npz', { pred, max_prob: { dtype: 'float', shape: [N, K + 1], data: new Float32Array(N * (K + 1)) }, entropy: unit(0.5), margin: unit(0.5) });
  const labelsOut = traceNpz('labels-out.npz', { pred, labels: { dtype: 'int32', shape: [N], data: Int32Array.from({ length: N }, (_, i) => (i === 3 ? 7 : 0)) } });

  // Archives that lie. The header of an [8, 4] float32 array, then a gibibyte of zeros.
  const small = npyMember([8, 4], 0);
  const bomb = deflatedZeros(small, 1 << 30);
  const bombSmall = file('bomb.npz', rawZip([{ name: 'x.npy', data: bomb, deflated: true, declaredSize: small.length }]));
  const bombDeclared = file('bomb-declared.npz', rawZip([{ name: 'x.npy', data: bomb, deflated: true, declaredSize: small.length + (1 << 30) }]));
  const fake = file('fake.npz', Buffer.concat([Buffer.from('not a zip, but it ends like one '.repeat(20)), rawZip([], 65535).subarray(-22)]));
  const many = file('many.npz', manyMembers(100_000));
  const farMember = file('far.npz', rawZip([{ name: 'x.npy', data: small, localOffset: 1 << 30 }]));
  const bzip = (() => {
    const z = rawZip([{ name: 'x.npy', data: small }]);
    // Method 12 (bzip2) in the directory entry.
    z.writeUInt16LE(12, 30 + 'x.npy'.length + small.length + 10);
    return file('bzip.npz', z);
  })();
  // A Parquet page whose gzip stream holds 256 MiB of zeros past the page it declares.
  const parquetBomb = at('bomb.parquet');
  parquetWriteFile({
    filename: parquetBomb,
    columnData: ['e1', 'e2'].map((name) => ({ name, data: Int32Array.from({ length: 64 }, (_, i) => i % 3), type: 'INT32' as const })),
    codec: 'GZIP',
    compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(Buffer.concat([b, Buffer.alloc(256 << 20)]), { level: 1 })) },
  });
  const hugeHeader = (() => {
    const b = Buffer.alloc(64);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]).copy(b);
    b.writeUInt32LE(MAX_NPY_HEADER + 1, 8);
    return file('huge-header.npy', b);
  })();

  // Files that are no model, or models that reach out of their folder.
  const zeros = at('zeros.onnx');
  writeFileSync(zeros, '');
  truncateSync(zeros, Math.floor(1.9 * 2 ** 30));
  const tooBig = at('too-big.onnx');
  writeFileSync(tooBig, '');
  truncateSync(tooBig, 2.5 * 2 ** 30);
  const manyOutputs = writeTempModel(buildMlpMultiExit({ inputDim: 4, hidden: 4, classes: 3, exits: 3000, seed: 1 }), 'many-outputs.onnx');
  const external = (name: string, location: string, replace?: (dataPath: string) => void): string => {
    const d = folder(name);
    const m = saveWithExternalData(mlpBytes, { dir: d, name: 'model.onnx', location });
    replace?.(m.dataPath);
    return m.modelPath;
  };
  mkdirSync(at('outside'), { recursive: true });
  const extUp = external('outside/model', '../weights.bin');
  // The helper writes the side file under the model's folder; the absolute path gets a copy, so it exists.
  mkdirSync(join(dir, 'ext-abs', dir), { recursive: true });
  const extAbs = external('ext-abs', at('ext-abs-weights.bin'), (p) => copyFileSync(p, at('ext-abs-weights.bin')));
  // The side file replaced: a link to /dev/zero inside the folder, and a named pipe.
  const extZero = external('ext-zero', 'weights.bin', (p) => {
    rmSync(p);
    symlinkSync('/dev/zero', p);
  });
  const extPipe = external('ext-pipe', 'weights.bin', (p) => {
    rmSync(p);
    fifo(p);
  });

  // Text that would be echoed.
  const secret = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const deep = file('deep.jsonl', `{"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`);
  const secretJsonl = file('secret.jsonl', `${secret}\n`);
  const secretLabels = file('secret-labels.txt', `${secret}\n`);
  const secretCsv = file('secret.csv', `a,b,c,d\n1,2,3,${secret}\n`);
  const bigCell = file('big-cell.tsv', `e1\te2\n0\t${'7'.repeat(900_000)}x\n`);
  const labels9 = file('labels9.txt', '0\n1\n2\n9\n0\n1\n2\n0\n');

  // Outputs that exist already, and a run recorded from the mlp (so its model's hash is known).
  const recorded = (await invoke(ctx, 'trace.infer', { model: mlp, data: goodData, name: 'recorded' })) as { traceId: number };
  const recordedRun = ((await invoke(ctx, 'policy.run', { traceId: recorded.traceId, policies: ['last'], seeds: 1 })) as { runs: { runId: number }[] }).runs[0]!.runId;
  const otherModel = writeTempModel(buildMlpMultiExit({ inputDim: 4, hidden: 6, classes: 3, exits: 3, seed: 12 }), 'other-weights.onnx');
  const existingPolicy = file('existing-policy.json', 'an earlier policy file');
  const existingTrace = file('existing-trace.tsv', 'an earlier trace file');
  const existingBundle = folder('existing-bundle');
  writeFileSync(join(existingBundle, 'manifest.json'), '{"an": "earlier bundle"}');
  writeFileSync(join(existingBundle, 'stage_1.onnx'), 'earlier stage');
  const foreignFolder = folder('home-like');
  writeFileSync(join(foreignFolder, 'notes.txt'), 'my notes');
  const unchanged = (path: string, content: string) => (): void => {
    if (readFileSync(path, 'utf8') !== content) throw new Error(`${path} was changed`);
    const left = readdirSync(dir).filter((n) => /\.(tmp|old)$/.test(n));
    if (left.length) throw new Error(`temporary files left behind: ${left.join(', ')}`);
  };

  const cases: Case[] = [
    // Lines longer than any record, in every text reader
    { what: 'a CSV line of 64 MiB without a line break', command: 'trace.infer', payload: () => infer(at('long.csv')), file: () => at('long.csv'), says: /line 1 is longer than 64 MiB/ },
    { what: 'a TSV line of 64 MiB without a line break', command: 'trace.infer', payload: () => infer(at('long.tsv')), file: () => at('long.tsv'), says: /line 1 is longer than 64 MiB/ },
    { what: 'a JSONL line of 64 MiB without a line break', command: 'trace.infer', payload: () => infer(at('long.jsonl')), file: () => at('long.jsonl'), says: /line 1 is longer than 64 MiB/ },
    { what: 'a labels line of 64 MiB', command: 'trace.infer', payload: () => infer(goodData, { labels: at('long.txt') }), file: () => at('long.txt'), says: /line 1 is longer than 4 KiB/ },
    { what: 'a labels CSV column in a 64 MiB line', command: 'trace.infer', payload: () => infer(goodData, { labels: `${at('long.csv')}:label` }), file: () => at('long.csv'), says: /line 1 is longer than 64 MiB/ },
    { what: 'a trace matrix (.tsv) line of 64 MiB', command: 'trace.import', payload: () => ({ path: at('long-trace.tsv') }), file: () => at('long-trace.tsv'), says: /line 1 is longer than 1 MiB/ },
    { what: 'a trace matrix (.csv) line of 64 MiB', command: 'trace.import', payload: () => ({ path: at('long-trace.csv') }), file: () => at('long-trace.csv'), says: /line 1 is longer than 1 MiB/ },
    { what: 'a CSV row of more cells than any input takes', command: 'trace.infer', payload: () => infer(wide), file: () => wide, says: /line 1 has more than \d+ cells/ },
    { what: 'an .npy header claiming to be gigabytes long', command: 'trace.infer', payload: () => infer(hugeHeader), file: () => hugeHeader, says: /header says it is \d+ bytes long/ },
    // Only regular files
    { what: 'a named pipe called a.png in an image folder', command: 'trace.infer', payload: () => ({ model: cnn, data: pipeImages }), file: () => join(pipeImages, 'a.png'), says: /named pipe/ },
    { what: 'a named pipe as .npy data', command: 'trace.infer', payload: () => infer(at('pipe.npy')), file: () => at('pipe.npy'), says: /named pipe/ },
    { what: 'a named pipe as labels', command: 'trace.infer', payload: () => infer(goodData, { labels: at('pipe-labels.txt') }), file: () => at('pipe-labels.txt'), says: /named pipe/ },
    { what: 'a named pipe as the model', command: 'model.inspect', payload: () => ({ path: at('pipe.onnx') }), file: () => at('pipe.onnx'), says: /named pipe/ },
    { what: 'a named pipe as a trace to import', command: 'trace.import', payload: () => ({ path: at('pipe-trace.tsv') }), file: () => at('pipe-trace.tsv'), says: /named pipe/ },
    { what: 'a socket as .npy data', command: 'trace.infer', payload: () => infer(at('socket.npy')), file: () => at('socket.npy'), says: /socket/ },
    { what: '/dev/zero linked as .npy data', command: 'trace.infer', payload: () => infer(at('zero.npy')), file: () => at('zero.npy'), says: /character device/ },
    { what: '/dev/zero linked as labels', command: 'trace.infer', payload: () => infer(goodData, { labels: at('zero-labels.txt') }), file: () => at('zero-labels.txt'), says: /character device/ },
    { what: 'a bundle whose manifest is a named pipe', command: 'bundle.apply', payload: () => ({ dir: pipeBundle, data: goodData }), file: () => join(pipeBundle, 'manifest.json'), says: /named pipe/ },
    { what: 'a trace exported onto a named pipe', command: 'trace.export', payload: () => ({ id: s.keptTrace, out: at('pipe-out.tsv'), force: true }), file: () => at('pipe-out.tsv'), says: /named pipe/ },
    // Non-finite values
    { what: 'an all-NaN .npy', command: 'trace.infer', payload: () => infer(nanData), file: () => nanData, says: /sample 0, input "x": NaN is not a finite number/ },
    { what: 'NaN let through to a model that answers NaN: reported per exit', command: 'trace.infer', payload: () => infer(nanData, { allowNonFinite: true }), file: () => mlp, says: /exit "exit_0": 8 of 8 samples.*exit "exit_1": 8 of 8 samples.*exit "exit_2": 8 of 8 samples/ },
    { what: 'Inf in a CSV let through: the model\'s scores are reported', command: 'trace.infer', payload: () => infer(infCsv, { allowNonFinite: true }), file: () => mlp, says: /scores are NaN or infinite for samples 0–1/ },
    { what: 'Inf in an .npz', command: 'trace.infer', payload: () => infer(infNpz), file: () => infNpz, says: /Infinity is not a finite number/ },
    { what: 'an imported trace with max_prob 5', command: 'trace.import', payload: () => ({ path: maxProb5 }), file: () => maxProb5, says: /"max_prob" sample 1, exit 2 is 5/ },
    { what: 'an imported trace with entropy -1', command: 'trace.import', payload: () => ({ path: entropyNeg }), file: () => entropyNeg, says: /"entropy" sample 1, exit 2 is -1/ },
    { what: 'an imported trace with NaN margins', command: 'trace.import', payload: () => ({ path: marginNan }), file: () => marginNan, says: /"margin" sample 1, exit 2 is NaN/ },
    { what: 'an imported trace with max_prob but no entropy or margin', command: 'trace.import', payload: () => ({ path: partial }), file: () => partial, says: /confidence is all three arrays or none/ },
    { what: 'an imported trace whose arrays disagree in shape', command: 'trace.import', payload: () => ({ path: misshapen }), file: () => misshapen, says: /"max_prob" must be \[6, 3\]/ },
    { what: 'an imported trace with a label outside its classes', command: 'trace.import', payload: () => ({ path: labelsOut }), file: () => labelsOut, says: /"labels" value 3 is 7/ },
    // Archives that lie
    { what: 'an .npz member that inflates to a gibibyte past its declared size', command: 'trace.infer', payload: () => infer(bombSmall), file: () => bombSmall, says: /inflates to more than the \d+ bytes its entry declares/ },
    { what: 'an .npz member declaring a gibibyte for an [8, 4] header', command: 'trace.infer', payload: () => infer(bombDeclared), file: () => bombDeclared, says: /header says 8×4 float32 = 128 bytes/ },
    { what: 'a fake zip claiming 65,535 members', command: 'trace.infer', payload: () => infer(fake), file: () => fake, says: /claims 65535 members/ },
    { what: 'an archive of 100,000 members (a bounded message)', command: 'trace.import', payload: () => ({ path: many }), file: () => many, says: /claims 100000 members/ },
    { what: 'an .npz member said to lie past the end of the file', command: 'trace.infer', payload: () => infer(farMember), file: () => farMember, says: /lies outside the file/ },
    { what: 'a Parquet page that inflates past its declared size', command: 'trace.import', payload: () => ({ path: parquetBomb }), file: () => parquetBomb, says: /row group 1 cannot be decoded: a page inflates past the \d+ bytes its header declares/ },
    { what: 'an .npz member compressed with bzip2', command: 'trace.infer', payload: () => infer(bzip), file: () => bzip, says: /method 12/ },
    // Files that are no model, models that reach out of their folder
    { what: '1.9 GB of zeros named .onnx', command: 'model.inspect', payload: () => ({ path: zeros }), file: () => zeros, says: /byte 0 does not start a protobuf field/ },
    { what: 'a 2.5 GB .onnx', command: 'model.inspect', payload: () => ({ path: tooBig }), file: () => tooBig, says: /at most 2 GiB/ },
    { what: `a model with 3,000 exit-shaped outputs (at most ${MAX_EXITS} exits)`, command: 'model.inspect', payload: () => ({ path: manyOutputs }), file: () => manyOutputs, says: /has 3000 outputs shaped like class scores/ },
    { what: 'external data named ../weights.bin', command: 'model.inspect', payload: () => ({ path: extUp }), file: () => extUp, says: /'\.\.\/weights\.bin'.*lies outside the model's folder/ },
    { what: 'external data at an absolute path', command: 'model.inspect', payload: () => ({ path: extAbs }), file: () => extAbs, says: /lies outside the model's folder/ },
    { what: 'external data linked to /dev/zero', command: 'model.inspect', payload: () => ({ path: extZero }), file: () => extZero, says: /is a link to \/dev\/zero/ },
    { what: 'external data that is a named pipe', command: 'model.inspect', payload: () => ({ path: extPipe }), file: () => extPipe, says: /named pipe/ },
    { what: 'a path with a NUL character', command: 'trace.infer', payload: () => infer(`${goodData}\u0000.csv`), file: () => 'data', says: /NUL character/ },
    // Error texts that would echo a file
    { what: 'JSONL nested 100,000 deep', command: 'trace.infer', payload: () => infer(deep), file: () => deep, says: /nested more than 32 deep/ },
    { what: 'a JSONL line of secret text', command: 'trace.infer', payload: () => infer(secretJsonl), file: () => secretJsonl, says: /line 1 is not valid JSON/, secret: secret.slice(2) },
    { what: 'a secret file given as labels', command: 'trace.infer', payload: () => infer(goodData, { labels: secretLabels }), file: () => secretLabels, says: /line 1: not a number/, secret: 'SECRET' },
    { what: 'a CSV cell of secret text, quoted only in part', command: 'trace.infer', payload: () => infer(secretCsv), file: () => secretCsv, says: /line 2, column "d": "AWS_SECRET_ACCES"… is not a number/, secret: secret.slice(0, 17) },
    { what: 'a matrix cell of 900,000 characters', command: 'trace.import', payload: () => ({ path: bigCell }), file: () => bigCell, says: /"7777777777777777"… is not a class number/ },
    { what: 'labels outside the model\'s classes', command: 'trace.infer', payload: () => infer(goodData, { labels: labels9 }), file: () => labels9, says: /label 3 is 9, but the model has 3 classes/ },
    // Nothing that exists is replaced unless asked
    { what: 'a policy exported onto an existing file', command: 'run.exportFile', payload: () => ({ id: recordedRun, out: existingPolicy }), file: () => existingPolicy, says: /already (exists|holds)/, kind: 'conflict', code: 'exists', after: unchanged(existingPolicy, 'an earlier policy file') },
    { what: 'a trace exported onto an existing file', command: 'trace.export', payload: () => ({ id: recorded.traceId, out: existingTrace }), file: () => existingTrace, says: /already (exists|holds)/, kind: 'conflict', code: 'exists', after: unchanged(existingTrace, 'an earlier trace file') },
    { what: 'a bundle written into an existing bundle', command: 'run.bundle', payload: () => ({ runId: recordedRun, model: mlp, out: existingBundle }), file: () => existingBundle, says: /already (exists|holds)/, kind: 'conflict', code: 'exists', after: unchanged(join(existingBundle, 'manifest.json'), '{"an": "earlier bundle"}') },
    { what: 'a bundle forced into a folder of other files', command: 'run.bundle', payload: () => ({ runId: recordedRun, model: mlp, out: foreignFolder, force: true }), file: () => foreignFolder, says: /holds files that are not part of a bundle \("notes\.txt"\)/, after: unchanged(join(foreignFolder, 'notes.txt'), 'my notes') },
    { what: 'a bundle of a model other than the trace\'s', command: 'run.bundle', payload: () => ({ runId: recordedRun, model: otherModel, out: at('other-bundle') }), file: () => otherModel, says: /is not the model trace \d+ was recorded with/, after: () => { if (existsSync(at('other-bundle'))) throw new Error('a bundle was written'); } },
  ];
  // The refused bundle of another model, for the test that sees `force` lift the refusal.
  const otherBundle = { runId: recordedRun, model: otherModel };
  return { cases, otherBundle, cleanup: () => new Promise((ok) => socket.close(() => ok())) };
}
