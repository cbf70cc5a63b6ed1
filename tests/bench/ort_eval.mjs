// Fashion-MNIST evaluation throughput of an ONNX classifier under ONNX Runtime (onnxruntime-node, CPU
// execution provider), measured as `joule eval` measures ours: the test set in batches, each batch
// normalised from its bytes ((pixel * scale - mean) / std) and run, the top-1 class compared with the
// label. The clock runs from the first batch to the last (reading the files is not timed). Prints one
// JSON document {"images_per_s", "seconds", "accuracy", "samples", "batch", "threads", "mode"}.
//
//   node tests/bench/ort_eval.mjs MODEL --images IDX.gz --labels IDX.gz [--batch 64] [--threads 2]
//                                 [--mode intra|sessions] [--scale S] [--mean M] [--std D]
//
// --mode intra: one session with --threads intra-op threads runs the batches one after another.
// --mode sessions: --threads sessions of one intra-op thread each run batches concurrently (as
// `joule eval --threads N` does with its N workers). Exit codes: 0, 1 bad input (one line on stderr),
// 2 onnxruntime-node is not installed.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'ort', 'package.json'));

function fail(message, code = 1) {
  process.stderr.write(`ort_eval: ${message}\n`);
  process.exit(code);
}

function parse(argv) {
  const a = { model: null, images: null, labels: null, batch: 64, threads: 2, mode: 'intra', scale: 1 / 255, mean: 0, std: 1 };
  for (let i = 0; i < argv.length; i++) {
    const v = () => (i + 1 < argv.length ? argv[++i] : fail(`${argv[i]} needs a value`));
    const positive = (s, flag) => (/^\d+$/.test(s) && Number(s) >= 1 ? Number(s) : fail(`${flag} '${s}' is not an integer >= 1`));
    const number = (s, flag) => (Number.isFinite(Number(s)) ? Number(s) : fail(`${flag} '${s}' is not a number`));
    if (argv[i] === '--images') a.images = v();
    else if (argv[i] === '--labels') a.labels = v();
    else if (argv[i] === '--batch') a.batch = positive(v(), '--batch');
    else if (argv[i] === '--threads') a.threads = positive(v(), '--threads');
    else if (argv[i] === '--mode') a.mode = ['intra', 'sessions'].includes(v()) ? argv[i] : fail(`--mode '${argv[i]}' is not intra or sessions`);
    else if (argv[i] === '--scale') a.scale = number(v(), '--scale');
    else if (argv[i] === '--mean') a.mean = number(v(), '--mean');
    else if (argv[i] === '--std') a.std = number(v(), '--std');
    else if (argv[i].startsWith('-')) fail(`unknown option '${argv[i]}'`);
    else if (a.model === null) a.model = argv[i];
    else fail(`unexpected argument '${argv[i]}'`);
  }
  if (a.model === null || a.images === null || a.labels === null) fail('needs MODEL, --images and --labels');
  if (!(a.std > 0)) fail(`--std ${a.std} must be > 0`);
  return a;
}

// An IDX file (gzip or not): its dimensions and its bytes.
function readIdx(file) {
  let bytes;
  try {
    bytes = fs.readFileSync(file);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) fail(`${file}: not an IDX file of unsigned bytes`);
  const rank = bytes[3];
  const dims = [];
  for (let d = 0; d < rank; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const data = bytes.subarray(4 + 4 * rank);
  if (data.length !== dims.reduce((x, y) => x * y, 1)) fail(`${file}: ${data.length} bytes for dimensions ${dims.join('x')}`);
  return { dims, data };
}

const args = parse(process.argv.slice(2));
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  fail(`onnxruntime-node is not installed (${e.message})`, 2);
}
const images = readIdx(args.images);
const labels = readIdx(args.labels);
const total = images.dims[0];
if (labels.dims[0] !== total) fail(`${args.images} has ${total} images but ${args.labels} ${labels.dims[0]} labels`);
const pixels = images.dims.slice(1).reduce((x, y) => x * y, 1);

const sessions = [];
const count = args.mode === 'intra' ? 1 : args.threads;
for (let s = 0; s < count; s++) {
  try {
    sessions.push(await ort.InferenceSession.create(args.model, {
      intraOpNumThreads: args.mode === 'intra' ? args.threads : 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    }));
  } catch (e) {
    fail(`${args.model}: ${e.message}`);
  }
}
const inputName = sessions[0].inputNames[0];
const outputName = sessions[0].outputNames[0];

function batchTensor(begin, n) {
  const x = new Float32Array(n * pixels);
  const src = images.data.subarray(begin * pixels, (begin + n) * pixels);
  const k = args.scale / args.std, c = args.mean / args.std;
  for (let i = 0; i < x.length; i++) x[i] = src[i] * k - c;
  return new ort.Tensor('float32', x, [n, 1, images.dims[1], images.dims[2]]);
}

function countCorrect(out, begin, n) {
  const classes = out.dims[out.dims.length - 1];
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (out.data[i * classes + c] > out.data[i * classes + best]) best = c;
    if (best === labels.data[begin + i]) correct++;
  }
  return correct;
}

// Warm-up: one batch per session, untimed.
for (const s of sessions) await s.run({ [inputName]: batchTensor(0, Math.min(args.batch, total)) });

let next = 0;
let correct = 0;
async function worker(session) {
  for (;;) {
    const begin = next;
    if (begin >= total) return;
    next += args.batch;
    const n = Math.min(args.batch, total - begin);
    const out = await session.run({ [inputName]: batchTensor(begin, n) });
    correct += countCorrect(out[outputName], begin, n);
  }
}
const t0 = performance.now();
await Promise.all(sessions.map(worker));
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({
  images_per_s: total / seconds, seconds, accuracy: correct / total, samples: total, batch: args.batch,
  threads: args.threads, mode: args.mode,
}) + '\n');
