// Runs an ONNX model with ONNX Runtime (onnxruntime-node), with the same contract as `joule run`:
//
//   node ort_run.mjs MODEL --input NAME=FILE.npy ... --output-dir DIR [--threads N] [--timing]
//   node ort_run.mjs MODEL --list-inputs
//
// Writes each output to DIR/<output name>.npy. --timing prints one line with session-creation and
// run wall times to stderr. --list-inputs prints the model's inputs as JSON on stdout.
// Exit codes: 0 success, 1 bad input (one-line reason on stderr), 2 onnxruntime-node is not installed.
// Set ORT_RUN_DEBUG=1 to get the stack trace of an error as well.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readNpy, writeNpyAtomic } from './npy.mjs';

const USAGE =
  'usage: node ort_run.mjs MODEL --input NAME=FILE.npy ... --output-dir DIR [--threads N] [--timing]\n' +
  '       node ort_run.mjs MODEL --list-inputs';

class UserError extends Error {}

function parseArgs(argv) {
  const args = { model: null, inputs: [], outputDir: null, threads: 0, timing: false, listInputs: false };
  const value = (i, flag) => {
    if (i + 1 >= argv.length) throw new UserError(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (a === '--input') {
      const spec = value(i++, a);
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) throw new UserError(`--input '${spec}' is not NAME=FILE.npy`);
      args.inputs.push({ name: spec.slice(0, eq), file: spec.slice(eq + 1) });
    } else if (a === '--output-dir') {
      args.outputDir = value(i++, a);
    } else if (a === '--threads') {
      const t = value(i++, a);
      if (!/^\d+$/.test(t) || Number(t) < 1) throw new UserError(`--threads '${t}' is not a positive integer`);
      args.threads = Number(t);
    } else if (a === '--timing') {
      args.timing = true;
    } else if (a === '--list-inputs') {
      args.listInputs = true;
    } else if (a.startsWith('-')) {
      throw new UserError(`unknown option '${a}'`);
    } else if (args.model === null) {
      args.model = a;
    } else {
      throw new UserError(`unexpected argument '${a}' (the model is already '${args.model}')`);
    }
  }
  if (args.model === null) throw new UserError('no MODEL given');
  if (!args.listInputs && args.outputDir === null) throw new UserError('--output-dir DIR is required');
  const seen = new Set();
  for (const { name } of args.inputs) {
    if (seen.has(name)) throw new UserError(`input '${name}' is given twice`);
    seen.add(name);
  }
  return args;
}

async function loadOrt() {
  try {
    return (await import('onnxruntime-node')).default;
  } catch (e) {
    const err = new Error(
      `onnxruntime-node is not installed next to ${path.basename(import.meta.url)} ` +
        `(run 'npm install --ignore-scripts' in ${path.dirname(new URL(import.meta.url).pathname)}): ${e.message.split('\n')[0]}`,
    );
    err.exitCode = 2;
    throw err;
  }
}

function describeInputs(session) {
  return session.inputMetadata.map((m) => (m.isTensor ? { name: m.name, dtype: m.type, shape: m.shape } : { name: m.name }));
}

function checkInputAgainstModel(meta, tensor, file) {
  if (!meta.isTensor) throw new UserError(`input '${meta.name}' of the model is not a tensor`);
  if (meta.type !== tensor.dtype) {
    throw new UserError(`input '${meta.name}': ${file} holds ${tensor.dtype}, the model expects ${meta.type}`);
  }
  if (meta.shape.length > 0) {
    const bad =
      meta.shape.length !== tensor.shape.length ||
      meta.shape.some((d, k) => typeof d === 'number' && d >= 0 && d !== tensor.shape[k]);
    if (bad) {
      throw new UserError(
        `input '${meta.name}': ${file} has shape [${tensor.shape.join(', ')}], the model expects [${meta.shape.join(', ')}]`,
      );
    }
  }
}

function buildFeeds(ort, session, inputs) {
  const byName = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const feeds = {};
  for (const { name, file } of inputs) {
    const meta = byName.get(name);
    if (!meta) throw new UserError(`the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    let tensor;
    try {
      tensor = readNpy(file);
    } catch (e) {
      throw new UserError(e.message);
    }
    checkInputAgainstModel(meta, tensor, file);
    feeds[name] = new ort.Tensor(tensor.dtype, tensor.data, tensor.shape);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) throw new UserError(`no --input given for model input(s) ${missing.join(', ')}`);
  return feeds;
}

function outputPath(dir, name) {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new UserError(`output name '${name}' cannot be used as a file name in ${dir}`);
  }
  return path.join(dir, `${name}.npy`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) throw new UserError(`${args.model}: no such file`);
  const ort = await loadOrt();
  const options = { graphOptimizationLevel: 'all', interOpNumThreads: 1 };
  if (args.threads > 0) options.intraOpNumThreads = args.threads;
  const t0 = performance.now();
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, options);
  } catch (e) {
    throw new UserError(`${args.model}: ONNX Runtime cannot load the model: ${e.message.split('\n')[0]}`);
  }
  const t1 = performance.now();
  if (args.listInputs) {
    process.stdout.write(JSON.stringify(describeInputs(session)) + '\n');
    return;
  }
  const feeds = buildFeeds(ort, session, args.inputs);
  const t2 = performance.now();
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    throw new UserError(`${args.model}: ONNX Runtime failed to run: ${e.message.split('\n')[0]}`);
  }
  const t3 = performance.now();
  fs.mkdirSync(args.outputDir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    writeNpyAtomic(outputPath(args.outputDir, name), t.type, t.dims, t.data);
  }
  if (args.timing) {
    process.stderr.write(
      `ort_run: ${path.basename(args.model)} create_ms=${(t1 - t0).toFixed(1)} run_ms=${(t3 - t2).toFixed(1)} ` +
        `threads=${args.threads || 'default'}\n`,
    );
  }
}

main().catch((e) => {
  const line = (e.message || String(e)).split('\n')[0];
  process.stderr.write(`ort_run: ${line}\n`);
  if (process.env.ORT_RUN_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(e.exitCode ?? 1);
});
