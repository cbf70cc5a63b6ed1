// Latency of an ONNX model under ONNX Runtime (onnxruntime-node, CPU execution provider), measured as
// `joule bench` measures ours: a seeded random float32 input of the model's shape, warm-up runs,
// then timed runs; prints one JSON document {"median_ms", "runs", "threads", "shape"} on stdout.
//
//   node tests/bench/ort_bench.mjs MODEL [--threads N] [--runs R] [--warmup W] [--shape D0,D1,...]
//
// Free input dimensions are 1 unless --shape gives the input's shape. Exit codes: 0, 1 bad input (one
// line on stderr), 2 onnxruntime-node is not installed (tests/ort: packaging/install-deps.sh).
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'ort', 'package.json'));

function fail(message, code = 1) {
  process.stderr.write(`ort_bench: ${message}\n`);
  process.exit(code);
}

function parse(argv) {
  const a = { model: null, threads: 1, runs: 50, warmup: 5, shape: null };
  for (let i = 0; i < argv.length; i++) {
    const v = () => (i + 1 < argv.length ? argv[++i] : fail(`${argv[i]} needs a value`));
    const positive = (s, flag, min) => (/^\d+$/.test(s) && Number(s) >= min ? Number(s) : fail(`${flag} '${s}' is not an integer >= ${min}`));
    if (argv[i] === '--threads') a.threads = positive(v(), '--threads', 1);
    else if (argv[i] === '--runs') a.runs = positive(v(), '--runs', 1);
    else if (argv[i] === '--warmup') a.warmup = positive(v(), '--warmup', 0);
    else if (argv[i] === '--shape') a.shape = v().split(',').map((d) => positive(d, '--shape', 1));
    else if (argv[i].startsWith('-')) fail(`unknown option '${argv[i]}'`);
    else if (a.model === null) a.model = argv[i];
    else fail(`unexpected argument '${argv[i]}'`);
  }
  if (a.model === null) fail('no MODEL given');
  return a;
}

// Mulberry32: a small seeded generator; Box-Muller for standard normal values.
function normals(n, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  return out;
}

const args = parse(process.argv.slice(2));
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  fail(`onnxruntime-node is not installed (${e.message})`, 2);
}
let session;
try {
  session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
} catch (e) {
  fail(`${args.model}: ${e.message}`);
}
const name = session.inputNames[0];
const meta = session.inputMetadata ? session.inputMetadata[0] : null;
let shape = args.shape;
if (!shape) {
  const dims = meta && meta.shape ? meta.shape : null;
  if (!dims) fail(`${args.model}: the input's shape is unknown here; give --shape`);
  shape = dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
}
const count = shape.reduce((x, y) => x * y, 1);
const feeds = { [name]: new ort.Tensor('float32', normals(count, 1), shape) };
for (let i = 0; i < args.warmup; i++) await session.run(feeds);
const times = [];
for (let i = 0; i < args.runs; i++) {
  const t0 = performance.now();
  await session.run(feeds);
  times.push(performance.now() - t0);
}
times.sort((x, y) => x - y);
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
process.stdout.write(JSON.stringify({ median_ms: median, runs: args.runs, threads: args.threads, shape }) + '\n');
