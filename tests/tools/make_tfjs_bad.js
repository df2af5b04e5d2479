#!/usr/bin/env node
// make_tfjs_bad.js — regenerates tests/bad/tfjs/: malformed tfjs models derived from the valid
// fixtures tests/tfjs/cnn_f32 and tests/tfjs/seq_f32.  No dependencies.
//
// usage: node tests/tools/make_tfjs_bad.js tests/tfjs tests/bad/tfjs
//
// Each case is a directory with model.json, weights.bin (unless the case is about the weights
// file being absent) and `expect`: a substring that fr_tfjs_import's one-line error must
// contain (the layer, tensor or field at fault).  tests/test_tfjs.c and tests/tfjs_bad.t.sh
// run every case.
'use strict';
const fs = require('fs');
const path = require('path');

const [src, out] = process.argv.slice(2);
if (!src || !out) { console.error('usage: make_tfjs_bad.js FIXTURE_DIR OUT_DIR'); process.exit(2); }
const baseText = fs.readFileSync(path.join(src, 'cnn_f32', 'model.json'), 'utf8');
const baseBin = fs.readFileSync(path.join(src, 'cnn_f32', 'weights.bin'));
const seqText = fs.readFileSync(path.join(src, 'seq_f32', 'model.json'), 'utf8');
const seqBin = fs.readFileSync(path.join(src, 'seq_f32', 'weights.bin'));
const clone = () => JSON.parse(baseText);
const layer = (m, name) => m.modelTopology.config.layers.find(l => l.name === name);
const wspec = (m, name) => m.weightsManifest[0].weights.find(w => w.name === name);
const layers = m => m.modelTopology.config.layers;

fs.rmSync(out, { recursive: true, force: true });
let n = 0;
function kase(name, model, bin, expect) {
  const dir = path.join(out, String(++n).padStart(2, '0') + '-' + name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.json'), typeof model === 'string' || Buffer.isBuffer(model) ? model : JSON.stringify(model));
  if (bin) fs.writeFileSync(path.join(dir, 'weights.bin'), bin);
  fs.writeFileSync(path.join(dir, 'expect'), expect + '\n');
}
function mut(name, f, expect, bin) { const m = clone(); f(m); kase(name, m, bin || baseBin, expect); }

// --- JSON syntax and limits
kase('empty-file', '', baseBin, 'JSON');
kase('truncated-json', baseText.slice(0, baseText.length >> 1), baseBin, 'JSON line');
kase('truncated-json-in-string', baseText.slice(0, baseText.indexOf('tiny_cnn') + 4), baseBin, 'unterminated string');
kase('trailing-garbage', baseText + ' x', baseBin, 'after the JSON value');
kase('top-level-array', '[' + baseText + ']', baseBin, 'not an object');
{
  const i = baseText.indexOf('"tiny_cnn"') + 5;
  kase('invalid-utf8', Buffer.concat([Buffer.from(baseText.slice(0, i)), Buffer.from([0xff, 0xfe]), Buffer.from(baseText.slice(i))]), baseBin, 'UTF-8');
}
kase('duplicate-key', baseText.replace('"format": "layers-model"', '"format": "layers-model", "format": "x"'), baseBin, 'duplicate object key');
kase('depth-bomb', baseText.replace('"convertedBy": null', '"convertedBy": ' + '['.repeat(100) + ']'.repeat(100)), baseBin, 'nesting');
kase('nan-literal', baseText.replace('"filters": 4', '"filters": NaN'), baseBin, 'value expected');
kase('trailing-comma', baseText.replace(/\}\s*$/, ',}'), baseBin, 'trailing comma');
kase('comment', '/* c */' + baseText, baseBin, 'value expected');
kase('control-char-in-string', baseText.replace('"tiny_cnn"', '"tiny\u0001cnn"'), baseBin, 'control character');

