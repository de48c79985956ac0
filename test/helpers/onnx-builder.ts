/**
 * Builds small but real ONNX models in memory (onnx-proto), so tests run real
 * onnxruntime sessions without checked-in binaries. Weights come from a seeded
 * PRNG: the same options always give the same bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proto, type onnx } from '../../src/model/proto.js';

export { proto };
type Attr = number | number[] | string | Float32Array;

const FLOAT = proto.TensorProto.DataType.FLOAT;
const INT64 = proto.TensorProto.DataType.INT64;

/** mulberry32: tiny, seedable, good enough for weights. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform weights in [-scale, scale]; scale ~ 1/sqrt(fanIn) keeps activations bounded. */
export function randomFloats(rand: () => number, count: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`floatTensor ${name}: ${values.length} values for dims [${dims}]`);
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return { name, dims, dataType: FLOAT, rawData: raw };
}

export function int64Tensor(name: string, values: number[]): onnx.ITensorProto {
  return { name, dims: [values.length], dataType: INT64, int64Data: values };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}, name?: string): onnx.INodeProto {
  const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([key, v]) => {
    const T = proto.AttributeProto.AttributeType;
    if (typeof v === 'string') return { name: key, type: T.STRING, s: new TextEncoder().encode(v) };
    if (Array.isArray(v)) return { name: key, type: T.INTS, ints: v };
    if (v instanceof Float32Array) return { name: key, type: T.FLOATS, floats: Array.from(v) };
    return Number.isInteger(v) ? { name: key, type: T.INT, i: v } : { name: key, type: T.FLOAT, f: v };
  });
  return { opType, input: inputs, output: outputs, attribute, name: name ?? `${opType}_${outputs[0]}` };
}

/** A tensor value: dims are numbers (fixed), strings (symbolic) or null (unknown); shape null = no shape at all. */
export function valueInfo(name: string, shape: (number | string | null)[] | null, elemType: number = FLOAT): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (shape) tensorType.shape = { dim: shape.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

export interface GraphParts {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  valueInfo?: onnx.IValueInfoProto[];
  opset?: number;
  producer?: string;
}

export function makeModel(parts: GraphParts): Uint8Array {
  const model = proto.ModelProto.create({
    irVersion: 7,
    producerName: parts.producer ?? 'onnx-builder',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: parts.opset ?? 13 }],
    graph: {
      name: 'g',
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
      valueInfo: parts.valueInfo ?? [],
    },
  });
  return proto.ModelProto.encode(model).finish();
}

interface ExitOpts {
  classes: number;
  exits: number;
  seed?: number;
  /** Exit indices (block order) whose head ends in Softmax: their outputs are probabilities. */
  softmaxOnExit?: number[];
  /** Order in which exits are declared as graph outputs, as a permutation of block indices. */
  declareOrder?: number[];
  /** Symbolic `batch` (default) or a fixed batch of 1. */
  dynamicBatch?: boolean;
  /** Declare outputs without any shape, so shapes must come from the graph itself. */
  omitOutputShapes?: boolean;
}

export interface MlpOpts extends ExitOpts {
  inputDim: number;
  hidden: number;
  /** Also declare `embedding` [batch, hidden] (the last hidden state) and `score` [batch, 1]: neither is an exit. */
  extraOutputs?: boolean;
}

function checkExitOpts(o: ExitOpts): { batch: number | string; declare: number[]; softmax: Set<number>; rand: () => number } {
  const declare = o.declareOrder ?? Array.from({ length: o.exits }, (_, i) => i);
  if ([...declare].sort((a, b) => a - b).join() !== Array.from({ length: o.exits }, (_, i) => i).join()) {
    throw new Error(`declareOrder ${declare} is not a permutation of 0..${o.exits - 1}`);
  }
  return { batch: o.dynamicBatch === false ? 1 : 'batch', declare, softmax: new Set(o.softmaxOnExit ?? []), rand: prng(o.seed ?? 1) };
}

/** Adds head output `exit_k` from `logitsIn`, ending in Softmax when asked. */
function finishHead(nodes: onnx.INodeProto[], k: number, logits: string, softmax: Set<number>): void {
  if (softmax.has(k)) nodes.push(node('Softmax', [logits], [`exit_${k}`], { axis: 1 }));
  else nodes.push(node('Identity', [logits], [`exit_${k}`]));
}

