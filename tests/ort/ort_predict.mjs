// Classifies a batch of preprocessed inputs with ONNX Runtime (onnxruntime-node): the top-1 class of
// the model's first output for every sample.
//
//   node ort_predict.mjs MODEL --images X.npy --output PRED.npy [--scores SCORES.npy] [--threads N]
//
// X.npy is float32 [N, ...sample shape]. The model's first input takes one sample with a batch
// dimension of 1 (or a free batch dimension; samples are then run in batches of 100). PRED.npy is
// int64 [N]; SCORES.npy, when asked for, the first output's values as float32 [N, classes].
// Exit codes: 0 success, 1 bad input (one-line reason on stderr), 2 onnxruntime-node missing.
import fs from 'node:fs';
import path from 'node:path';
import { readNpy, writeNpyAtomic } from './npy.mjs';

class UserError extends Error {}

function parseArgs(argv) {
  const args = { model: null, images: null, output: null, scores: null, threads: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UserError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node ort_predict.mjs MODEL --images X.npy --output PRED.npy [--scores SCORES.npy] [--threads N]\n');
      process.exit(0);
    } else if (a === '--images') args.images = value();
    else if (a === '--output') args.output = value();
    else if (a === '--scores') args.scores = value();
    else if (a === '--threads') args.threads = Number(value());
    else if (a.startsWith('-')) throw new UserError(`unknown option '${a}'`);
    else if (args.model === null) args.model = a;
    else throw new UserError(`unexpected argument '${a}'`);
  }
  if (!args.model || !args.images || !args.output) throw new UserError('MODEL, --images and --output are required');
  if (!Number.isInteger(args.threads) || args.threads < 1) throw new UserError('--threads must be a positive integer');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) throw new UserError(`${args.model}: no such file`);
  let ort;
  try {
    ort = (await import('onnxruntime-node')).default;
  } catch (e) {
    const err = new Error(`onnxruntime-node is not installed next to ort_predict.mjs (npm install --ignore-scripts in ${path.dirname(new URL(import.meta.url).pathname)})`);
    err.exitCode = 2;
    throw err;
  }
  let x;
  try {
    x = readNpy(args.images);
  } catch (e) {
    throw new UserError(e.message);
  }
  if (x.dtype !== 'float32' || x.shape.length < 2) throw new UserError(`${args.images}: expected float32 [N, ...], got ${x.dtype} [${x.shape}]`);
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, {
      graphOptimizationLevel: 'all', intraOpNumThreads: args.threads, interOpNumThreads: 1,
    });
  } catch (e) {
    throw new UserError(`${args.model}: ONNX Runtime cannot load the model: ${e.message.split('\n')[0]}`);
  }
  const meta = session.inputMetadata[0];
  const freeBatch = meta.isTensor && meta.shape.length > 0 && typeof meta.shape[0] !== 'number';
  const n = x.shape[0];
  const sample = x.shape.slice(1);
  const per = sample.reduce((a, b) => a * b, 1);
  const batch = freeBatch ? 100 : 1;
  const preds = new BigInt64Array(n);
  let allScores = null;
  let classes = 0;
  for (let b = 0; b < n; b += batch) {
    const count = Math.min(batch, n - b);
    const feed = new ort.Tensor('float32', x.data.subarray(b * per, (b + count) * per), [count, ...sample]);
    let out;
    try {
      out = await session.run({ [session.inputNames[0]]: feed });
    } catch (e) {
      throw new UserError(`${args.model}: ONNX Runtime failed on sample ${b}: ${e.message.split('\n')[0]}`);
    }
    const scores = out[session.outputNames[0]];
    classes = scores.dims[scores.dims.length - 1];
    if (args.scores) {
      if (allScores === null) allScores = new Float32Array(n * classes);
      allScores.set(scores.data.subarray(0, count * classes), b * classes);
    }
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores.data[i * classes + c] > scores.data[i * classes + best]) best = c;
      preds[b + i] = BigInt(best);
    }
  }
  writeNpyAtomic(args.output, 'int64', [n], preds);
  if (args.scores) writeNpyAtomic(args.scores, 'float32', [n, classes], allScores);
}

main().catch((e) => {
  process.stderr.write(`ort_predict: ${(e.message || String(e)).split('\n')[0]}\n`);
  process.exit(e.exitCode ?? 1);
});