// --- topology structure
mut('no-topology', m => { delete m.modelTopology; }, 'modelTopology');
mut('topology-string', m => { m.modelTopology = 'x'; }, 'modelTopology');
mut('unknown-model-class', m => { m.modelTopology.class_name = 'Graph'; }, 'Graph');
mut('no-layers', m => { delete m.modelTopology.config.layers; }, 'layers');
mut('empty-layers', m => { m.modelTopology.config.layers = []; }, 'layers');
mut('layer-without-name', m => { const l = layer(m, 'conv0'); delete l.name; delete l.config.name; }, 'name missing');
mut('layer-name-number', m => { const l = layer(m, 'bn0'); l.name = 17; l.config.name = 17; }, 'name missing');
mut('class-name-missing', m => { delete layer(m, 'conv0').class_name; }, 'conv0');
mut('config-missing', m => { delete layer(m, 'pw1').config; }, 'pw1');
mut('unknown-layer-lstm', m => { layer(m, 'relu1').class_name = 'LSTM'; }, 'LSTM');
mut('unknown-layer-conv3d', m => { layer(m, 'conv0').class_name = 'Conv3D'; }, 'Conv3D');
mut('dangling-inbound', m => { layer(m, 'pw1').inbound_nodes[0][0][0] = 'ghost'; }, 'ghost');
mut('cycle', m => { layer(m, 'dw1').inbound_nodes[0][0][0] = 'add1'; }, 'cycle');
mut('self-loop', m => { layer(m, 'relu1').inbound_nodes[0][0][0] = 'relu1'; }, 'relu1');
mut('duplicate-layer-name', m => { const l = layer(m, 'skip'); l.name = 'pw1'; }, 'pw1');
mut('inbound-not-array', m => { layer(m, 'mp').inbound_nodes = 'add1'; }, 'mp');
mut('inbound-ref-arity', m => { layer(m, 'mp').inbound_nodes = [[['add1']]]; }, 'mp');
mut('shared-layer-node-index', m => { layer(m, 'mp').inbound_nodes[0][0][1] = 1; }, 'mp');
mut('called-twice', m => { const l = layer(m, 'mp'); l.inbound_nodes.push(l.inbound_nodes[0]); }, 'mp');
mut('no-output-layers', m => { delete m.modelTopology.config.output_layers; }, 'output_layers');
mut('unknown-output-layer', m => { m.modelTopology.config.output_layers = [['nope', 0, 0]]; }, 'nope');
mut('input-layers-not-input', m => { m.modelTopology.config.input_layers = [['conv0', 0, 0]]; }, 'conv0');
mut('two-input-layers', m => {
  const a = JSON.parse(JSON.stringify(layer(m, 'img'))); a.name = 'img2'; a.config.name = 'img2'; layers(m).unshift(a);
  layer(m, 'pad0').inbound_nodes[0][0][0] = 'img2';
  layer(m, 'skip').inbound_nodes[0][0][0] = 'img';
}, 'input');
mut('no-inbound-nodes', m => { layer(m, 'skip').inbound_nodes = []; }, 'skip');
mut('output-is-input', m => { m.modelTopology.config.output_layers = [['img', 0, 0]]; }, 'model.json');
mut('long-layer-name', m => { const l = layer(m, 'fc2'); l.name = 'x'.repeat(200); }, 'longer than');

// --- layer configuration
mut('batch-input-shape-missing', m => { delete layer(m, 'img').config.batch_input_shape; }, 'img');
mut('batch-input-shape-absurd', m => { layer(m, 'img').config.batch_input_shape = [null, 1e9, 1e9, 3]; }, 'img');
mut('batch-input-shape-negative', m => { layer(m, 'img').config.batch_input_shape = [null, -9, 11, 3]; }, 'img');
mut('batch-input-shape-3d', m => { layer(m, 'img').config.batch_input_shape = [null, 9, 11]; }, 'img');
mut('input-too-large', m => { layer(m, 'img').config.batch_input_shape = [null, 100000, 100000, 3]; }, 'img');
mut('kernel-size-absurd', m => { layer(m, 'conv0').config.kernel_size = [100000, 3]; }, 'conv0');
mut('kernel-size-string', m => { layer(m, 'conv0').config.kernel_size = '3'; }, 'kernel_size');
mut('strides-zero', m => { layer(m, 'conv0').config.strides = [0, 2]; }, 'strides');
mut('padding-causal', m => { layer(m, 'conv0').config.padding = 'causal'; }, 'causal');
mut('filters-vs-manifest', m => { layer(m, 'conv0').config.filters = 5; }, 'conv0/kernel');
mut('filters-fractional', m => { layer(m, 'conv0').config.filters = 4.5; }, 'filters');
mut('activation-tanh', m => { layer(m, 'conv0').config.activation = 'tanh'; }, 'tanh');
mut('channels-first', m => { layer(m, 'pw1').config.data_format = 'channels_first'; }, 'pw1');
mut('dense-units-mismatch', m => { layer(m, 'fc1').config.units = 7; }, 'fc1/kernel');
mut('bn-epsilon-negative', m => { layer(m, 'bn0').config.epsilon = -1; }, 'bn0');
mut('bn-axis-1', m => { layer(m, 'bn0').config.axis = 1; }, 'bn0');
mut('relu-negative-slope', m => { layer(m, 'relu1').config.negative_slope = 0.1; }, 'relu1');
mut('relu-max-value-string', m => { layer(m, 'relu1').config.max_value = 'six'; }, 'relu1');
mut('zeropad-bad-format', m => { layer(m, 'pad0').config.padding = [[1, 0, 3], [0, 2]]; }, 'pad0');
mut('reshape-2d-target', m => { const l = layer(m, 'flat'); l.class_name = 'Reshape'; l.config.target_shape = [4, 2]; }, 'flat');
mut('dense-on-map', m => { layer(m, 'fc1').inbound_nodes[0][0][0] = 'ap'; }, 'fc1');
mut('pool-larger-than-input', m => { layer(m, 'ap').config.pool_size = [50, 50]; }, 'ap');
mut('add-shape-mismatch', m => { layer(m, 'add1').inbound_nodes[0][1][0] = 'bn0'; }, 'add1');
mut('add-single-input', m => { layer(m, 'add1').inbound_nodes[0].pop(); }, 'add1');
mut('concat-axis-1', m => { const l = layer(m, 'add1'); l.class_name = 'Concatenate'; l.config.axis = 1; }, 'add1');
mut('activation-missing', m => { const l = layer(m, 'relu1'); l.class_name = 'Activation'; }, 'relu1');
mut('use-bias-string', m => { layer(m, 'conv0').config.use_bias = 'yes'; }, 'use_bias');

