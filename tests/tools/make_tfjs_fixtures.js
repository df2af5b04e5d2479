#!/usr/bin/env node
// make_tfjs_fixtures.js — small tfjs layers-models with reference outputs from @tensorflow/tfjs
// (the original runtime), for tests/test_tfjs.c.
//
// usage: NODE_PATH=<dir>/node_modules node tests/tools/make_tfjs_fixtures.js tests/tfjs
//
// Writes OUT/<name>/{model.json, *.bin, ref.txt}.  Weights come from a seeded mulberry32
// generator (not tfjs initialisers) so the files are reproducible.  ref.txt:
//   in N H W C        then one line of N*H*W*C input floats (NHWC, Keras order)
//   out N D...        then one line of output floats (Keras order)
// Fixtures:
//   cnt_f32  functional CNN: ZeroPadding2D, Conv2D (same, stride 2, bias, relu6 activation),
//            BatchNormalization, DepthwiseConv2D (multiplier 2), BN (center=false), ReLU(6),
//            1x1 Conv2D, Add (residual), MaxPooling2D same, AveragePooling2D valid, Flatten of a
//            2x2 map (NHWC order matters), Dense relu, Dropout, Dense softmax.  float32 weights,
//            modelTopology = the Keras config itself (tfjs save format).
//   cnn_q8   the same topology and weights quantized per tensor to uint8 ({min, scale}), the
//            topology wrapped as {model_config: ...} (Keras 2.2.4 converter format) and the bytes
//            split over two shards; reference computed with the dequantized weights.
//   dil_f32  Conv2D dilation 2 same on an odd input, AveragePooling2D same (pad excluded),
//            Conv2D valid stride 2 no bias, Activation sigmoid, GlobalAveragePooling2D, Dense.
//   seq_f32  Sequential MLP on a [null, 12] input: Dense relu, BN, Dense softmax.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const out = process.argv[2];
if (!out) { console.error('usage: make_tfjs_fixtures.js OUT_DIR'); process.exit(2); }

