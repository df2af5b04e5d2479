#!/usr/bin/env node
// unwrap_nsfwjs.js — turn nsfwjs' browserify-wrapped MobileNetV2 files into a plain tfjs
// layers-model: model.json + group1-shard1of1.bin.
//
// usage: node tests/tools/unwrap_nsfwjs.js <dir with model.min.js and group1-shard1of1.min.js> <out dir>
//
// Each .min.js is a UMD/browserify bundle whose module.exports is either the model.json object
// (model.min.js) or one base64 string holding the weight bytes (group1-shard1of1.min.js).  We
// evaluate them with node's own require (no network, no dependencies).  The written model.json's
// weightsManifest paths are rewritten to the .bin file name so a standard tfjs loader finds it.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) { process.stderr.write('unwrap_nsfwjs: ' + msg + '\n'); process.exit(2); }

if (process.argv.length !== 4) die('usage: unwrap_nsfwjs.js SRC_DIR OUT_DIR');
const src = path.resolve(process.argv[2]);
const out = path.resolve(process.argv[3]);
let model, shard;
try {
  model = require(path.join(src, 'model.min.js'));
  shard = require(path.join(src, 'group1-shard1of1.min.js'));
} catch (err) { die('cannot evaluate bundles in ' + src + ': ' + err.message); }
if (typeof model === 'string') model = JSON.parse(model);
if (!model || typeof model !== 'object' || !model.modelTopology || !model.weightsManifest)
  die('model.min.js did not evaluate to a tfjs model.json object');
if (typeof shard !== 'string') die('group1-shard1of1.min.js did not evaluate to a base64 string');
const bytes = Buffer.from(shard, 'base64');
// Every manifest group points at the single shard we write.
for (const g of model.weightsManifest) g.paths = ['group1-shard1of1.bin'];
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'model.json'), JSON.stringify(model));
fs.writeFileSync(path.join(out, 'group1-shard1of1.bin'), bytes);
process.stdout.write('unwrap_nsfwjs: wrote ' + path.join(out, 'model.json') + ' and ' +
                     path.join(out, 'group1-shard1of1.bin') + ' (' + bytes.length + ' bytes)\n');