// --- weights manifest and bytes
const W = baseBin.length;
mut('no-manifest', m => { delete m.weightsManifest; }, 'weightsManifest');
mut('manifest-weights-not-array', m => { m.weightsManifest[0].weights = {}; }, 'weights');
mut('weights-too-short', () => {}, 'bn1/moving_variance', baseBin.subarray(0, W - 1));
mut('weights-too-long', () => {}, 'trailing', Buffer.concat([baseBin, Buffer.alloc(4)]));
mut('weights-empty', () => {}, 'conv0/kernel', Buffer.alloc(0));
mut('weights-file-missing', m => { m.weightsManifest[0].paths = ['nothere.bin']; }, 'nothere.bin');
mut('path-dotdot', m => { m.weightsManifest[0].paths = ['../cnn/weights.bin']; }, 'paths');
mut('path-absolute', m => { m.weightsManifest[0].paths = ['/etc/passwd']; }, 'paths');
mut('paths-not-array', m => { m.weightsManifest[0].paths = 'weights.bin'; }, 'paths');
mut('paths-empty', m => { m.weightsManifest[0].paths = []; }, 'paths');
mut('shape-negative', m => { wspec(m, 'fc2/bias').shape = [-3]; }, 'fc2/bias');
mut('shape-5d', m => { wspec(m, 'fc2/bias').shape = [1, 1, 1, 1, 3]; }, 'fc2/bias');
mut('shape-absurd', m => { wspec(m, 'fc2/bias').shape = [100000, 100000, 100000]; }, 'fc2/bias');
mut('shape-vs-layer', m => { wspec(m, 'conv0/kernel').shape = [3, 3, 4, 3]; }, 'conv0/kernel');
mut('dtype-int32', m => { wspec(m, 'fc2/bias').dtype = 'int32'; }, 'fc2/bias');
mut('quant-float16', m => { wspec(m, 'fc2/bias').quantization = { dtype: 'float16' }; }, 'fc2/bias');
mut('quant-missing-scale', m => { wspec(m, 'fc2/kernel').quantization = { dtype: 'uint8', min: 0 }; }, 'fc2/kernel');
mut('duplicate-weight-name', m => { wspec(m, 'fc2/bias').name = 'fc1/bias'; }, 'fc1/bias');
mut('weight-name-missing', m => { delete wspec(m, 'fc2/bias').name; }, 'name missing');
mut('missing-weight', m => { m.weightsManifest[0].weights.pop(); }, 'bn1/moving_variance', baseBin.subarray(0, W - 32));
const nanBin = Buffer.from(baseBin); nanBin.writeUInt32LE(0x7fc00000, 0);
mut('nan-weight', () => {}, 'conv0/kernel', nanBin);
// bn0/moving_variance is the 15th tensor: find its byte offset from the manifest.
{
  const m = clone(); let off = 0;
  for (const w of m.weightsManifest[0].weights) {
    const cnt = w.shape.reduce((a, b) => a * b, 1);
    if (w.name === 'bn0/moving_variance') break;
    off += 4 * cnt;
  }
  const b = Buffer.from(baseBin); b.writeFloatLE(-1, off);
  kase('negative-variance', m, b, 'bn0');
}
// Sequential with a bad first layer shape and a short shard.
{
  const m = JSON.parse(seqText); const l = m.modelTopology.config.layers[0];
  delete l.config.batch_input_shape;
  kase('sequential-no-input-shape', m, seqBin, 'batch_input_shape');
}
kase('sequential-short-weights', seqText, seqBin.subarray(0, 100), 'd1/kernel');
console.log('wrote ' + n + ' cases to ' + out);