/**
 * MLP with K blocks; block k is Gemm+Relu (even k) or MatMul+Add+Relu (odd k), and head k is a Gemm
 * on block k's output. MACs of exit k (batch 1): inputDim*hidden + k*hidden*hidden + hidden*classes.
 */
export function buildMlpMultiExit(o: MlpOpts): Uint8Array {
  const { batch, declare, softmax, rand } = checkExitOpts(o);
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let h = 'x';
  let width = o.inputDim;
  for (let k = 0; k < o.exits; k++) {
    const scale = 1 / Math.sqrt(width);
    if (k % 2 === 0) {
      inits.push(floatTensor(`w${k}`, [o.hidden, width], randomFloats(rand, o.hidden * width, scale)));
      inits.push(floatTensor(`b${k}`, [o.hidden], randomFloats(rand, o.hidden, scale)));
      nodes.push(node('Gemm', [h, `w${k}`, `b${k}`], [`pre${k}`], { transB: 1 }));
    } else {
      inits.push(floatTensor(`w${k}`, [width, o.hidden], randomFloats(rand, o.hidden * width, scale)));
      inits.push(floatTensor(`b${k}`, [o.hidden], randomFloats(rand, o.hidden, scale)));
      nodes.push(node('MatMul', [h, `w${k}`], [`mm${k}`]));
      nodes.push(node('Add', [`mm${k}`, `b${k}`], [`pre${k}`]));
    }
    nodes.push(node('Relu', [`pre${k}`], [`h${k}`]));
    h = `h${k}`;
    width = o.hidden;
    const hs = 1 / Math.sqrt(o.hidden);
    inits.push(floatTensor(`hw${k}`, [o.classes, o.hidden], randomFloats(rand, o.classes * o.hidden, hs * 4)));
    inits.push(floatTensor(`hb${k}`, [o.classes], randomFloats(rand, o.classes, hs)));
    nodes.push(node('Gemm', [h, `hw${k}`, `hb${k}`], [`logits${k}`], { transB: 1 }));
    finishHead(nodes, k, `logits${k}`, softmax);
  }
  const shape = (c: number): (number | string)[] | null => (o.omitOutputShapes ? null : [batch, c]);
  const outputs = declare.map((k) => valueInfo(`exit_${k}`, shape(o.classes)));
  if (o.extraOutputs) {
    nodes.push(node('Identity', [h], ['embedding']));
    inits.push(floatTensor('sw', [1, o.hidden], randomFloats(rand, o.hidden, 0.1)));
    nodes.push(node('Gemm', ['h0', 'sw'], ['score'], { transB: 1 }));
    outputs.splice(1, 0, valueInfo('embedding', shape(o.hidden)));
    outputs.push(valueInfo('score', shape(1)));
  }
  return makeModel({ nodes, initializers: inits, inputs: [valueInfo('x', [batch, o.inputDim])], outputs });
}

export interface CnnOpts extends ExitOpts {
  /** Input is [batch, inChannels, size, size]; defaults 1 and 8. */
  inChannels?: number;
  size?: number;
  /** Channels of every conv block; default 4. */
  channels?: number;
}

/**
 * CNN with K blocks of Conv(3x3, pad 1; stride 1 for block 0, then 2)+Relu; head k is
 * GlobalAveragePool → Flatten → Gemm. Exit k's MACs are the convs up to k plus its Gemm
 * (pooling counts 0): see cnnExitMacs.
 */
