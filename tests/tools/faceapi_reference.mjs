// faceapi_reference.mjs — reference embeddings of face-api's face-recognition ResNet computed by
// the package's OWN code and runtime (@vladmandic/face-api 1.7.15, dist/face-api.esm.js, which
// bundles @tensorflow/tfjs 4.22 with its pure-JS cpu backend), for tests/test_faceres.c.
//
// usage: node tests/tools/faceapi_reference.mjs PACKAGE_DIR OUT_DIR
//   PACKAGE_DIR  the unpacked npm tarball ("package/", from tests/tools/fetch_faceapi.sh)
//   OUT_DIR      receives inputs.npy.gz (uint8, N x 3 x 150 x 150, NCHW, RGB) and ref.txt
// Images (150x150 RGB bytes; x = column, y = row):
//   0: R=(7x+3y)%256, G=(x*y)%256, B=(255-x+2y)%256  (so a channel-order mistake cannot cancel)
//   1: smooth: R=round(128+100 sin(x/9) cos(y/13)), G=round(255x/149), B=round(255y/149)
//   2: 10x10-pixel blocks of mulberry32(15) bytes per channel
// ref.txt: per image a line "image K" and a line of the 128 embedding values (%.9g), from
// FaceRecognitionNet.computeFaceDescriptor on a [1,150,150,3] int32 tensor (toBatchTensor at
// 150 is the identity for 150x150 input).
globalThis.window = globalThis;   // the bundle's node platform needs util.TextEncoder, which
globalThis.document = {};         // the browser build stubs; its browser platform works in node
import fs from 'fs';
import path from 'path';
import zlib from 'zlib';

const [pkgDir, outDir] = process.argv.slice(2);
if (!pkgDir || !outDir) { console.error('usage: faceapi_reference.mjs PACKAGE_DIR OUT_DIR'); process.exit(2); }
const faceapi = await import(path.resolve(pkgDir, 'dist/face-api.esm.js'));
const tf = faceapi.tf;
await tf.setBackend('cpu');
await tf.ready();

const H = 150, W = 150;
function mulberry32(a) {
  return () => { a |= 0; a = a + 0x6D2B79F5 | 0; let t = Math.imul(a ^ a >>> 15, 1 | a);
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t; return ((t ^ t >>> 14) >>> 0) / 4294967296; };
}
const imgs = [];   // each: Uint8Array H*W*3 NHWC
{
  const a = new Uint8Array(H * W * 3), b = new Uint8Array(H * W * 3), c = new Uint8Array(H * W * 3);
  const rnd = mulberry32(15), blocks = new Uint8Array(15 * 15 * 3);
  for (let i = 0; i < blocks.length; i++) blocks[i] = Math.floor(rnd() * 256);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const o = (y * W + x) * 3;
    a[o] = (7 * x + 3 * y) % 256; a[o + 1] = (x * y) % 256; a[o + 2] = (255 - x + 2 * y) % 256;
    b[o] = Math.round(128 + 100 * Math.sin(x / 9) * Math.cos(y / 13));
    b[o + 1] = Math.round(255 * x / 149); b[o + 2] = Math.round(255 * y / 149);
    const bo = ((Math.floor(y / 10) * 15) + Math.floor(x / 10)) * 3;
    c[o] = blocks[bo]; c[o + 1] = blocks[bo + 1]; c[o + 2] = blocks[bo + 2];
  }
  imgs.push(a, b, c);
}

const manDir = path.resolve(pkgDir, 'model');
const man = JSON.parse(fs.readFileSync(path.join(manDir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
const bin = fs.readFileSync(path.join(manDir, 'face_recognition_model.bin'));
const specs = [].concat(...man.map(g => g.weights));
const net = new faceapi.FaceRecognitionNet();
net.loadFromWeightMap(tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), specs));

let txt = '';
for (let k = 0; k < imgs.length; k++) {
  const x = tf.tensor4d(Int32Array.from(imgs[k]), [1, H, W, 3], 'int32');
  const d = await net.computeFaceDescriptor(x);
  x.dispose();
  txt += `image ${k}\n` + Array.from(d, v => v.toPrecision(9)).join(' ') + '\n';
}
// inputs.npy.gz: NCHW uint8
const n = imgs.length, per = 3 * H * W;
let hdr = `{'descr': '|u1', 'fortran_order': False, 'shape': (${n}, 3, ${H}, ${W}), }`;
while ((10 + hdr.length + 1) % 64) hdr += ' ';
hdr += '\n';
const head = Buffer.alloc(10);
head.write('\x93NUMPY', 0, 'latin1'); head[6] = 1; head[7] = 0; head.writeUInt16LE(hdr.length, 8);
const body = Buffer.alloc(n * per);
for (let k = 0; k < n; k++)
  for (let c = 0; c < 3; c++) for (let p = 0; p < H * W; p++) body[k * per + c * H * W + p] = imgs[k][p * 3 + c];
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'inputs.npy.gz'), zlib.gzipSync(Buffer.concat([head, Buffer.from(hdr, 'latin1'), body]), { level: 9 }));
fs.writeFileSync(path.join(outDir, 'ref.txt'), txt);
console.error(`faceapi_reference: ${n} images, tfjs ${tf.version_core} backend ${tf.getBackend()}`);