function mulberry32(a) {
  return function () {
    a |= 0; a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(12345);
const uni = (lo, hi) => lo + (hi - lo) * rnd();

// Deterministic weights: BN variances positive, everything else uniform.
function setWeights(model) {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const nw = layer.weights.map((w, i) => {
      const n = ws[i].size, v = new Float32Array(n);
      const nm = w.name;
      for (let k = 0; k < n; k++) {
        if (/moving_variance/.test(nm)) v[k] = uni(0.5, 2.0);
        else if (/gamma/.test(nm)) v[k] = uni(0.5, 1.5);
        else if (/moving_mean|beta|bias/.test(nm)) v[k] = uni(-0.5, 0.5);
        else v[k] = uni(-0.6, 0.6);
      }
      return tf.tensor(v, ws[i].shape);
    });
    layer.setWeights(nw);
  }
}

async function artifactsOf(model) {
  let art;
  await model.save(tf.io.withSaveHandler(async a => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return art;
}

function writeRef(dir, x, xshape, y, yshape) {
  let s = 'in ' + xshape.join(' ') + '\n' + Array.from(x).map(v => v.toPrecision(9)).join(' ') + '\n';
  s += 'out ' + yshape.join(' ') + '\n' + Array.from(y).map(v => v.toPrecision(9)).join(' ') + '\n';
  fs.writeFileSync(path.join(dir, 'ref.txt'), s);
}

function input(shape) {
  const n = shape.reduce((a, b) => a * b, 1), v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = uni(-1, 1.5);
  return v;
}

async function save(name, model, xshape, opts = {}) {
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  const art = await artifactsOf(model);
  let bytes = Buffer.from(art.weightData);
  let specs = art.weightSpecs.map(s => Object.assign({}, s));
  if (opts.quantize) {
    // Per-tensor uint8 affine quantization, then load the dequantized values back.
    const f = new Float32Array(art.weightData);
    const parts = [];
    let off = 0;
    const deq = [];
    for (const s of specs) {
      const n = s.shape.reduce((a, b) => a * b, 1), v = f.subarray(off, off + n);
      off += n;
      let mn = Infinity, mx = -Infinity;
      for (const t of v) { mn = Math.min(mn, t); mx = Math.max(mx, t); }
      const scale = mx > mn ? (mx - mn) / 255 : 1;
      const q = new Uint8Array(n), d = new Float32Array(n);
      for (let k = 0; k < n; k++) { q[k] = Math.round((v[k] - mn) / scale); d[k] = mn + scale * q[k]; }
      s.quantization = { dtype: 'uint8', min: mn, scale: scale };
      parts.push(Buffer.from(q.buffer));
      deq.push(tf.tensor(d, s.shape));
    }
    bytes = Buffer.concat(parts);
    // Weights are listed in model.weights order, which is the save order.
    model.setWeights(deq);
  }
  let paths = ['weights.bin'];
  if (opts.shards) {
    const cut = Math.floor(bytes.length / 3);
    fs.writeFileSync(path.join(dir, 'weights-part1.bin'), bytes.subarray(0, cut));
    fs.writeFileSync(path.join(dir, 'weights-part2.bin'), bytes.subarray(cut));
    paths = ['weights-part1.bin', 'weights-part2.bin'];
  } else {
    fs.writeFileSync(path.join(dir, 'weights.bin'), bytes);
  }
  const topo = opts.wrap ? { keras_version: '2.2.4', backend: 'tensorflow', model_config: art.modelTopology } : art.modelTopology;
  const mj = { format: 'layers-model', generatedBy: 'tests/tools/make_tfjs_fixtures.js', convertedBy: null,
               modelTopology: topo, weightsManifest: [{ paths, weights: specs }] };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(mj, null, 1));
  const x = input(xshape);
  const y = model.predict(tf.tensor(x, xshape));
  writeRef(dir, x, xshape, await y.data(), y.shape);
  console.log('wrote ' + dir);
}

function cnn() {
  const inp = tf.input({ shape: [9, 11, 3], name: 'img' });
  let x = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]], name: 'pad0' }).apply(inp);
  x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'conv0' }).apply(x);
  x = tf.layers.batchNormalization({ epsilon: 1e-3, name: 'bn0' }).apply(x);
  let y = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false, name: 'dw1' }).apply(x);
  y = tf.layers.batchNormalization({ center: false, name: 'bn1' }).apply(y);
  y = tf.layers.reLU({ maxValue: 6, name: 'relu1' }).apply(y);
  y = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'pw1' }).apply(y);
  const skip = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'skip' }).apply(x);
  let z = tf.layers.add({ name: 'add1' }).apply([y, skip]);
  z = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp' }).apply(z);
  z = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: 'ap' }).apply(z);
  z = tf.layers.flatten({ name: 'flat' }).apply(z);
  z = tf.layers.dense({ units: 6, activation: 'relu', name: 'fc1' }).apply(z);
  z = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(z);
  z = tf.layers.dense({ units: 3, activation: 'softmax', name: 'fc2' }).apply(z);
  return tf.model({ inputs: inp, outputs: z, name: 'tiny_cnn' });
}

function dil() {
  const inp = tf.input({ shape: [13, 10, 2], name: 'x' });
  let x = tf.layers.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dconv' }).apply(inp);
  x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'apool' }).apply(x);
  x = tf.layers.conv2d({ filters: 6, kernelSize: [3, 2], strides: 2, padding: 'valid', useBias: false, name: 'vconv' }).apply(x);
  x = tf.layers.activation({ activation: 'sigmoid', name: 'sig' }).apply(x);
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x);
  x = tf.layers.dense({ units: 4, name: 'head' }).apply(x);
  return tf.model({ inputs: inp, outputs: x, name: 'tiny_dil' });
}

function seq() {
  const m = tf.sequential({ name: 'tiny_seq' });
  m.add(tf.layers.dense({ units: 7, activation: 'relu', inputShape: [12], name: 'd1' }));
  m.add(tf.layers.batchNormalization({ name: 'bn' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'd2' }));
  return m;
}

async function main() {
  let m = cnn(); setWeights(m); await save('cnn_f32', m, [2, 9, 11, 3]);
  m = cnn(); setWeights(m); await save('cnn_q8', m, [2, 9, 11, 3], { quantize: true, wrap: true, shards: true });
  m = dil(); setWeights(m); await save('dil_f32', m, [2, 13, 10, 2]);
  m = seq(); setWeights(m); await save('seq_f32', m, [3, 12]);
}
main().catch(e => { console.error(e); process.exit(1); });