export function buildCnnMultiExit(o: CnnOpts): Uint8Array {
  const { batch, declare, softmax, rand } = checkExitOpts(o);
  const inC = o.inChannels ?? 1;
  const size = o.size ?? 8;
  const ch = o.channels ?? 4;
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let h = 'x';
  let cin = inC;
  for (let k = 0; k < o.exits; k++) {
    const scale = 1 / Math.sqrt(cin * 9);
    inits.push(floatTensor(`cw${k}`, [ch, cin, 3, 3], randomFloats(rand, ch * cin * 9, scale)));
    inits.push(floatTensor(`cb${k}`, [ch], randomFloats(rand, ch, scale)));
    const stride = k === 0 ? 1 : 2;
    nodes.push(node('Conv', [h, `cw${k}`, `cb${k}`], [`conv${k}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [stride, stride] }));
    nodes.push(node('Relu', [`conv${k}`], [`h${k}`]));
    h = `h${k}`;
    cin = ch;
    nodes.push(node('GlobalAveragePool', [h], [`gap${k}`]));
    nodes.push(node('Flatten', [`gap${k}`], [`flat${k}`], { axis: 1 }));
    inits.push(floatTensor(`hw${k}`, [o.classes, ch], randomFloats(rand, o.classes * ch, 2)));
    inits.push(floatTensor(`hb${k}`, [o.classes], randomFloats(rand, o.classes, 0.5)));
    nodes.push(node('Gemm', [`flat${k}`, `hw${k}`, `hb${k}`], [`logits${k}`], { transB: 1 }));
    finishHead(nodes, k, `logits${k}`, softmax);
  }
  const outputs = declare.map((k) => valueInfo(`exit_${k}`, o.omitOutputShapes ? null : [batch, o.classes]));
  return makeModel({ nodes, initializers: inits, inputs: [valueInfo('x', [batch, inC, size, size])], outputs });
}

/** Hand-computed MACs (batch 1) of each exit of buildCnnMultiExit, for tests to compare against. */
export function cnnExitMacs(o: Pick<CnnOpts, 'exits' | 'classes' | 'inChannels' | 'size' | 'channels'>): number[] {
  const inC = o.inChannels ?? 1;
  let size = o.size ?? 8;
  const ch = o.channels ?? 4;
  const out: number[] = [];
  let convs = 0;
  for (let k = 0; k < o.exits; k++) {
    if (k > 0) size = Math.floor((size + 2 - 3) / 2) + 1;
    convs += ch * size * size * (k === 0 ? inC : ch) * 9;
    out.push(convs + ch * o.classes);
  }
  return out;
}

/** Hand-computed MACs (batch 1) of each exit of buildMlpMultiExit. */
export function mlpExitMacs(o: Pick<MlpOpts, 'exits' | 'inputDim' | 'hidden' | 'classes'>): number[] {
  return Array.from({ length: o.exits }, (_, k) => o.inputDim * o.hidden + k * o.hidden * o.hidden + o.hidden * o.classes);
}

/** One Gemm classifier: output `logits` [batch, classes]. */
export function buildSingleExit(o: { inputDim?: number; classes?: number; seed?: number } = {}): Uint8Array {
  const d = o.inputDim ?? 4;
  const c = o.classes ?? 3;
  const rand = prng(o.seed ?? 1);
  return makeModel({
    nodes: [node('Gemm', ['x', 'w', 'b'], ['logits'], { transB: 1 })],
    initializers: [floatTensor('w', [c, d], randomFloats(rand, c * d, 1)), floatTensor('b', [c], randomFloats(rand, c, 1))],
    inputs: [valueInfo('x', ['batch', d])],
    outputs: [valueInfo('logits', ['batch', c])],
  });
}

const tempDirs: string[] = [];

/** A fresh folder under the OS temp dir, removed by cleanupTempModels(). */
export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'exit-studio-model-'));
  tempDirs.push(dir);
  return dir;
}

/** Writes bytes to `<fresh temp dir>/<name>` and returns the path. */
export function writeTempModel(bytes: Uint8Array, name = 'model.onnx'): string {
  const path = join(makeTempDir(), name);
  writeFileSync(path, bytes);
  return path;
}

/** Removes every folder made by makeTempDir/writeTempModel/saveWithExternalData. */
export function cleanupTempModels(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Moves every initializer's raw data into one side file (data_location = EXTERNAL, with
 * location/offset/length entries) and writes model + side file into `dir` (default: a fresh
 * temp dir). `location` may include a subfolder, relative to the model file.
 */
export function saveWithExternalData(
  bytes: Uint8Array,
  opts: { dir?: string; name?: string; location?: string } = {},
): { modelPath: string; dataPath: string; dir: string } {
  const dir = opts.dir ?? makeTempDir();
  const name = opts.name ?? 'model.onnx';
  const location = opts.location ?? `${name}.data`;
  const model = proto.ModelProto.decode(bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    if (!t.rawData || t.rawData.length === 0) continue;
    // ORT reads external data at any offset, but aligned offsets mirror what onnx's Python saver does.
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    const len = t.rawData.length;
    chunks.push(t.rawData);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(len) },
    ];
    t.dataLocation = proto.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    offset += len;
  }
  const modelPath = join(dir, name);
  const dataPath = join(dir, location);
  writeFileSync(modelPath, proto.ModelProto.encode(model).finish());
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  writeFileSync(dataPath, data);
  return { modelPath, dataPath, dir };
}
