// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order.
//
//   const t = readNpy('x.npy');            // { dtype: 'float32', shape: [1, 3], data: Float32Array }
//   writeNpyAtomic('y.npy', 'int64', [2], BigInt64Array.of(1n, 2n));
//
// dtype names are ONNX Runtime's tensor type names; every function throws an Error whose message
// names the file and the field at fault.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// NumPy descr (without byte-order mark) <-> tensor type and its typed array.
const DTYPES = [
  { descr: 'f4', dtype: 'float32', array: Float32Array },
  { descr: 'f8', dtype: 'float64', array: Float64Array },
  { descr: 'i1', dtype: 'int8', array: Int8Array },
  { descr: 'u1', dtype: 'uint8', array: Uint8Array },
  { descr: 'i2', dtype: 'int16', array: Int16Array },
  { descr: 'u2', dtype: 'uint16', array: Uint16Array },
  { descr: 'i4', dtype: 'int32', array: Int32Array },
  { descr: 'u4', dtype: 'uint32', array: Uint32Array },
  { descr: 'i8', dtype: 'int64', array: BigInt64Array },
  { descr: 'u8', dtype: 'uint64', array: BigUint64Array },
  { descr: 'b1', dtype: 'bool', array: Uint8Array },
];

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

if (os.endianness() !== 'LE') {
  throw new Error('npy.mjs supports little-endian hosts only');
}

export function supportedDtypes() {
  return DTYPES.map((d) => d.dtype);
}

function headerField(header, key, file) {
  const m = header.match(new RegExp(`['"]${key}['"]\\s*:\\s*`));
  if (!m) throw new Error(`${file}: npy header has no '${key}' field`);
  return header.slice(m.index + m[0].length);
}

function parseDescr(header, file) {
  const m = headerField(header, 'descr', file).match(/^['"]([<>|=]?)([a-zA-Z]\d*)['"]/);
  if (!m) throw new Error(`${file}: npy header field 'descr' is not a simple type string`);
  const [, order, code] = m;
  const entry = DTYPES.find((d) => d.descr === code);
  if (!entry) {
    throw new Error(`${file}: npy dtype '${order}${code}' is not supported (supported: ${supportedDtypes().join(', ')})`);
  }
  const itemSize = entry.array.BYTES_PER_ELEMENT;
  if (order === '>' && itemSize > 1) throw new Error(`${file}: npy dtype '${order}${code}' is big-endian; only little-endian is supported`);
  return entry;
}

function parseFortranOrder(header, file) {
  const m = headerField(header, 'fortran_order', file).match(/^(True|False)/);
  if (!m) throw new Error(`${file}: npy header field 'fortran_order' is not True or False`);
  return m[1] === 'True';
}

function parseShape(header, file) {
  const m = headerField(header, 'shape', file).match(/^\(([^)]*)\)/);
  if (!m) throw new Error(`${file}: npy header field 'shape' is not a tuple`);
  const parts = m[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return parts.map((p) => {
    if (!/^\d+L?$/.test(p)) throw new Error(`${file}: npy header field 'shape' has a bad dimension '${p}'`);
    return Number.parseInt(p, 10);
  });
}

export function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${e.code || e.message})`);
  }
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not an .npy file (bad magic)`);
  const major = buf[6];
  let headerLen;
  let headerStart;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${file}: truncated npy header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new Error(`${file}: npy format version ${major}.${buf[7]} is not supported`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) throw new Error(`${file}: truncated npy header (needs ${dataStart} bytes, file has ${buf.length})`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const entry = parseDescr(header, file);
  if (parseFortranOrder(header, file)) throw new Error(`${file}: npy data is in Fortran order; only C order is supported`);
  const shape = parseShape(header, file);
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = count * entry.array.BYTES_PER_ELEMENT;
  const available = buf.length - dataStart;
  if (available !== bytes) {
    throw new Error(`${file}: npy data has ${available} bytes, shape [${shape.join(', ')}] of ${entry.dtype} needs ${bytes}`);
  }
  // Copy into a fresh, aligned ArrayBuffer.
  const data = new entry.array(buf.buffer.slice(buf.byteOffset + dataStart, buf.byteOffset + dataStart + bytes));
  return { dtype: entry.dtype, shape, data };
}

function encodeHeader(descr, shape) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // magic(6) + version(2) + length(2) + dict + padding + '\n' is a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

// Writes to a temporary file in the same folder, then renames it over `file`.
export function writeNpyAtomic(file, dtype, shape, data) {
  const entry = DTYPES.find((d) => d.dtype === dtype);
  if (!entry) throw new Error(`${file}: cannot write tensor of type '${dtype}' as .npy`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`${file}: tensor has ${data.length} elements, shape [${shape.join(', ')}] needs ${count}`);
  const order = entry.array.BYTES_PER_ELEMENT === 1 ? '|' : '<';
  const header = encodeHeader(order + entry.descr, shape);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, Buffer.concat([header, body]));
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write (${e.code || e.message})`);
  }
}
